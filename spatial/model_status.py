"""Model status: its computation over a set of models, and the read side (one model's facts,
status and visits; the visits due).

``refresh_model_status`` is the one computation: the nightly ``model_status`` job runs it
over every model, and visit sync over the visited model in the visit's own transaction, so
a synced visit counts at once; it is computed by a definer-rights function
(``sinhke_refresh_model_status``) over all of a model's rows. Pages read the table; they never
recompute it. Scope is PostgreSQL's: under the application role a model outside the caller's
communes, its status and its visits are simply not there.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.forms import answer_warnings, labelled_answers

#: the programme's days are Vietnam's days, whatever the server's clock zone
PROGRAMME_TZ = "Asia/Ho_Chi_Minh"
DAYS_PER_YEAR = 365.25

#: the computation itself is ``sinhke_refresh_model_status`` (migration 0029), run as the table owner
_REFRESH = text("SELECT sinhke_refresh_model_status(CAST(:ids AS integer[]), :as_of, :tz, :year)")


def programme_today() -> date:
    """Today in Vietnam: the day model status is reckoned as of."""
    return datetime.now(ZoneInfo(PROGRAMME_TZ)).date()


def refresh_model_status(session: Session, as_of: date, model_ids: Collection[int] | None = None) -> int:
    """Compute the status of these models (every model when None) as of a day, set-based, in the
    caller's transaction; rows of deleted models among them go. Returns the number of models.

    The function runs as the table owner: a model's status counts all its visits and its whole
    ledger whoever syncs, and a request does not plan ten CTEs under its scope policies."""
    ids = None if model_ids is None else sorted(set(model_ids))
    if ids == []:
        return 0
    return int(session.scalar(_REFRESH, {"ids": ids, "as_of": as_of, "tz": PROGRAMME_TZ, "year": DAYS_PER_YEAR}) or 0)


#: the answers a model page shows for each form (the rest stay in the JSON)
KEY_ANSWERS: dict[str, tuple[str, ...]] = {
    "cow_bank": (
        "household_code",
        "animal_tags_present",
        "births_female",
        "births_male",
        "deaths",
        "death_cause",
        "vaccinations",
        "pass_on_done",
        "condition",
    ),
    "free_range_chicken": (
        "household_code",
        "flock_size",
        "deaths",
        "death_cause",
        "sold",
        "sales_vnd",
        "disease_outbreak",
    ),
    "medicinal_plant": ("household_code", "species", "area_m2", "stage", "harvested", "harvest_kg", "price_vnd_per_kg"),
    "general": ("household_code", "participants_present", "progress", "income_vnd"),
}
MAX_VISITS = 200
DEFAULT_DUE_LIMIT, MAX_DUE_LIMIT = 1000, 5000
STATUS_FIELDS = (
    "as_of",
    "visits",
    "visits_12m",
    "last_visit_at",
    "last_visit_by",
    "last_visit_form",
    "interval_days",
    "next_visit_due",
    "overdue_days",
    "herd_size",
    "flock_size",
    "deaths_12m",
    "animal_years_12m",
    "mortality_12m",
    "pass_ons_due",
    "pass_ons_overdue",
    "birds_sold_12m",
    "sales_vnd_12m",
    "area_m2",
    "stage",
    "harvest_kg_12m",
    "harvest_value_vnd_12m",
    "computed_at",
)

_MODEL = text("""
    SELECT m.id, m.code, m.name, m.model_type, m.status, m.start_date, m.funding_project, m.funding_subproject,
           m.budget_allocated_vnd, m.budget_disbursed_vnd, m.value_chain_partner, c.code AS commune_code,
           c.name AS commune, ST_AsGeoJSON(ST_PointOnSurface(m.geom), 6) AS point,
           (SELECT count(*) FROM model_participants p WHERE p.model_id = m.id AND p.left_on IS NULL) AS participants
    FROM livelihood_models m LEFT JOIN admin_units c ON c.id = m.commune_id
    WHERE m.code = :code AND m.deleted_at IS NULL""")
_STATUS = text(f"SELECT {', '.join(STATUS_FIELDS)} FROM model_status WHERE model_id = :m")  # noqa: S608 - fixed names
_VISITS = text("""
    SELECT v.id, v.visited_at, r.submitted_by AS visited_by, v.submitted_by AS edited_by, v.version, v.form_id,
           v.form_version, v.accuracy_m, v.answers, f.definition -> 'fields' AS fields,
           EXISTS (SELECT 1 FROM visit_photos p WHERE p.visit_id = v.id) AS has_photo,
           coalesce(rv.status, 'received') AS review
    FROM visits v
    JOIN visits r ON r.id = v.root_id
    LEFT JOIN visit_reviews rv ON rv.visit_id = v.id
    LEFT JOIN form_definitions f ON f.form_id = v.form_id AND f.version = v.form_version
    WHERE v.model_id = :m AND NOT EXISTS (SELECT 1 FROM visits s WHERE s.replaces_id = v.id)
    ORDER BY v.visited_at DESC, v.id LIMIT :limit""")


def _key_answers(form_id: str, labelled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = KEY_ANSWERS.get(form_id, ())
    return sorted((a for a in labelled if a["name"] in keys), key=lambda a: keys.index(a["name"]))


def model_overview(session: Session, code: str) -> dict[str, Any]:
    """A model's facts, its status as of the last job run (None before the first), and its
    visits (current versions, newest first, with the key answers labelled from their form)."""
    row = session.execute(_MODEL, {"code": code}).mappings().first()
    if row is None:
        raise NotFound(f"no livelihood model {code!r}")
    model = dict(row)
    model_id = model.pop("id")
    status = session.execute(_STATUS, {"m": model_id}).mappings().first()
    visits = []
    for v in session.execute(_VISITS, {"m": model_id, "limit": MAX_VISITS}).mappings():
        labelled = labelled_answers(v["fields"], v["answers"])
        visits.append(
            {
                "id": str(v["id"]),
                "visited_at": v["visited_at"],
                "visited_by": v["visited_by"],
                "edited_by": v["edited_by"] if v["version"] > 1 else None,
                "version": v["version"],
                "form": v["form_id"],
                "form_version": v["form_version"],
                "accuracy_m": v["accuracy_m"],
                "key_answers": _key_answers(v["form_id"], labelled),
                "all_answers": labelled,
                "review": v["review"],
                "warnings": [w.field for w in answer_warnings({"fields": v["fields"] or []}, v["answers"])],
                "answers": v["answers"],
                "photo": f"/api/visits/{v['id']}/photo" if v["has_photo"] else None,
            }
        )
    return {
        "model": model,
        "status": dict(status) if status else None,
        "visits": visits,
        "has_chain": model["model_type"] in ("cow_bank", "buffalo_loan"),
    }


def visits_due(session: Session, args: dict[str, str]) -> dict[str, Any]:
    """Active models of the caller's communes, most overdue first; never-visited ones flagged.

    ``overdue=true`` keeps only the overdue; ``limit`` (≤ 5,000)."""
    overdue = args.get("overdue", "false")
    if overdue not in ("true", "false"):
        raise ParameterError("overdue", "true or false", ["true", "false"])
    raw = args.get("limit", str(DEFAULT_DUE_LIMIT))
    try:
        limit = int(raw)
        if not 1 <= limit <= MAX_DUE_LIMIT:
            raise ValueError
    except ValueError:
        raise ParameterError("limit", f"an integer from 1 to {MAX_DUE_LIMIT}", None) from None
    rows = (
        session.execute(
            text("""
        SELECT m.code, m.name, m.model_type, c.code AS commune_code, c.name AS commune,
               s.last_visit_at, s.last_visit_by, s.visits, s.interval_days, s.next_visit_due, s.overdue_days,
               s.last_visit_at IS NULL AS never_visited, s.as_of
        FROM model_status s
        JOIN livelihood_models m ON m.id = s.model_id AND m.deleted_at IS NULL
        LEFT JOIN admin_units c ON c.id = m.commune_id
        WHERE s.next_visit_due IS NOT NULL AND (NOT :overdue OR s.overdue_days > 0)
        ORDER BY s.overdue_days DESC, s.last_visit_at IS NOT NULL, s.next_visit_due, m.code
        LIMIT :limit"""),
            {"overdue": overdue == "true", "limit": limit},
        )
        .mappings()
        .all()
    )
    as_of = rows[0]["as_of"] if rows else session.scalar(text("SELECT max(as_of) FROM model_status"))
    out = [{k: v for k, v in r.items() if k != "as_of"} for r in rows]
    return {
        "as_of": as_of,
        "count": len(out),
        "overdue": sum(1 for r in out if r["overdue_days"] > 0),
        "never_visited": sum(1 for r in out if r["never_visited"]),
        "rows": out,
    }
