"""``/siting`` and ``/api/siting``: run a siting, save it as a scenario, open, list and export scenarios."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from jobs.siting_run import start
from spatial import ParameterError
from spatial.accounts import Principal, apply_scope, user_areas
from spatial.exports import MIME, table_file
from spatial.params import whole_number
from spatial.scenarios import (
    EXPORT_LAYERS,
    export_rows,
    fail_scenario,
    finish_scenario,
    get_scenario,
    list_scenarios,
    mark_abandoned,
    scenario_geojson,
    scenario_json,
    scenario_name,
    start_scenario,
)
from spatial.siting import (
    DEFAULT_WEIGHTS,
    FACILITIES,
    MAX_RADIUS_M,
    params_from_json,
    plannable_communes,
    run_siting,
)
from webapp.auth import signed_in
from webapp.db import ANONYMOUS_CONNECTIONS, get_session

bp = Blueprint("siting", __name__)
PLANNING_ROLES = ("admin", "planner")
EXPORT_FORMATS = ("geojson", "csv", "gpkg")


def _planner() -> Principal:
    who = signed_in()
    if who.role not in PLANNING_ROLES:
        abort(403, "siting is for planners and administrators")
    return who


@bp.get("/siting")
def page() -> ResponseReturnValue:
    who = _planner()
    session = get_session()
    areas = [a for a in user_areas(session, who.user_id) if a.level == "commune"]
    communes = plannable_communes(session)
    mark_abandoned(session)
    return render_template(
        "siting.html",
        communes=communes,
        assigned=[a.code for a in areas],
        facilities=FACILITIES,
        weights=DEFAULT_WEIGHTS,
        max_radius=int(MAX_RADIUS_M),
        scenarios=list_scenarios(session, limit=50),
        basemap_style=current_app.config["SINHKE"].basemap_style_url,
    )


@bp.get("/api/siting")
def scenarios() -> ResponseReturnValue:
    signed_in()
    session = get_session()
    unit_id = None
    code = request.args.get("commune")
    if code:
        from spatial.siting import commune_ids

        unit_id = commune_ids(session, [code])[0]
    limit = whole_number(request.args.get("limit"), "limit", 200, 1, 1000)
    mark_abandoned(session)
    return jsonify({"scenarios": list_scenarios(session, unit_id=unit_id, limit=limit)})


@bp.post("/api/siting")
def run() -> ResponseReturnValue:
    who = _planner()
    session = get_session()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ParameterError("body", "send a JSON object")
    name = scenario_name(body.get("name"))
    params, ids = params_from_json(session, body)
    settings = current_app.config["SINHKE"]
    if body.get("background") is True and current_app.extensions.get(ANONYMOUS_CONNECTIONS):
        # a process of its own (jobs.siting_run, as "run now" on /admin/jobs): the row is committed now
        # (running, queued), the process computes it scoped to the same user, and the page polls the
        # row's progress (the answer is read first: the commit ends the transaction and the caller's scope)
        row = start_scenario(session, name, params, ids, queued=True)
        answer = scenario_json(session, row)
        session.commit()
        try:
            start(settings, row.id, who.user_id)
        except OSError as exc:  # the row must not wait for a process that never came: failed, committed
            apply_scope(session, who)
            fail_scenario(session, row.id, f"the run could not be started: {exc}")
            session.commit()
            raise
        return jsonify(answer), 202
    row = start_scenario(session, name, params, ids)
    result = run_siting(session, params, settings.raster_store)
    finish_scenario(session, row.id, result)
    session.refresh(row)
    return jsonify(scenario_json(session, row)), 201


@bp.get("/api/siting/<int:scenario_id>")
def scenario(scenario_id: int) -> ResponseReturnValue:
    signed_in()
    session = get_session()
    mark_abandoned(session, scenario_id)
    return jsonify(scenario_json(session, get_scenario(session, scenario_id)))


@bp.get("/api/siting/<int:scenario_id>/<layer>")
def scenario_layer(scenario_id: int, layer: str) -> ResponseReturnValue:
    """The scenario's sites or demand households: GeoJSON, or ?format=csv|gpkg to download."""
    signed_in()
    if layer not in EXPORT_LAYERS:
        raise ParameterError("layer", f"unknown layer {layer!r}", list(EXPORT_LAYERS))
    fmt = request.args.get("format") or "geojson"
    if fmt not in EXPORT_FORMATS:
        raise ParameterError("format", f"unknown format {fmt!r}", list(EXPORT_FORMATS))
    session = get_session()
    name = f"sinhke-siting-{scenario_id}-{layer}"
    if fmt == "geojson":
        response = jsonify(scenario_geojson(session, scenario_id, layer))
        response.mimetype = "application/geo+json"
        if request.args.get("format"):
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.geojson"'
        return response
    columns, rows = export_rows(get_scenario(session, scenario_id), layer)
    return Response(
        table_file(fmt, columns, rows, name, zone=current_app.config["SINHKE"].timezone),
        mimetype=MIME[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )
