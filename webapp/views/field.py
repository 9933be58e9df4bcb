"""``/api/forms`` and ``/api/visits``: form definitions for devices, and visit sync."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from ingest.visits import SyncOutcome, sync_batch, sync_visit
from spatial import ParameterError
from spatial.field import current_forms, form_version, participating_households, visit_json, visit_photo, visits_of
from webapp.auth import signed_in
from webapp.db import get_session
from webapp.errors import error_payload

bp = Blueprint("field_api", __name__, url_prefix="/api")


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise ParameterError("body", "send a JSON object with Content-Type: application/json")
    return body


def _status(outcome: SyncOutcome) -> int:
    return 201 if outcome.status == "created" else 200


@bp.get("/forms")
def forms() -> ResponseReturnValue:
    return jsonify({"forms": current_forms(get_session())})


@bp.get("/forms/<form_id>/<version>")
def form(form_id: str, version: str) -> ResponseReturnValue:
    return jsonify(form_version(get_session(), form_id, version))


@bp.get("/participants")
def participants() -> ResponseReturnValue:
    """The households of each model in the caller's communes (the field app's pick-list)."""
    body = '{"models":' + participating_households(get_session()) + "}"
    return Response(body, mimetype="application/json")


@bp.post("/visits")
def create_visit() -> ResponseReturnValue:
    outcome = sync_visit(get_session(), signed_in(), _json_body())
    response = jsonify(outcome.visit)
    response.status_code = _status(outcome)
    response.headers["Location"] = url_for("field_api.visit", visit_id=outcome.visit["id"])
    return response


@bp.post("/visits/batch")
def create_visits() -> ResponseReturnValue:
    """Visit by visit: each gets the status it would get alone; the batch itself is 200."""
    body = _json_body()
    bodies = body.get("visits") if isinstance(body, dict) else None
    results = sync_batch(get_session(), signed_in(), bodies)
    out = []
    for i, (sent, result) in enumerate(zip(bodies, results, strict=True)):  # type: ignore[arg-type]
        sent_id = sent.get("id") if isinstance(sent, dict) else None
        if isinstance(result, SyncOutcome):
            out.append({"index": i, "id": result.visit["id"], "status": _status(result), "visit": result.visit})
        else:
            code, message, extra = error_payload(result)
            out.append(
                {"index": i, "id": sent_id, "status": code, "error": {"code": code, "message": message, **extra}}
            )
    return jsonify({"results": out})


@bp.get("/visits")
def visits() -> ResponseReturnValue:
    return jsonify(visits_of(get_session(), request.args.to_dict()))


@bp.get("/visits/<visit_id>")
def visit(visit_id: str) -> ResponseReturnValue:
    return jsonify(visit_json(get_session(), visit_id))


@bp.get("/visits/<visit_id>/photo")
def photo(visit_id: str) -> ResponseReturnValue:
    content_type, data = visit_photo(get_session(), visit_id)
    return Response(data, mimetype=content_type, headers={"Cache-Control": "private, max-age=86400"})
