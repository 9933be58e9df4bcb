"""Pages for people: the map, the evaluation and the indicator tables."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from spatial import ParameterError
from spatial.indicators import available_years
from webapp.db import get_session

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("pages.map_page"))


@bp.get("/map")
def map_page() -> ResponseReturnValue:
    years = available_years(get_session())
    return render_template(
        "map.html",
        years=years,
        default_year=years[-1] if years else None,
        locale=str(get_locale()),
        basemap_style=current_app.config["SINHKE"].basemap_style_url,
    )


@bp.get("/evaluation")
def evaluation_page() -> ResponseReturnValue:
    from spatial.evaluations import evaluation_coverage, evaluation_rows
    from webapp.charts import event_study_chart

    db = get_session()
    province = evaluation_rows(db, "province")
    by_type: dict[str, dict] = {}
    for r in province:
        entry = by_type.setdefault(r["model_type"], {"area": r["name"]})
        entry[r["estimator"]] = r
        if r["estimator"] == "cs_did" and r["detail"]:
            entry["chart"] = event_study_chart(r["detail"].get("event_study", []))
    communes = [r for r in evaluation_rows(db, "commune") if r["estimator"] == "cs_did"]
    return render_template(
        "evaluation.html",
        by_type=by_type,
        communes=[r for r in communes if r["status"] == "ok"],
        too_small=[r for r in communes if r["status"] != "ok"],
        coverage=evaluation_coverage(db, province, communes),
    )


def _area_view(args: dict[str, str]) -> dict[str, str]:
    """The pages' one ``area`` choice ("district:legacy") as the ``level`` and ``boundaries`` the API takes."""
    from webapp.labels import AREA_VIEWS

    area = args.pop("area", None)
    if area:
        if area not in AREA_VIEWS:
            raise ParameterError("area", f"unknown view {area!r}", list(AREA_VIEWS))
        args["level"], args["boundaries"] = area.split(":")
    return args


@bp.get("/indicators")
def indicators_page() -> ResponseReturnValue:
    """One indicator for every unit of a level and year, as a table sorted by any column, with downloads."""
    from spatial.indicators import INDICATORS, compares_rounds, indicator_rows, parse_indicator_query, sorted_rows

    db = get_session()
    args = _area_view({k: v for k, v in request.args.to_dict().items() if k != "lang"})
    table = INDICATORS[args["indicator"]][0] if args.get("indicator") in INDICATORS else None
    years = available_years(db, table) if table is not None else []
    if table is not None and args.get("year", "").isdigit() and int(args["year"]) not in years:
        del args["year"]  # the form kept the year of another indicator: show this one's latest instead
    q = parse_indicator_query(db, args)
    sort, order = args.get("sort") or "code", args.get("order") or "asc"
    rows = sorted_rows(indicator_rows(db, q), sort, order)
    query = {"indicator": q.indicator, "level": q.level, "boundaries": q.boundaries, "year": q.year}
    if compares_rounds(q.indicator):
        query["span"] = q.span
    return render_template(
        "indicators.html",
        q=q,
        rows=rows,
        years=years or available_years(db, INDICATORS[q.indicator][0]),
        indicators=list(INDICATORS),
        compares=compares_rounds(q.indicator),
        sort=sort,
        order=order,
        query=query,
        area=f"{q.level}:{q.boundaries}",
    )


@bp.get("/indicators/pivot")
def indicators_pivot_page() -> ResponseReturnValue:
    """Indicators × areas × years in one table (DHIS2's pivot), with downloads."""
    from spatial.indicators import INDICATORS, indicator_pivot

    args = _area_view({k: v for k, v in request.args.to_dict().items() if k != "lang"})
    if "indicator" in request.args:  # the check boxes: one indicator=… each
        args["indicators"] = ",".join(request.args.getlist("indicator"))
        del args["indicator"]
    pivot = indicator_pivot(get_session(), args)
    query = {
        "indicators": ",".join(pivot.indicators),
        "level": pivot.level,
        "boundaries": pivot.boundaries,
        "span": pivot.span,
    }
    return render_template(
        "indicators_pivot.html",
        pivot=pivot,
        indicators=list(INDICATORS),
        query=query,
        area=f"{pivot.level}:{pivot.boundaries}",
    )
