"""The upload page: files into layers through the import registry, and each import's report."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from ingest.importing import (
    ImportFileError,
    ImportOptions,
    formats_of,
    importer_for,
    layers,
    problems_csv,
    run_import,
    start_import,
)
from spatial import ParameterError
from spatial.params import MAX_ID, whole_number
from webapp.auth import signed_in
from webapp.db import get_session
from webapp.labels import message_text, problem_reason

bp = Blueprint("imports", __name__)

ROLES = ("admin", "planner")
#: problems listed on the page (the CSV download has them all)
PAGE_PROBLEMS = 500
#: a file larger than this is imported in a process of its own (ingest.import_once) while the
#: report page shows its progress; a smaller one in the request, its report shown at once
BACKGROUND_BYTES = 2 * 1024**2


def _allowed() -> None:
    if signed_in().role not in ROLES:
        abort(403, "imports are for administrators and planners")


def _layers() -> list[str]:
    """The layers the signed-in user may import into from this page (rasters have their own)."""
    role = signed_in().role
    return [name for name in layers() if name != "raster" and role in importer_for(name, formats_of(name)[0]).roles]


def _page(error: str | None = None, form: dict | None = None) -> str:
    rows = (
        get_session()
        .execute(
            text(
                "SELECT id, layer, format, filename, user_name, status, rows, inserted, updated, unchanged, "
                "rejected, started_at FROM imports WHERE layer <> 'raster' ORDER BY id DESC LIMIT 50"
            )
        )
        .all()
    )
    return render_template("imports.html", layers=_layers(), rows=rows, error=error, form=form or {})


@bp.get("/imports")
def imports_page() -> ResponseReturnValue:
    _allowed()
    return _page()


@bp.post("/imports")
def upload() -> ResponseReturnValue:
    """The file is copied to a temporary folder (the size limit is the app's MAX_CONTENT_LENGTH: 413),
    imported in the request's transaction, and the report shown; a refused file writes nothing
    but its ``imports`` row. A file over :data:`BACKGROUND_BYTES` is imported out of the request
    (:func:`_in_background`) and the report page shows its progress until it is done."""
    _allowed()
    who = signed_in()
    f = request.form
    upload = request.files.get("file")
    work = Path(tempfile.mkdtemp(prefix="sinhke-upload-"))
    background = False
    try:
        if upload is None or not upload.filename:
            raise ParameterError("file", "choose a file to import")
        layer = f.get("layer", "")
        if layer not in _layers():
            raise ParameterError("layer", f"nothing imports into {layer!r}", _layers())
        mapping: dict[str, str] = {}
        mapping_upload = request.files.get("mapping")
        if mapping_upload is not None and mapping_upload.filename:
            from ingest.headers import read_mapping

            mapping_path = work / "mapping"
            mapping_upload.save(mapping_path)
            mapping = read_mapping(mapping_path)
        path = work / "upload"
        upload.save(path)
        options = ImportOptions(
            dry_run=bool(f.get("dry_run")),
            skip_invalid=bool(f.get("skip_invalid")),
            mapping=mapping,
            crs=f.get("crs") or None,
            encoding=f.get("encoding") or None,
            sheet=f.get("sheet") or None,
        )
        filename = Path(upload.filename).name
        if path.stat().st_size > BACKGROUND_BYTES:
            import_id = _in_background(layer, path, filename, options)
            background = True  # the import's process removes the folder when done
            return redirect(url_for("imports.report", import_id=import_id), 303)
        report = run_import(get_session(), layer, path, filename, who, options)
    except ImportFileError as exc:
        return _page(error=f"{exc.filename}: {message_text(exc.reason)}", form=dict(f)), 400
    except ParameterError as exc:
        return _page(error=str(exc), form=dict(f)), 400
    finally:
        if not background:
            shutil.rmtree(work, ignore_errors=True)
    return redirect(url_for("imports.report", import_id=report.import_id), 303)


def _in_background(layer: str, path: Path, filename: str, options: ImportOptions) -> int:
    """The ``imports`` row made and committed (status running), then the import started in a
    process of its own, as /admin/jobs' "run now" starts a job; the report page follows it."""
    from dataclasses import asdict

    from ingest.import_once import launch

    who = signed_in()
    session = get_session()
    import_id = start_import(session, layer, path, filename, who)
    session.commit()  # the process and the page read the row
    launch(
        current_app.config["SINHKE"],
        {
            "import_id": import_id,
            "path": str(path),
            "filename": filename,
            "layer": layer,
            "who": asdict(who),
            "options": {k: v for k, v in asdict(options).items() if k != "extra"},
        },
    )
    return import_id


def _import_row(import_id: str) -> Any:
    from ingest.importing import import_record

    iid = whole_number(import_id, "import_id", 0, 1, MAX_ID)
    row = import_record(get_session(), iid)
    if row is None:
        abort(404, f"no import {iid} (or not one of yours)")
    return row


@bp.get("/imports/<import_id>")
def report(import_id: str) -> ResponseReturnValue:
    _allowed()
    row = _import_row(import_id)
    return render_template("import_report.html", r=row, problems=row.problems[:PAGE_PROBLEMS], shown=PAGE_PROBLEMS)


@bp.get("/imports/<import_id>/progress")
def progress(import_id: str) -> ResponseReturnValue:
    """A running import's phase and rows, for the report page to poll (JSON)."""
    _allowed()
    r = _import_row(import_id)
    return jsonify(
        {
            "id": r.id,
            "status": r.status,
            "phase": r.phase,
            "rows_read": r.rows_read,
            "rows_estimated": r.rows_estimated,
            "error": r.error,
        }
    )


@bp.get("/imports/<import_id>/problems.csv")
def problems(import_id: str) -> ResponseReturnValue:
    _allowed()
    row = _import_row(import_id)
    name = f"import-{row.id}-problems.csv"
    return Response(
        problems_csv(row.problems, problem_reason),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
