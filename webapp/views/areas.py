"""An area's page: exposure to each hazard raster, and the exposed models, works, schemes and households."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from spatial.areas import MAX_HOUSEHOLDS, area_overview
from spatial.planning import area_planning, area_rates
from webapp.charts import rate_chart
from webapp.db import get_session

bp = Blueprint("areas", __name__)


@bp.get("/areas/<code>")
def area_page(code: str) -> ResponseReturnValue:
    session = get_session()
    boundaries = request.args.get("boundaries") or "current"
    overview = area_overview(session, code, boundaries)
    rates = area_rates(session, code, boundaries)
    return render_template(
        "area.html",
        o=overview,
        p=area_planning(session, code, boundaries),
        rates=rates,
        chart=rate_chart(rates, ("poverty_rate", "near_poor_rate")),
        max_households=MAX_HOUSEHOLDS,
    )


@bp.get("/api/areas/<code>")
def api_area(code: str) -> ResponseReturnValue:
    return jsonify(area_overview(get_session(), code, request.args.get("boundaries") or "current"))
