"""Reading the area_indicators job result: one indicator per unit for a level, version and year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Numeric, cast, func, null, select
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.layers import BOUNDARIES, LEVELS, check_level_boundaries
from spatial.models import AdminUnit, AreaIndicator as A


def _rate(numerator: Any) -> Any:
    return func.round(cast(100.0 * numerator / func.nullif(A.households, 0), Numeric), 2)


#: indicator -> (value, numerator, denominator); rates divide summed counts, never average rates
INDICATORS: dict[str, tuple[Any, Any, Any]] = {
    "poverty_rate": (_rate(A.poor), A.poor, A.households),
    "near_poor_rate": (_rate(A.near_poor), A.near_poor, A.households),
    "households": (A.households, A.households, null()),
    "poor": (A.poor, A.poor, A.households),
    "near_poor": (A.near_poor, A.near_poor, A.households),
    "mean_income": (func.round(A.mean_income), null(), A.households),
    "median_income": (func.round(A.median_income), null(), A.households),
}


@dataclass(frozen=True)
class IndicatorQuery:
    indicator: str
    level: str
    boundaries: str
    year: int


def available_years(session: Session) -> list[int]:
    return list(session.scalars(select(A.year).distinct().order_by(A.year)))


def parse_indicator_query(session: Session, args: dict[str, str]) -> IndicatorQuery:
    indicator = args.get("indicator") or "poverty_rate"
    if indicator not in INDICATORS:
        raise ParameterError("indicator", f"unknown indicator {indicator!r}", list(INDICATORS))
    level = args.get("level") or "commune"
    if level not in LEVELS:
        raise ParameterError("level", f"unknown level {level!r}", list(LEVELS))
    boundaries = args.get("boundaries") or "current"
    if boundaries not in BOUNDARIES:
        raise ParameterError("boundaries", f"unknown boundary version {boundaries!r}", list(BOUNDARIES))
    check_level_boundaries(level, boundaries)
    years = available_years(session)
    raw = args.get("year")
    if raw in (None, ""):
        if not years:
            raise ParameterError("year", "no indicators have been computed yet; run "
                                 "`sinhke jobs run area_indicators`", [])
        year = years[-1]
    else:
        try:
            year = int(raw)  # type: ignore[arg-type]
        except ValueError:
            raise ParameterError("year", f"{raw!r} is not a year", [str(y) for y in years]) from None
        if year not in years:
            raise ParameterError("year", f"no indicators for {year}", [str(y) for y in years])
    return IndicatorQuery(indicator, level, boundaries, year)


def indicator_rows(session: Session, q: IndicatorQuery) -> list[dict[str, Any]]:
    value, numerator, denominator = INDICATORS[q.indicator]
    stmt = (
        select(AdminUnit.code, AdminUnit.name, A.year, value.label("value"),
               numerator.label("numerator"), denominator.label("denominator"),
               A.estimated)
        .join(AdminUnit, AdminUnit.id == A.unit_id)
        .where(A.boundary == q.boundaries, A.level == q.level, A.year == q.year)
        .order_by(AdminUnit.code)
    )
    rows = []
    for r in session.execute(stmt):
        d = r._asdict()
        if d["value"] is not None:
            d["value"] = float(d["value"])
        rows.append(d)
    return rows


