"""A livelihood model's page (facts, status from visits, visits) and the visits due, as pages and JSON.

Scope comes from PostgreSQL (row-level security on models, visits and model_status): a model
outside the caller's communes is not found, exactly like one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from spatial.model_status import model_overview, visits_due
from webapp.db import get_session
from webapp.jsonable import iso
from webapp.views.submissions import status_labels

bp = Blueprint("models", __name__)


@bp.get("/models/<code>")
def model_page(code: str) -> ResponseReturnValue:
    return render_template("model.html", o=model_overview(get_session(), code), review_statuses=status_labels())


@bp.get("/api/models/<code>/status")
def api_status(code: str) -> ResponseReturnValue:
    return jsonify(iso(model_overview(get_session(), code)))


@bp.get("/visits/due")
def due_page() -> ResponseReturnValue:
    args = request.args.to_dict()
    return render_template(
        "visits_due.html", due=visits_due(get_session(), args), overdue=args.get("overdue") == "true"
    )


@bp.get("/api/visits/due")
def api_due() -> ResponseReturnValue:
    return jsonify(iso(visits_due(get_session(), request.args.to_dict())))
