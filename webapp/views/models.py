"""A livelihood model's page (facts, status from visits, visits) and the visits due, as pages and JSON.

Scope comes from PostgreSQL (row-level security on models, visits and model_status): a model
outside the caller's communes is not found, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from spatial.model_status import model_overview, visits_due
from webapp.db import get_session

bp = Blueprint("models", __name__)


def _iso(value: Any) -> Any:
    """Dates and times as ISO 8601 (Flask would write them as HTTP dates)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


@bp.get("/models/<code>")
def model_page(code: str):  # type: ignore[no-untyped-def]
    return render_template("model.html", o=model_overview(get_session(), code))


@bp.get("/api/models/<code>/status")
def api_status(code: str):  # type: ignore[no-untyped-def]
    return jsonify(_iso(model_overview(get_session(), code)))


@bp.get("/visits/due")
def due_page():  # type: ignore[no-untyped-def]
    args = request.args.to_dict()
    return render_template("visits_due.html", due=visits_due(get_session(), args),
                           overdue=args.get("overdue") == "true")


@bp.get("/api/visits/due")
def api_due():  # type: ignore[no-untyped-def]
    return jsonify(_iso(visits_due(get_session(), request.args.to_dict())))
