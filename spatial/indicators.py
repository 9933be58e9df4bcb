"""Reading the area_indicators job result: one indicator per unit for a level, version and year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Numeric, Select, bindparam, cast, func, null, select
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
    raw = args.get("year")
    if raw in (None, ""):
        year = session.scalar(_LATEST_YEAR[table], {"b": boundaries, "l": level})
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
        if not (0 < year < 10_000 and session.scalar(_HAS_YEAR[table], {"b": boundaries, "l": level, "y": year})):
            years = available_years(session, table)
            if year not in years:
                raise ParameterError("year", f"no indicators for {year}", [str(y) for y in years])
    return IndicatorQuery(indicator, level, boundaries, year, span)


def _rows_statement(indicator: str) -> Select[Any]:
    table, value, numerator, denominator = INDICATORS[indicator]
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
        .where(table.boundary == bindparam("b"), table.level == bindparam("l"), table.year == bindparam("y"))
        .order_by(AdminUnit.code)
    )
    if table is C:
        stmt = stmt.where(C.span == bindparam("span")).add_columns(C.prev_year)
    return stmt


#: the statements of every request, built once (building them cost more than running them); the
#: values are bound per request
_ROWS = {name: _rows_statement(name) for name in INDICATORS}
_LATEST_YEAR = {
    t: select(t.year).where(t.boundary == bindparam("b"), t.level == bindparam("l")).order_by(t.year.desc()).limit(1)
    for t in (A, C)
}
_HAS_YEAR = {
    t: select(
        select(t.year).where(t.boundary == bindparam("b"), t.level == bindparam("l"), t.year == bindparam("y")).exists()
    )
    for t in (A, C)
}


def indicator_rows(session: Session, q: IndicatorQuery) -> list[dict[str, Any]]:
    values = {"b": q.boundaries, "l": q.level, "y": q.year}
    if INDICATORS[q.indicator][0] is C:
        values["span"] = q.span
    rows = []
    for r in session.execute(_ROWS[q.indicator], values):
        d = r._asdict()
        if d["value"] is not None:
            d["value"] = float(d["value"])
        rows.append(d)
    return rows


#: the columns of an indicator table, in the order pages and downloads show them
COLUMNS = ("code", "name", "year", "value", "numerator", "denominator", "estimated")
CHANGE_COLUMNS = (*COLUMNS, "prev_year")
SORTS = ("code", "name", "value", "numerator", "denominator")


def indicator_columns(indicator: str) -> tuple[str, ...]:
    """The table's columns: an income-change indicator also says the round it compares with."""
    return CHANGE_COLUMNS if INDICATORS[indicator][0] is C else COLUMNS


def compares_rounds(indicator: str) -> bool:
    return INDICATORS[indicator][0] is C


def sorted_rows(rows: list[dict[str, Any]], sort: str | None, order: str | None) -> list[dict[str, Any]]:
    """Rows ordered by ``sort`` (default: code) ascending or, with ``order=desc``, descending; rows
    without a value go last either way."""
    key = sort or "code"
    if key not in SORTS:
        raise ParameterError("sort", f"cannot sort by {key!r}", list(SORTS))
    if order not in (None, "", "asc", "desc"):
        raise ParameterError("order", f"unknown order {order!r}", ["asc", "desc"])
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    present.sort(key=lambda r: (r[key], r["code"]), reverse=order == "desc")
    return present + missing


@dataclass(frozen=True)
class Pivot:
    """Indicators × areas × years: ``values[(indicator, code, year)]``, for a DHIS2-like pivot table."""

    indicators: tuple[str, ...]
    level: str
    boundaries: str
    span: str
    years: tuple[int, ...]
    areas: tuple[tuple[str, str], ...]  # (code, name), by code
    values: dict[tuple[str, str, int], float | None]


def parse_indicators(raw: str | None) -> tuple[str, ...]:
    """A comma-separated list of indicators (default: poverty and near-poverty rates), each known."""
    names = tuple(dict.fromkeys(p.strip() for p in (raw or "poverty_rate,near_poor_rate").split(",") if p.strip()))
    unknown = [n for n in names if n not in INDICATORS]
    if unknown or not names:
        raise ParameterError("indicators", f"unknown indicator {unknown[0] if unknown else ''!r}", list(INDICATORS))
    return names


def indicator_pivot(session: Session, args: dict[str, str]) -> Pivot:
    """Every year of each indicator for every unit of a level and boundary version (one query an indicator)."""
    indicators = parse_indicators(args.get("indicators"))
    level, boundaries = parse_level_boundaries(args)
    span = args.get("span") or "annual"
    if span not in SPANS:
        raise ParameterError("span", f"unknown span {span!r}", list(SPANS))
    values: dict[tuple[str, str, int], float | None] = {}
    areas: dict[str, str] = {}
    years: set[int] = set()
    for indicator in indicators:
        table, value, _numerator, _denominator = INDICATORS[indicator]
        stmt = (
            select(AdminUnit.code, AdminUnit.name, table.year, value.label("value"))
            .join(AdminUnit, AdminUnit.id == table.unit_id)
            .where(table.boundary == boundaries, table.level == level)
        )
        if table is C:
            stmt = stmt.where(C.span == span)
        for code, name, year, v in session.execute(stmt):
            areas[code] = name
            years.add(year)
            values[(indicator, code, year)] = None if v is None else float(v)
    return Pivot(indicators, level, boundaries, span, tuple(sorted(years)), tuple(sorted(areas.items())), values)


def pivot_table(pivot: Pivot, labels: dict[str, str] | None = None) -> tuple[list[str], list[list[Any]]]:
    """The pivot flattened for a file: one row an area, one column an (indicator, year)."""
    labels = labels or {}
    columns = ["code", "name"] + [f"{labels.get(i, i)} {y}" for i in pivot.indicators for y in pivot.years]
    rows = [
        [code, name, *(pivot.values.get((i, code, y)) for i in pivot.indicators for y in pivot.years)]
        for code, name in pivot.areas
    ]
    return columns, rows
