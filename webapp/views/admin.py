"""Admin pages: users, their roles and areas, API tokens, and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from spatial import NotFound, ParameterError
from spatial.accounts import (
    assignable_areas,
    create_user,
    disable_user,
    enable_user,
    get_user,
    issue_token,
    update_user,
    user_areas,
    users_with_areas,
)
from spatial.audit import ACTIONS, AUDIT_PAGE, MAX_AUDIT_PAGES, audit_changes, audit_entries
from spatial.duplicates import candidates, review_decision
from spatial.models import ROLES
from spatial.params import MAX_ID, whole_number
from webapp.auth import signed_in
from webapp.db import get_session

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _codes(raw: str) -> list[str]:
    return [c.strip() for c in raw.replace(";", ",").replace(" ", ",").split(",") if c.strip()]


@bp.get("/users")
def users() -> ResponseReturnValue:
    db = get_session()
    return render_template("admin_users.html", rows=users_with_areas(db), roles=ROLES, areas=assignable_areas(db))


@bp.post("/users")
def create() -> ResponseReturnValue:
    db = get_session()
    user = create_user(
        db,
        request.form.get("name", ""),
        request.form.get("role", ""),
        password=request.form.get("password") or None,
        areas=_codes(request.form.get("areas", "")),
        display_name=request.form.get("display_name") or None,
    )
    return redirect(url_for("admin.user", name=user.name), 303)


@bp.get("/users/<name>")
def user(name: str) -> ResponseReturnValue:
    db = get_session()
    u = get_user(db, name)
    return render_template("admin_user.html", user=u, areas=user_areas(db, u.id), roles=ROLES, token=None)


@bp.post("/users/<name>")
def update(name: str) -> ResponseReturnValue:
    db = get_session()
    u = get_user(db, name)
    areas = _codes(request.form["areas"]) if "areas" in request.form else None
    update_user(
        db, u, role=request.form.get("role", u.role), display_name=request.form.get("display_name"), areas=areas
    )
    return redirect(url_for("admin.user", name=u.name), 303)


@bp.post("/users/<name>/disable")
def disable(name: str) -> ResponseReturnValue:
    disable_user(get_session(), get_user(get_session(), name))
    return redirect(url_for("admin.user", name=name), 303)


@bp.post("/users/<name>/enable")
def enable(name: str) -> ResponseReturnValue:
    enable_user(get_session(), get_user(get_session(), name))
    return redirect(url_for("admin.user", name=name), 303)


@bp.post("/users/<name>/token")
def token(name: str) -> ResponseReturnValue:
    db = get_session()
    u = get_user(db, name)
    secret = issue_token(db, u)
    return render_template("admin_user.html", user=u, areas=user_areas(db, u.id), roles=ROLES, token=secret)


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    args = request.args
    since = _date(args.get("since"), "since")
    until = _date(args.get("until"), "until")
    page = whole_number(args.get("page"), "page", 1, 1, MAX_AUDIT_PAGES)
    entries = audit_entries(
        get_session(),
        table=args.get("table") or None,
        actor=args.get("actor") or None,
        action=args.get("action") or None,
        row_id=args.get("row_id") or None,
        since=since,
        until=until,
        page=page,
    )
    return render_template(
        "admin_audit.html",
        entries=[(e, audit_changes(e)) for e in entries],
        args=args,
        page=page,
        page_size=AUDIT_PAGE,
        actions=ACTIONS,
    )


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ParameterError(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None


@bp.get("/duplicates")
def duplicates() -> ResponseReturnValue:
    show = request.args.get("show", "open")
    return render_template("admin_duplicates.html", rows=candidates(get_session(), show), show=show)


@bp.post("/duplicates/<int:candidate_id>")
def decide(candidate_id: int) -> ResponseReturnValue:
    review_decision(get_session(), candidate_id, request.form.get("decision", ""), signed_in().name)
    return redirect(url_for("admin.duplicates", show=request.args.get("show", "open")), 303)


@bp.get("/standards")
def poverty_standards() -> ResponseReturnValue:
    from spatial.standards import deflators, standards

    db = get_session()
    return render_template("admin_standards.html", standards=standards(db), deflators=deflators(db))


@bp.post("/standards/<code>")
def edit_standard(code: str) -> ResponseReturnValue:
    from spatial.standards import update_standard

    update_standard(get_session(), code, request.form.to_dict())
    return redirect(url_for("admin.poverty_standards"), 303)


@bp.post("/deflators")
def edit_deflator() -> ResponseReturnValue:
    from spatial.standards import set_deflator

    f = request.form
    set_deflator(
        get_session(), f.get("year", ""), f.get("index", ""), f.get("provisional") == "on", f.get("source", "")
    )
    return redirect(url_for("admin.poverty_standards"), 303)


@bp.get("/rasters")
def rasters() -> ResponseReturnValue:
    return _rasters_page()


@bp.post("/rasters")
def upload_raster() -> ResponseReturnValue:
    """A GeoTIFF from the form: checked, stored as a COG and catalogued, or refused with the reason.
    It goes through the import registry (layer ``raster``) as ``sinhke import raster`` does, so
    it is an ``imports`` row too."""
    import shutil
    import tempfile
    from pathlib import Path

    from ingest.importing import ImportFileError, ImportOptions, run_import
    from ingest.raster import RasterMetadata
    from spatial.raster import RasterError

    f = request.form
    upload = request.files.get("file")
    work = Path(tempfile.mkdtemp(prefix="sinhke-raster-"))
    try:
        if upload is None or not upload.filename:
            raise ParameterError("file", "choose a GeoTIFF to upload")
        meta = RasterMetadata(
            hazard=f.get("hazard", ""),
            unit=f.get("unit") or None,
            return_period=_whole(f.get("return_period"), "return_period"),
            scenario=f.get("scenario") or None,
            epoch=f.get("epoch") or "baseline",
            source=f.get("source") or None,
            licence=f.get("licence") or None,
            name=f.get("name") or None,
        )
        replaces = _whole(f.get("replaces"), "replaces")
        path = work / "upload"
        upload.save(path)  # the size limits: the app's (413), then the raster store's (ingest_raster)
        options = ImportOptions(extra={"metadata": meta, "settings": current_app.config["SINHKE"]})
        report = run_import(get_session(), "raster", path, upload.filename, signed_in(), options)
        row, new = report.result
        if replaces is not None:
            from spatial.raster_catalogue import retire_raster

            retire_raster(get_session(), replaces, signed_in().name, replaced_by=row.id)
    except (RasterError, ParameterError, NotFound, ImportFileError) as exc:
        return _rasters_page(error=str(exc)), 400  # nothing stored: the request's transaction rolls back
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return redirect(url_for("admin.rasters", added=row.id, new=int(new)), 303)


@bp.post("/rasters/<int:raster_id>/retire")
def retire_raster_view(raster_id: int) -> ResponseReturnValue:
    """Take an entry off the map and the exposure results, optionally naming the entry that replaces it."""
    from spatial.raster_catalogue import retire_raster

    replaced_by = _whole(request.form.get("replaced_by"), "replaced_by")
    try:
        retire_raster(get_session(), raster_id, signed_in().name, replaced_by=replaced_by)
    except ParameterError as exc:
        return _rasters_page(error=str(exc)), 400
    return redirect(url_for("admin.rasters", retired=raster_id), 303)


@bp.post("/rasters/<int:raster_id>/restore")
def restore_raster_view(raster_id: int) -> ResponseReturnValue:
    from spatial.raster_catalogue import restore_raster

    restore_raster(get_session(), raster_id)
    return redirect(url_for("admin.rasters", restored=raster_id), 303)


def _rasters_page(error: str | None = None) -> str:
    from spatial.models import EPOCHS, HAZARDS
    from spatial.raster_catalogue import catalogue

    return render_template(
        "admin_rasters.html",
        rows=catalogue(get_session(), retired=True),
        hazards=HAZARDS,
        epochs=EPOCHS,
        error=error,
        form=request.form,
        added=request.args.get("added", type=int),
        new=request.args.get("new") == "1",
        retired=request.args.get("retired", type=int),
        restored=request.args.get("restored", type=int),
    )


def _whole(raw: str | None, name: str) -> int | None:
    """A positive whole number a column can hold, or None when the field is empty."""
    return whole_number(raw, name, 0, 1, MAX_ID) or None


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    """Every job, its schedule and latest runs; a running job shows what it is doing now."""
    from jobs.registry import load_all
    from jobs.runner import recent_runs
    from jobs.scheduler import next_runs

    runs = recent_runs(get_session())
    running = any(r.status == "running" for r in runs)
    upcoming = next_runs(current_app.config["SINHKE"].timezone)
    started = request.args.get("started")
    # after "Run now" the page reloads until the run's row exists (its process takes a moment to start)
    asked = request.args.get("asked", type=float)
    since = datetime.fromtimestamp(asked, UTC) if asked else datetime.now(UTC) - timedelta(minutes=1)
    waiting = bool(started) and not any(r.job == started and r.started_at >= since for r in runs)
    return render_template(
        "admin_jobs.html",
        jobs=load_all(),
        runs=runs,
        running=running,
        waiting=waiting,
        upcoming=upcoming,
        started=started,
        busy=request.args.get("busy"),
    )


@bp.post("/jobs/<name>/run")
def run_job_now(name: str) -> ResponseReturnValue:
    """ "Run now": the run starts in a process of its own; the page then follows its progress."""
    from jobs import JobError
    from jobs.runner import launch, running

    try:
        if running(get_session(), name) is not None:
            return redirect(url_for("admin.jobs", busy=name), 303)
        launch(current_app.config["SINHKE"], name)
    except JobError as exc:
        raise NotFound(str(exc)) from None
    asked = datetime.now(UTC).timestamp() - 1  # the database's clock may lag this one's a little
    return redirect(url_for("admin.jobs", started=name, asked=f"{asked:.0f}"), 303)


@bp.get("/forms")
def forms() -> ResponseReturnValue:
    return _forms_page()


@bp.post("/forms")
def upload_form() -> ResponseReturnValue:
    """An XLSForm from the page, checked as ``sinhke forms load`` checks it: a new version when it changed,
    "unchanged" when it did not, or refused with the file, sheet, row and column and nothing stored."""
    import tempfile
    from pathlib import Path

    from werkzeug.utils import secure_filename

    from ingest import IngestError
    from ingest.forms import load_form

    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ParameterError("file", "choose an XLSForm (.xlsx) to upload")
        name = secure_filename(upload.filename) or "form.xlsx"
        if not name.lower().endswith(".xlsx"):
            raise ParameterError("file", f"{upload.filename}: an XLSForm is an .xlsx workbook")
        with tempfile.TemporaryDirectory(prefix="sinhke-form-") as tmp:
            path = Path(tmp) / name
            upload.save(path)
            outcome = load_form(get_session(), path, current_app.config["SINHKE"].form_store)
    except (IngestError, ParameterError) as exc:
        return _forms_page(error=str(exc)), 400  # nothing stored: the request's transaction rolls back
    return redirect(url_for("admin.forms", form=outcome.form_id, version=outcome.version, status=outcome.status), 303)


@bp.get("/forms/<form_id>/<version>.xlsx")
def form_file(form_id: str, version: str) -> ResponseReturnValue:
    """The XLSForm a version was loaded from (kept by the upload, or the shipped file of that content)."""
    import hashlib

    from flask import send_file

    from ingest.forms import FORMS_DIR, stored_source
    from spatial.field import form_source

    source_name, sha = form_source(get_session(), form_id, version)
    kept = stored_source(current_app.config["SINHKE"].form_store, sha)
    shipped = FORMS_DIR / Path(source_name).name
    if not kept.is_file():
        if not (shipped.is_file() and hashlib.sha256(shipped.read_bytes()).hexdigest() == sha):
            raise NotFound(f"the file of form {form_id!r} version {version!r} was not kept")
        kept = shipped
    return send_file(
        kept,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{form_id}-{version}.xlsx",
    )


def _forms_page(error: str | None = None) -> str:
    from spatial.field import form_versions

    return render_template(
        "admin_forms.html",
        rows=form_versions(get_session()),
        error=error,
        form=request.args.get("form"),
        version=request.args.get("version"),
        status=request.args.get("status"),
    )
