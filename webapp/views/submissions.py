"""Submissions per form (``/submissions``): every current visit with its answers labelled in the
page's language, filters, review status set by reviewers, and CSV/XLSX export with labels."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from spatial import ParameterError
from spatial.exports import MIME, table_file
from spatial.forms import in_language
from spatial.submissions import (
    EXPORT_ROWS,
    PAGE_ROWS,
    REVIEWER_ROLES,
    form_summaries,
    parse_filters,
    set_review,
    submissions,
)
from webapp.auth import current_principal, signed_in
from webapp.db import get_session
from webapp.labels import REVIEW_STATUSES, STATUS_LABELS

bp = Blueprint("submissions", __name__)
EXPORTS = ("csv", "xlsx")


def status_labels() -> dict[str, str]:
    """The review statuses in order, named in the reader's language."""
    return {status: str(STATUS_LABELS[status]) for status in REVIEW_STATUSES}


def _lang() -> str:
    return "en" if str(get_locale()) == "en" else "vi"


@bp.get("/submissions")
def index() -> ResponseReturnValue:
    return render_template("submissions_index.html", forms=form_summaries(get_session()), statuses=status_labels())


@bp.get("/submissions/<form_id>")
def table(form_id: str) -> ResponseReturnValue:
    fmt = request.args.get("format", "html")
    if fmt not in ("html", *EXPORTS):
        raise ParameterError("format", f"unknown format {fmt!r}", ["html", *EXPORTS])
    filters = parse_filters(request.args.to_dict())
    zone = current_app.config["SINHKE"].timezone
    data = submissions(get_session(), form_id, filters, zone=zone, limit=PAGE_ROWS if fmt == "html" else EXPORT_ROWS)
    if fmt != "html":
        columns, rows = _export_table(data, _lang())
        return Response(
            table_file(fmt, columns, rows, f"{form_id}-submissions", zone=zone),
            mimetype=MIME[fmt],
            headers={"Content-Disposition": f'attachment; filename="{form_id}-submissions.{fmt}"'},
        )
    who = current_principal()
    return render_template(
        "submissions.html",
        data=data,
        filters=filters,
        args=filters.as_args(),
        statuses=status_labels(),
        lang=_lang(),
        can_review=who is not None and who.role in REVIEWER_ROLES,
    )


def _export_table(data: dict[str, Any], lang: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Headers and cells in one language: question labels, choice labels, review statuses."""
    fixed = {
        "visited_at": _("Visited at"),
        "target_code": _("Code"),
        "target_name": _("Name"),
        "commune": _("Commune"),
        "submitted_by": _("Submitted by"),
        "edited_by": _("Edited by"),
        "version": _("Version"),
        "form_version": _("Form version"),
        "status": _("Review status"),
        "review_note": _("Review note"),
        "reviewed_by": _("Reviewed by"),
        "reviewed_at": _("Reviewed at"),
        "accuracy_m": _("GPS accuracy (m)"),
        "warnings": _("Unusual answers confirmed"),
    }
    headers = list(fixed.values())
    questions: list[tuple[str, str]] = []
    for field in data["columns"]:
        header = field["label"].get(lang) or field["name"]
        if header in headers:
            header = f"{header} ({field['name']})"
        headers.append(header)
        questions.append((field["name"], header))
    labels = {f["name"]: f["label"].get(lang) or f["name"] for f in data["columns"]}
    statuses = status_labels()
    rows = []
    for r in data["rows"]:
        reviewed = r["reviewed_by"] is not None
        row = {fixed[k]: r[k] for k in ("visited_at", "target_code", "target_name", "commune", "submitted_by")}
        row |= {
            fixed["edited_by"]: r["edited_by"],
            fixed["version"]: r["version"],
            fixed["form_version"]: r["form_version"],
            fixed["status"]: statuses[r["status"]],
            fixed["review_note"]: r["review_note"],
            fixed["reviewed_by"]: r["reviewed_by"] if reviewed else None,
            fixed["reviewed_at"]: r["reviewed_at"] if reviewed else None,
            fixed["accuracy_m"]: r["accuracy_m"],
            fixed["warnings"]: ", ".join(labels.get(n, n) for n in r["warnings"]) or None,
        }
        for name, header in questions:
            answer = r["answers_labelled"].get(name)
            row[header] = in_language(answer["display"], lang) if answer else None
        rows.append(row)
    return headers, rows


@bp.post("/submissions/<form_id>/<visit_id>/review")
def review(form_id: str, visit_id: str) -> ResponseReturnValue:
    set_review(get_session(), signed_in(), visit_id, request.form.get("status", ""), request.form.get("note"))
    back = request.form.get("back", "")
    if not back.startswith(f"/submissions/{form_id}"):  # only back to this form's table
        back = url_for("submissions.table", form_id=form_id)
    return redirect(f"{back}#visit-{visit_id}", 303)
