"""Reading the area_indicators job result: one indicator per unit for a level, version and year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Numeric, cast, func, null, select
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.layers import parse_level_boundaries
from spatial.models import AdminUnit
from spatial.models import AreaIncomeChange as C
from spatial.models import AreaIndicator as A

SPANS = ("annual", "period")


def _rate(numerator: Any, denominator: Any) -> Any:
    return func.round(cast(100.0 * numerator / func.nullif(denominator, 0), Numeric), 2)


#: indicator -> (result table, value, numerator, denominator); rates divide summed counts,
#: never average rates. Income-change indicators compare two rounds (``span``).
INDICATORS: dict[str, tuple[Any, Any, Any, Any]] = {
    "poverty_rate": (A, _rate(A.poor, A.households), A.poor, A.households),
    "near_poor_rate": (A, _rate(A.near_poor, A.households), A.near_poor, A.households),
    "households": (A, A.households, A.households, null()),
    "poor": (A, A.poor, A.poor, A.households),
    "near_poor": (A, A.near_poor, A.near_poor, A.households),
    "mean_income": (A, func.round(A.mean_income), null(), A.households),
    "median_income": (A, func.round(A.median_income), null(), A.households),
    "mean_income_change": (C, func.round(C.mean_change), null(), C.households),
    "median_income_change": (C, func.round(C.median_change), null(), C.households),
    "mean_income_change_real": (C, func.round(C.mean_change_real), null(), C.households),
    "escaped_poverty": (C, C.escaped, C.escaped, C.poor_prev),
    "escaped_poverty_rate": (C, _rate(C.escaped, C.poor_prev), C.escaped, C.poor_prev),
    "fell_back": (C, C.fell_back, C.fell_back, C.households),
    "newly_poor": (C, C.newly_poor, C.newly_poor, C.households),
    "near_poor_reduction_rate": (
        C,
        _rate(C.near_poor_prev - C.near_poor_now, C.near_poor_prev),
        C.near_poor_prev - C.near_poor_now,
        C.near_poor_prev,
    ),
}


@dataclass(frozen=True)
class IndicatorQuery:
    indicator: str
    level: str
    boundaries: str
    year: int
    span: str = "annual"


def available_years(session: Session, table: Any = A) -> list[int]:
    return list(session.scalars(select(table.year).distinct().order_by(table.year)))


def parse_indicator_query(session: Session, args: dict[str, str]) -> IndicatorQuery:
    indicator = args.get("indicator") or "poverty_rate"
    if indicator not in INDICATORS:
        raise ParameterError("indicator", f"unknown indicator {indicator!r}", list(INDICATORS))
    level, boundaries = parse_level_boundaries(args)
    table = INDICATORS[indicator][0]
    span = args.get("span") or "annual"
    if span not in SPANS:
        raise ParameterError("span", f"unknown span {span!r}", list(SPANS))
    # the year is checked against the rows of this level and version, through their index: a
    # scan of every visible row (row-level security tests each one) was most of the request
    rows = select(table.year).where(table.boundary == boundaries, table.level == level)
    raw = args.get("year")
    if raw in (None, ""):
        year = session.scalar(rows.order_by(table.year.desc()).limit(1))
        if year is None:  # nothing at this level: the latest year of any, as the whole table says
            years = available_years(session, table)
            if not years:
                job = "area_indicators" if table is A else "income_change"
                raise ParameterError("year", f"no indicators have been computed yet; run `sinhke jobs run {job}`", [])
            year = years[-1]
    else:
        try:
            year = int(raw)
        except ValueError:
            years = available_years(session, table)
            raise ParameterError("year", f"{raw!r} is not a year", [str(y) for y in years]) from None
        if not (0 < year < 10_000 and session.scalar(select(rows.where(table.year == year).exists()))):
            years = available_years(session, table)
            if year not in years:
                raise ParameterError("year", f"no indicators for {year}", [str(y) for y in years])
    return IndicatorQuery(indicator, level, boundaries, year, span)


def indicator_rows(session: Session, q: IndicatorQuery) -> list[dict[str, Any]]:
    table, value, numerator, denominator = INDICATORS[q.indicator]
    stmt = (
        select(
            AdminUnit.code,
            AdminUnit.name,
            table.year,
            value.label("value"),
            numerator.label("numerator"),
            denominator.label("denominator"),
            table.estimated,
        )
        .join(AdminUnit, AdminUnit.id == table.unit_id)
        .where(table.boundary == q.boundaries, table.level == q.level, table.year == q.year)
        .order_by(AdminUnit.code)
    )
    if table is C:
        stmt = stmt.where(C.span == q.span).add_columns(C.prev_year)
    rows = []
    for r in session.execute(stmt):
        d = r._asdict()
        if d["value"] is not None:
            d["value"] = float(d["value"])
        rows.append(d)
    return rows
