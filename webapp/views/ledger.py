"""The pass-on ledger for people and the API: a model's chain, and the pass-ons due in one's communes.

Scope comes from PostgreSQL (row-level security on models and the ledger): a model
outside the caller's communes is not found, exactly like one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from spatial.ledger import LISTED_STATUSES, model_chain, pass_on_due
from webapp.db import get_session
from webapp.jsonable import iso

bp = Blueprint("ledger", __name__)


@bp.get("/models/<code>/chain")
def chain_page(code: str) -> ResponseReturnValue:
    return render_template("ledger_chain.html", chain=model_chain(get_session(), code))


@bp.get("/pass-on")
def pass_on_page() -> ResponseReturnValue:
    status = request.args.get("status") or "all"
    rows = pass_on_due(get_session(), status)
    return render_template("ledger_pass_on.html", rows=rows, status=status, statuses=("all", *LISTED_STATUSES))


@bp.get("/api/models/<code>/chain")
def api_chain(code: str) -> ResponseReturnValue:
    return jsonify(iso(model_chain(get_session(), code)))


@bp.get("/api/pass-on")
def api_pass_on() -> ResponseReturnValue:
    status = request.args.get("status") or "all"
    rows = pass_on_due(get_session(), status)
    return jsonify({"status": status, "count": len(rows), "rows": iso(rows)})
