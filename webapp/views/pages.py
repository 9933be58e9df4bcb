"""Pages for people: the map."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

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
