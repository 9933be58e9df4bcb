"""Editing poverty standards and price deflators: data, not code (admins; audited by triggers).

After a change, ``classify_households`` (and the jobs after it) reclassify every affected round.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.accounts import Conflict
from spatial.models import PovertyLine, PovertyStandard, PriceDeflator


def standards(session: Session) -> list[tuple[PovertyStandard, dict[str, PovertyLine]]]:
    out = []
    for std in session.scalars(select(PovertyStandard).order_by(PovertyStandard.first_year)):
        lines = {
            ln.area_type: ln for ln in session.scalars(select(PovertyLine).where(PovertyLine.standard_id == std.id))
        }
        out.append((std, lines))
    return out


def _money(form: dict[str, str], key: str, *, optional: bool = False) -> int | None:
    raw = (form.get(key) or "").replace(",", "").replace(".", "").replace(" ", "")
    if raw == "":
        if optional:
            return None
        raise ParameterError(key, "a VND amount is required")
    if not raw.isdigit() or int(raw) > 100_000_000:
        raise ParameterError(key, f"{form.get(key)!r} is not an amount in VND (0–100,000,000)")
    return int(raw)


def _year(form: dict[str, str], key: str) -> int:
    raw = form.get(key, "")
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise ParameterError(key, f"{raw!r} is not a year (2000–2100)")
    return int(raw)


def update_standard(session: Session, code: str, form: dict[str, str]) -> PovertyStandard:
    """Years, minimum deprivations, provisional flag and the income lines by area type."""
    std = session.scalar(select(PovertyStandard).where(PovertyStandard.code == code))
    if std is None:
        raise NotFound(f"no poverty standard {code!r}")
    first, last = _year(form, "first_year"), _year(form, "last_year")
    if first > last:
        raise ParameterError("last_year", f"{last} is before the first year {first}")
    overlap = session.scalar(
        select(PovertyStandard.code).where(
            PovertyStandard.id != std.id, PovertyStandard.first_year <= last, PovertyStandard.last_year >= first
        )
    )
    if overlap:
        raise Conflict(f"years {first}–{last} overlap the standard {overlap}")
    raw_min = form.get("min_deprivations", "")
    if not raw_min.isdigit() or int(raw_min) > len(std.indicators):
        raise ParameterError("min_deprivations", f"{raw_min!r} is not 0–{len(std.indicators)}")
    std.first_year, std.last_year, std.min_deprivations = first, last, int(raw_min)
    std.provisional = form.get("provisional") in ("on", "true", "1")
    for area_type in ("rural", "urban"):
        line = session.get(PovertyLine, (std.id, area_type))
        income = _money(form, f"{area_type}_income_line")
        absolute = _money(form, f"{area_type}_absolute_line", optional=True)
        if absolute is not None and absolute > income:  # type: ignore[operator]
            raise ParameterError(f"{area_type}_absolute_line", "must not exceed the income line")
        if line is None:
            session.add(
                PovertyLine(standard_id=std.id, area_type=area_type, income_line=income, absolute_line=absolute)
            )
        else:
            line.income_line, line.absolute_line = income, absolute  # type: ignore[assignment]
    session.flush()
    return std


def deflators(session: Session) -> list[PriceDeflator]:
    return list(session.scalars(select(PriceDeflator).order_by(PriceDeflator.year)))


def set_deflator(session: Session, year_raw: str, index_raw: str, provisional: bool, source: str) -> None:
    year = _year({"year": year_raw}, "year")
    try:
        index = float(index_raw)
    except ValueError:
        raise ParameterError("index", f"{index_raw!r} is not a number") from None
    if not 1 <= index <= 10_000:
        raise ParameterError("index", f"{index} is outside 1–10,000 (2021 = 100)")
    row = session.get(PriceDeflator, year)
    if row is None:
        session.add(
            PriceDeflator(
                year=year, index=index, provisional=provisional, source=source or "entered by an administrator"
            )
        )
    else:
        row.index, row.provisional = index, provisional
        if source:
            row.source = source
    session.flush()
