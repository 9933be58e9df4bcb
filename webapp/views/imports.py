"""The upload page: files into layers through the import registry, and each import's report."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
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
)
from spatial import ParameterError
from spatial.params import MAX_ID, whole_number
from webapp.auth import signed_in
from webapp.db import get_session

bp = Blueprint("imports", __name__)

ROLES = ("admin", "planner")
#: problems listed on the page (the CSV download has them all)
PAGE_PROBLEMS = 500


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
    but its ``imports`` row."""
    _allowed()
    who = signed_in()
    f = request.form
    upload = request.files.get("file")
    work = Path(tempfile.mkdtemp(prefix="sinhke-upload-"))
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
        report = run_import(get_session(), layer, path, Path(upload.filename).name, who, options)
    except (ImportFileError, ParameterError) as exc:
        return _page(error=str(exc), form=dict(f)), 400
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return redirect(url_for("imports.report", import_id=report.import_id), 303)


def _import_row(import_id: str) -> Any:
    iid = whole_number(import_id, "import_id", 0, 1, MAX_ID)
    row = get_session().execute(text("SELECT * FROM imports WHERE id = :i"), {"i": iid}).one_or_none()
    if row is None:
        abort(404, f"no import {iid} (or not one of yours)")
    return row


@bp.get("/imports/<import_id>")
def report(import_id: str) -> ResponseReturnValue:
    _allowed()
    row = _import_row(import_id)
    return render_template("import_report.html", r=row, problems=row.problems[:PAGE_PROBLEMS], shown=PAGE_PROBLEMS)


@bp.get("/imports/<import_id>/problems.csv")
def problems(import_id: str) -> ResponseReturnValue:
    _allowed()
    row = _import_row(import_id)
    name = f"import-{row.id}-problems.csv"
    return Response(
        problems_csv(row.problems),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
