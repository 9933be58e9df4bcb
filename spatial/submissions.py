"""Submissions of a form, as KoboToolbox shows them: every current visit filled with it, with
its review status (received, approved, on hold, rejected) and every answer labelled from its
form; filters for the table page and its CSV/XLSX export; reviewers set the status.

Scope is PostgreSQL's: visits, and their reviews, outside the caller's communes are not there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError, SinhkeError
from spatial.accounts import Principal
from spatial.forms import answer_warnings, labelled_answers
from spatial.models import REVIEW_STATUSES, Visit, VisitReview

#: roles that review submissions (the others read them)
REVIEWER_ROLES = ("admin", "planner")
PAGE_ROWS, EXPORT_ROWS = 500, 50_000
MAX_NOTE = 1000


class ReviewForbidden(SinhkeError):
    """The caller's role does not review submissions."""


@dataclass(frozen=True)
class SubmissionFilters:
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None
    commune: str | None = None
    by: str | None = None
    q: str | None = None

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments (for links that keep them)."""
        values = {"from": self.date_from, "to": self.date_to, "status": self.status, "commune": self.commune}
        values |= {"by": self.by, "q": self.q}
        return {k: str(v) for k, v in values.items() if v is not None}


def _date(args: dict[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ParameterError(name, f"{raw!r} is not a date YYYY-MM-DD") from exc


def parse_filters(args: dict[str, str]) -> SubmissionFilters:
    """Filters from query arguments: ``from``, ``to`` (local dates), ``status``, ``commune``
    (2025 commune code), ``by`` (who submitted) and ``q`` (target code or name)."""
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in REVIEW_STATUSES:
        raise ParameterError("status", f"unknown review status {status!r}", list(REVIEW_STATUSES))
    f = SubmissionFilters(
        date_from=_date(args, "from"),
        date_to=_date(args, "to"),
        status=status,
        commune=(args.get("commune") or "").strip() or None,
        by=(args.get("by") or "").strip() or None,
        q=(args.get("q") or "").strip()[:100] or None,
    )
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ParameterError("to", "the end date comes before the start date")
    return f


_FORMS = text("""
    WITH latest AS (
      SELECT DISTINCT ON (form_id) form_id, title_vi, title_en, target FROM form_definitions ORDER BY form_id, id DESC)
    SELECT l.form_id AS form, l.title_vi, l.title_en, l.target,
           count(v.id) AS submissions,
           count(v.id) FILTER (WHERE coalesce(rv.status, 'received') = 'received') AS received,
           count(v.id) FILTER (WHERE rv.status = 'approved') AS approved,
           count(v.id) FILTER (WHERE rv.status = 'on_hold') AS on_hold,
           count(v.id) FILTER (WHERE rv.status = 'rejected') AS rejected
    FROM latest l
    LEFT JOIN visits v ON v.form_id = l.form_id AND NOT EXISTS (SELECT 1 FROM visits x WHERE x.replaces_id = v.id)
    LEFT JOIN visit_reviews rv ON rv.visit_id = v.id
    GROUP BY l.form_id, l.title_vi, l.title_en, l.target
    ORDER BY l.form_id""")


def form_summaries(session: Session) -> list[dict[str, Any]]:
    """Every form (titles of its latest version) and how many current submissions it has, by status."""
    return [
        {**row, "title": {"vi": row["title_vi"], "en": row["title_en"]}} for row in session.execute(_FORMS).mappings()
    ]


_VERSIONS = text(
    "SELECT version, title_vi, title_en, definition FROM form_definitions WHERE form_id = :form ORDER BY id"
)

_ROWS = text("""
    SELECT v.id, v.visited_at, v.version, v.form_version, r.submitted_by AS submitted_by,
           CASE WHEN v.version > 1 THEN v.submitted_by END AS edited_by, v.answers, v.accuracy_m,
           coalesce(m.code, w.code, s.code) AS target_code, coalesce(m.name, w.name, s.name) AS target_name,
           CASE WHEN m.id IS NOT NULL THEN 'livelihood_model'
                WHEN w.id IS NOT NULL THEN 'infrastructure_work' ELSE 'water_scheme' END AS target,
           c.code AS commune_code, c.name AS commune,
           coalesce(rv.status, 'received') AS status, rv.note AS review_note,
           rv.updated_by AS reviewed_by, rv.updated_at AS reviewed_at,
           EXISTS (SELECT 1 FROM visit_photos p WHERE p.visit_id = v.id) AS has_photo,
           count(*) OVER () AS total
    FROM visits v
    JOIN visits r ON r.id = v.root_id
    LEFT JOIN livelihood_models m ON m.id = v.model_id
    LEFT JOIN infrastructure_works w ON w.id = v.work_id
    LEFT JOIN water_schemes s ON s.id = v.scheme_id
    LEFT JOIN admin_units c ON c.id = v.commune_id
    LEFT JOIN visit_reviews rv ON rv.visit_id = v.id
    WHERE v.form_id = :form AND NOT EXISTS (SELECT 1 FROM visits x WHERE x.replaces_id = v.id)
      AND (CAST(:date_from AS date) IS NULL OR (v.visited_at AT TIME ZONE :zone)::date >= CAST(:date_from AS date))
      AND (CAST(:date_to AS date) IS NULL OR (v.visited_at AT TIME ZONE :zone)::date <= CAST(:date_to AS date))
      AND (CAST(:status AS text) IS NULL OR coalesce(rv.status, 'received') = CAST(:status AS text))
      AND (CAST(:commune AS text) IS NULL OR c.code = CAST(:commune AS text))
      AND (CAST(:by AS text) IS NULL OR r.submitted_by = CAST(:by AS text))
      AND (CAST(:q AS text) IS NULL OR coalesce(m.code, w.code, s.code) ILIKE :pattern
           OR coalesce(m.name, w.name, s.name) ILIKE :pattern)
    ORDER BY v.visited_at DESC, v.id
    LIMIT :limit""")

_CHOICES = text("""
    SELECT DISTINCT c.code, c.name, r.submitted_by
    FROM visits v JOIN visits r ON r.id = v.root_id LEFT JOIN admin_units c ON c.id = v.commune_id
    WHERE v.form_id = :form""")


def _columns(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions of every version of a form: the latest version's, in its order, then those
    only older versions asked (a visit keeps the version it was filled with)."""
    fields: dict[str, dict[str, Any]] = {}
    for v in reversed(versions):
        for f in v["definition"]["fields"]:
            if f["type"] != "note":
                fields.setdefault(f["name"], f)
    return list(fields.values())


def submissions(
    session: Session, form_id: str, filters: SubmissionFilters, *, zone: str, limit: int = PAGE_ROWS
) -> dict[str, Any]:
    """A form's current submissions, newest first, as the filters ask: ``columns`` (its
    questions), ``rows`` (each with every answer labelled, its review and the answers the
    worker confirmed as unusual), ``total`` matching, and the communes and submitters to
    filter by."""
    versions = [dict(r) for r in session.execute(_VERSIONS, {"form": form_id}).mappings()]
    if not versions:
        raise NotFound(f"no form {form_id!r}")
    definitions = {v["version"]: v["definition"] for v in versions}
    columns = _columns(versions)
    labels = {f["name"]: f["label"] for f in columns}
    params = {
        "form": form_id,
        "zone": zone,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "status": filters.status,
        "commune": filters.commune,
        "by": filters.by,
        "q": filters.q,
        "pattern": f"%{filters.q}%" if filters.q else None,
        "limit": limit,
    }
    rows, total = [], 0
    for r in session.execute(_ROWS, params).mappings():
        total = r["total"]
        definition = definitions.get(r["form_version"], {"fields": columns})
        row = dict(r)
        row.pop("total")
        row["id"] = str(r["id"])
        row["answers_labelled"] = {a["name"]: a for a in labelled_answers(definition["fields"], r["answers"])}
        row["warnings"] = [w.field for w in answer_warnings(definition, r["answers"])]
        row["warning_labels"] = [labels.get(n, {"vi": n, "en": n}) for n in row["warnings"]]
        row["photo"] = f"/api/visits/{r['id']}/photo" if r["has_photo"] else None
        rows.append(row)
    communes: dict[str, str] = {}
    submitters: set[str] = set()
    for c in session.execute(_CHOICES, {"form": form_id}).mappings():
        if c["code"]:
            communes[c["code"]] = c["name"]
        submitters.add(c["submitted_by"])
    latest = versions[-1]
    return {
        "form": form_id,
        "title": {"vi": latest["title_vi"], "en": latest["title_en"]},
        "columns": columns,
        "rows": rows,
        "total": total,
        "limit": limit,
        "communes": sorted(communes.items(), key=lambda kv: kv[1]),
        "submitters": sorted(submitters),
    }


def set_review(session: Session, who: Principal, visit_id: str, status: str, note: str | None = None) -> None:
    """A reviewer's verdict on the current version of a visit (audited; who and when are kept)."""
    if who.role not in REVIEWER_ROLES:
        raise ReviewForbidden(f"the {who.role} role reads submissions but does not review them")
    if status not in REVIEW_STATUSES:
        raise ParameterError("status", f"unknown review status {status!r}", list(REVIEW_STATUSES))
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise ParameterError("note", f"at most {MAX_NOTE} characters")
    try:
        vid = uuid.UUID(str(visit_id))
    except ValueError as exc:
        raise NotFound(f"no visit {visit_id!r}") from exc
    if session.get(Visit, vid) is None:
        raise NotFound(f"no visit {visit_id}")
    if session.scalar(text("SELECT EXISTS (SELECT 1 FROM visits WHERE replaces_id = :v)"), {"v": vid}):
        raise ParameterError("visit", "this version was corrected since: review the current version")
    stmt = insert(VisitReview).values(visit_id=vid, status=status, note=note)
    session.execute(stmt.on_conflict_do_update(index_elements=["visit_id"], set_={"status": status, "note": note}))
