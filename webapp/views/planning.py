"""``/planning`` and ``/api/planning``: lagging targets, slow disbursement, and targets and money from XLSX."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ingest.planning_xlsx import KINDS, ImportRefused, import_xlsx
from spatial import ParameterError
from spatial.params import whole_number
from spatial.planning import disbursement_rows, progress_rows
from webapp.auth import signed_in
from webapp.db import get_session

bp = Blueprint("planning", __name__)
EDITING_ROLES = ("admin", "planner")
MAX_UPLOAD = 20 * 1024 * 1024


@bp.get("/planning")
def page() -> ResponseReturnValue:
    who = signed_in()
    session = get_session()
    return render_template(
        "planning.html",
        lagging=progress_rows(session, status="lagging", limit=100),
        low=disbursement_rows(session, status="low", limit=100),
        can_edit=who.role in EDITING_ROLES,
        kinds=KINDS,
    )


@bp.get("/api/planning/progress")
def progress() -> ResponseReturnValue:
    signed_in()
    limit = whole_number(request.args.get("limit"), "limit", 500, 1, 10_000)
    return jsonify({"rows": progress_rows(get_session(), status=request.args.get("status"), limit=limit)})


@bp.get("/api/planning/disbursement")
def disbursement() -> ResponseReturnValue:
    signed_in()
    limit = whole_number(request.args.get("limit"), "limit", 500, 1, 10_000)
    return jsonify({"rows": disbursement_rows(get_session(), status=request.args.get("status"), limit=limit)})


def _upload(kind: str) -> tuple[bytes, str]:
    if signed_in().role not in EDITING_ROLES:
        abort(403, "targets and money are entered by planners and administrators")
    if kind not in KINDS:
        raise ParameterError("kind", f"unknown kind {kind!r}", list(KINDS))
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ParameterError("file", "attach an XLSX file")
    data = file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ParameterError("file", f"larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    return data, file.filename


@bp.post("/api/planning/import/<kind>")
def api_import(kind: str) -> ResponseReturnValue:
    data, name = _upload(kind)
    r = import_xlsx(get_session(), kind, data, name)
    return jsonify(
        {"kind": r.kind, "rows": r.rows, "inserted": r.inserted, "updated": r.updated, "unchanged": r.unchanged}
    )


@bp.post("/planning/import")
def form_import() -> ResponseReturnValue:
    kind = request.form.get("kind") or ""
    data, name = _upload(kind)
    try:
        r = import_xlsx(get_session(), kind, data, name)
    except ImportRefused as exc:
        return render_template("planning_import.html", refused=exc), 422
    flash(
        _(
            "%(file)s: %(inserted)s rows added, %(updated)s changed, %(unchanged)s unchanged.",
            file=name,
            inserted=r.inserted,
            updated=r.updated,
            unchanged=r.unchanged,
        )
    )
    return redirect(url_for("planning.page"))
