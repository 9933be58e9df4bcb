"""``/planning`` and ``/api/planning``: lagging targets, slow disbursement, and targets and money from XLSX."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ingest.importing import ImportFileError, ImportReport, run_import
from ingest.planning_xlsx import KINDS, ImportRefused, cell_errors
from ingest.readers import stream_copy
from spatial import ParameterError
from spatial.accounts import Conflict
from spatial.models import MONEY_SOURCES, TARGET_INDICATORS
from spatial.params import whole_number
from spatial.planning import disbursement_rows, planning_map, progress_rows
from spatial.planning_entry import (
    allocation_form,
    entry_areas,
    entry_parts,
    get_allocation,
    get_target,
    list_allocations,
    list_targets,
    save_allocation,
    save_target,
    target_form,
)
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


@bp.get("/api/planning/map")
def map_layer() -> ResponseReturnValue:
    """The caller's communes with their targets' status and disbursement (GeoJSON, for the /planning map)."""
    signed_in()
    year = request.args.get("year")
    body = planning_map(
        get_session(),
        whole_number(year, "year", 0, 2000, 2100) if year else None,
        request.args.get("indicator") or None,
    )
    response = jsonify(body)
    response.mimetype = "application/geo+json"
    return response


def _import(kind: str) -> tuple[ImportReport, list[dict[str, Any]] | None]:
    """The uploaded file through the import framework (:func:`ingest.importing.run_import`, the
    ``targets`` or ``allocations`` layer): its report, and where each problem is on the sheet when
    it is refused. A refusal keeps its ``imports`` row (nothing else is written)."""
    if signed_in().role not in EDITING_ROLES:
        abort(403, "targets and money are entered by planners and administrators")
    if kind not in KINDS:
        raise ParameterError("kind", f"unknown kind {kind!r}", list(KINDS))
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ParameterError("file", "attach an XLSX file")
    work = Path(tempfile.mkdtemp(prefix="sinhke-planning-"))
    try:
        path = work / "upload"
        name = Path(file.filename).name
        try:
            stream_copy(file.stream, path, MAX_UPLOAD, name)  # type: ignore[arg-type]  # a BufferedIOBase at run time
            report = run_import(get_session(), kind, path, name, signed_in())
        except ImportFileError as exc:  # unreadable as a whole, or too large: nothing was read
            raise ParameterError("file", str(exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if report.refused:
        g.commit_on_error = True  # the refusal's imports row stays; the savepoint took back the rest
        return report, cell_errors(report)
    return report, None


@bp.post("/api/planning/import/<kind>")
def api_import(kind: str) -> ResponseReturnValue:
    report, errors = _import(kind)
    if errors is not None:
        raise ImportRefused(report, errors)
    return jsonify(
        {
            "kind": kind,
            "rows": report.rows,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "import_id": report.import_id,
        }
    )


@bp.post("/planning/import")
def form_import() -> ResponseReturnValue:
    kind = request.form.get("kind") or ""
    report, errors = _import(kind)
    if errors is not None:
        return render_template("planning_import.html", refused=ImportRefused(report, errors)), 422
    flash(
        _(
            "%(file)s: %(inserted)s rows added, %(updated)s changed, %(unchanged)s unchanged.",
            file=report.filename,
            inserted=report.inserted,
            updated=report.updated,
            unchanged=report.unchanged,
        )
    )
    return redirect(url_for("planning.page"))


# ----------------------------------------------------------------------------- entry and editing
ENTRY: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., dict[str, str]], Callable[..., Any]]] = {
    "targets": (save_target, get_target, target_form, list_targets),
    "allocations": (save_allocation, get_allocation, allocation_form, list_allocations),
}


def _editor() -> None:
    if signed_in().role not in EDITING_ROLES:
        abort(403, "targets and money are entered by planners and administrators")


def _entry_page(kind: str, row_id: int | None, form: dict[str, str], error: Exception | None = None) -> str:
    session = get_session()
    return render_template(
        "planning_entry.html",
        kind=kind,
        row_id=row_id,
        form=form,
        error=error,
        rows=ENTRY[kind][3](session),
        areas=entry_areas(session),
        parts=entry_parts(session),
        indicators=TARGET_INDICATORS,
        sources=MONEY_SOURCES,
    )


def _entry(kind: str, row_id: int | None) -> ResponseReturnValue:
    _editor()
    save, get, as_form, _rows = ENTRY[kind]
    session = get_session()
    if request.method == "GET":
        return _entry_page(kind, row_id, as_form(get(session, row_id), session) if row_id is not None else {})
    if row_id is not None:
        get(session, row_id)  # outside the caller's areas: 404, before any field is read
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        row = save(session, form, row_id)
    except (ParameterError, Conflict) as exc:  # the form again, the bad field named; nothing written
        return _entry_page(kind, row_id, form, exc), 422 if isinstance(exc, ParameterError) else 409
    flash(_("Saved: row %(id)s.", id=row.id))
    return redirect(url_for(f"planning.{kind}_entry"))


@bp.route("/planning/targets", methods=["GET", "POST"])
def targets_entry() -> ResponseReturnValue:
    return _entry("targets", None)


@bp.route("/planning/targets/<int:row_id>", methods=["GET", "POST"])
def target_edit(row_id: int) -> ResponseReturnValue:
    return _entry("targets", row_id)


@bp.route("/planning/allocations", methods=["GET", "POST"])
def allocations_entry() -> ResponseReturnValue:
    return _entry("allocations", None)


@bp.route("/planning/allocations/<int:row_id>", methods=["GET", "POST"])
def allocation_edit(row_id: int) -> ResponseReturnValue:
    return _entry("allocations", row_id)
