"""Targets and allocations entered and edited one at a time (the /planning/targets and
/planning/allocations pages), by administrators and by planners within their communes.

The same rules as the XLSX import: a target's indicator is one of ``TARGET_INDICATORS``, a count
is a whole number ≥ 0, money a whole number of VND ≥ 0; every bad field is refused with its name
and the reason before anything is written. Rows are read and written in the caller's scope (the
row-level policies of migration 0020), so an area or a row outside the caller's communes is unknown
to them, and the audit trigger records who changed what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.accounts import Conflict
from spatial.models import MONEY_SOURCES, TARGET_INDICATORS, Allocation, Target
from spatial.params import check_text, number_value, whole_value

COUNT_INDICATORS = ("households_supported", "works_completed", "households_with_water")
#: the largest sum of money one row holds (the column is a bigint; a province's whole programme is far less)
MAX_VND = 10**15


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def entry_areas(session: Session) -> list[Choice]:
    """The 2025 communes and provinces the caller may enter figures for (their scope)."""
    rows = session.execute(
        text("""SELECT code, name FROM admin_units WHERE boundary = 'current' AND level IN ('province', 'commune')
                ORDER BY level DESC, name""")
    ).all()
    return [Choice(code, f"{name} ({code})") for code, name in rows]


def entry_parts(session: Session) -> list[Choice]:
    """Every project and sub-project of every programme version (value: the part's id)."""
    rows = session.execute(
        text("""SELECT pp.id, p.code AS programme, pp.code, pp.name FROM programme_parts pp
                JOIN programmes p ON p.id = pp.programme_id ORDER BY p.start_year, pp.code""")
    ).all()
    return [Choice(str(r.id), f"{r.programme} · {r.code} {r.name}") for r in rows]


def _field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return "" if value is None else str(value).strip()


def _area(session: Session, form: Mapping[str, Any]) -> int:
    code = _field(form, "area")
    if not code:
        raise ParameterError("area", "choose a 2025 commune or province")
    check_text("area", code)
    unit = session.scalar(
        text("""SELECT id FROM admin_units WHERE code = :c AND boundary = 'current'
                AND level IN ('province', 'commune')"""),
        {"c": code[:20]},
    )
    if unit is None:
        raise ParameterError("area", f"{code[:20]}: not a 2025 commune or province code, or outside your areas")
    return int(unit)


def _year(form: Mapping[str, Any], name: str = "year", *, optional: bool = False) -> int | None:
    raw = _field(form, name)
    if not raw and optional:
        return None
    year = whole_value(raw)
    if year is None or not 2000 <= year <= 2100:
        raise ParameterError(name, f"{raw[:20]!r}: a year such as 2025")
    return year


def _part(session: Session, form: Mapping[str, Any], *, optional: bool) -> int | None:
    raw = _field(form, "part")
    if not raw:
        if optional:
            return None
        raise ParameterError("part", "choose the project or sub-project")
    part = whole_value(raw)
    if (
        part is None
        or not 0 < part < 2**31
        or session.scalar(text("SELECT 1 FROM programme_parts WHERE id = :i"), {"i": part}) is None
    ):
        raise ParameterError("part", f"{raw[:20]!r}: no such project or sub-project")
    return part


def _money(form: Mapping[str, Any], name: str, *, default: int | None = None) -> int:
    raw = _field(form, name)
    if not raw and default is not None:
        return default
    value = whole_value(raw)
    if value is None:
        raise ParameterError(name, f"{raw[:30]!r}: money is a whole number of VND")
    if value < 0:
        raise ParameterError(name, f"{raw[:30]!r}: money cannot be negative")
    if value > MAX_VND:
        raise ParameterError(name, f"{raw[:30]!r}: more than {MAX_VND:,} VND")
    return value


def target_values(session: Session, form: Mapping[str, Any]) -> dict[str, Any]:
    """A target's columns from a form, each field checked (``ParameterError`` names the first bad one)."""
    unit = _area(session, form)
    year = _year(form)
    assert year is not None
    indicator = _field(form, "indicator")
    if indicator not in TARGET_INDICATORS:
        raise ParameterError("indicator", f"{indicator[:40]!r}: unknown indicator", list(TARGET_INDICATORS))
    raw = _field(form, "value")
    value = number_value(raw)
    if value is None:
        raise ParameterError("value", f"{raw[:30]!r} is not a number")
    if indicator in COUNT_INDICATORS and (value < 0 or value != int(value)):
        raise ParameterError("value", f"{raw[:30]!r}: a count is a whole number >= 0")
    if abs(value) > 1e12:
        raise ParameterError("value", f"{raw[:30]!r}: too large")
    baseline = _year(form, "baseline_year", optional=True)
    if baseline is not None and baseline >= year:
        raise ParameterError("baseline_year", f"{baseline}: a year before the target's year {year}")
    note = _field(form, "note") or None
    if note is not None:
        check_text("note", note)
        if len(note) > 2000:
            raise ParameterError("note", "at most 2,000 characters")
    return {
        "unit_id": unit,
        "year": year,
        "indicator": indicator,
        "part_id": _part(session, form, optional=True),
        "value": value,
        "baseline_year": baseline,
        "note": note,
    }


def allocation_values(session: Session, form: Mapping[str, Any]) -> dict[str, Any]:
    """An allocation's columns from a form, each field checked (see ``target_values``)."""
    part = _part(session, form, optional=False)
    unit = _area(session, form)
    year = _year(form)
    source = _field(form, "source")
    if source not in MONEY_SOURCES:
        raise ParameterError("source", f"{source[:40]!r}: unknown source", list(MONEY_SOURCES))
    return {
        "part_id": part,
        "unit_id": unit,
        "year": year,
        "source": source,
        "allocated_vnd": _money(form, "allocated"),
        "disbursed_vnd": _money(form, "disbursed", default=0),
    }


#: per kind of row: its model and the columns that key it (one row per key)
KEYS: dict[type[Any], tuple[str, ...]] = {
    Target: ("unit_id", "year", "indicator", "part_id"),
    Allocation: ("part_id", "unit_id", "year", "source"),
}


def _get(session: Session, model: type[Any], row_id: int) -> Any:
    row = session.get(model, row_id) if 0 < row_id < 2**31 else None
    if row is None:
        raise NotFound(f"no {model.__tablename__[:-1]} {row_id} (or it is outside your areas)")
    return row


def get_target(session: Session, target_id: int) -> Target:
    row: Target = _get(session, Target, target_id)
    return row


def get_allocation(session: Session, allocation_id: int) -> Allocation:
    row: Allocation = _get(session, Allocation, allocation_id)
    return row


def _save(session: Session, model: type[Any], values: dict[str, Any], row_id: int | None) -> Any:
    """Add the row, or change ``row_id``; refused when another row holds the same key."""
    row = _get(session, model, row_id) if row_id is not None else None
    key = [getattr(model, c).is_(None) if values[c] is None else getattr(model, c) == values[c] for c in KEYS[model]]
    same = session.scalar(select(model.id).where(*key, model.id != (row_id or 0)))
    if same is not None:
        name = model.__tablename__[:-1]
        raise Conflict(f"{name} {same} already holds this {', '.join(KEYS[model])}: edit that one")
    if row is None:
        row = model(**values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.flush()
    return row


def save_target(session: Session, form: Mapping[str, Any], target_id: int | None = None) -> Target:
    """Add a target, or change ``target_id``; one target per area, year, indicator and project."""
    row: Target = _save(session, Target, target_values(session, form), target_id)
    return row


def save_allocation(session: Session, form: Mapping[str, Any], allocation_id: int | None = None) -> Allocation:
    """Add an allocation, or change ``allocation_id``; one per part, area, year and source."""
    row: Allocation = _save(session, Allocation, allocation_values(session, form), allocation_id)
    return row


_TARGETS = text("""
SELECT t.id, u.code, u.name, t.year, t.indicator, pp.code AS project, t.value, t.baseline_year, t.note,
       t.updated_by, t.updated_at
FROM targets t JOIN admin_units u ON u.id = t.unit_id LEFT JOIN programme_parts pp ON pp.id = t.part_id
ORDER BY t.year DESC, u.level DESC, u.name, t.indicator, pp.code NULLS FIRST
LIMIT :limit
""")

_ALLOCATIONS = text("""
SELECT a.id, u.code, u.name, a.year, pp.code AS project, pp.name AS project_name, a.source,
       a.allocated_vnd, a.disbursed_vnd, a.updated_by, a.updated_at
FROM allocations a JOIN admin_units u ON u.id = a.unit_id JOIN programme_parts pp ON pp.id = a.part_id
ORDER BY a.year DESC, u.level DESC, u.name, pp.code, a.source
LIMIT :limit
""")


def list_targets(session: Session, limit: int = 1000) -> list[dict[str, Any]]:
    """The targets the caller may see (and edit), newest year first."""
    return [dict(r._mapping) for r in session.execute(_TARGETS, {"limit": limit})]


def list_allocations(session: Session, limit: int = 1000) -> list[dict[str, Any]]:
    """The allocations the caller may see (and edit), newest year first."""
    return [dict(r._mapping) for r in session.execute(_ALLOCATIONS, {"limit": limit})]


def _common_form(row: Target | Allocation, session: Session) -> dict[str, str]:
    code = session.scalar(text("SELECT code FROM admin_units WHERE id = :i"), {"i": row.unit_id})
    return {"area": code or "", "year": str(row.year), "part": str(row.part_id or "")}


def target_form(row: Target, session: Session) -> dict[str, str]:
    """A target as the form's field values."""
    return _common_form(row, session) | {
        "indicator": row.indicator,
        "value": f"{row.value:g}",
        "baseline_year": str(row.baseline_year or ""),
        "note": row.note or "",
    }


def allocation_form(row: Allocation, session: Session) -> dict[str, str]:
    """An allocation as the form's field values."""
    return _common_form(row, session) | {
        "source": row.source,
        "allocated": str(row.allocated_vnd),
        "disbursed": str(row.disbursed_vnd),
    }
