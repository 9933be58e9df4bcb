"""Model status: its computation over a set of models, and the read side (one model's facts,
status and visits; the visits due).

``refresh_model_status`` is the one computation: the nightly ``model_status`` job runs it
over every model, and visit sync over the visited model in the visit's own transaction, so
a synced visit counts at once. Pages read the table; they never recompute it. Scope is
PostgreSQL's: under the application role a model outside the caller's communes, its status
and its visits are simply not there.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.db import rowcount
from spatial.forms import answer_warnings, labelled_answers

#: the programme's days are Vietnam's days, whatever the server's clock zone
PROGRAMME_TZ = "Asia/Ho_Chi_Minh"
DAYS_PER_YEAR = 365.25

_REFRESH = text("""
WITH win AS (
    SELECT CAST(:as_of AS date) AS as_of,
           CAST(CAST(:as_of AS date) - interval '12 months' AS date) + 1 AS start
),
cur AS (  -- the current version of every visit to a model, up to the day
    SELECT v.model_id, v.id, v.visited_at, v.form_id, v.answers,
           CAST(v.visited_at AT TIME ZONE :tz AS date) AS day,
           (SELECT r.submitted_by FROM visits r WHERE r.id = v.root_id) AS author
    FROM visits v, win
    WHERE v.model_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM visits s WHERE s.replaces_id = v.id)
      AND CAST(v.visited_at AT TIME ZONE :tz AS date) <= win.as_of
      AND (:every OR v.model_id = ANY(CAST(:ids AS integer[])))
),
counts AS (
    SELECT c.model_id, count(*) AS visits,
           count(*) FILTER (WHERE c.day >= win.start) AS visits_12m,
           sum(CAST(c.answers ->> 'deaths' AS numeric))
               FILTER (WHERE c.form_id = 'free_range_chicken' AND c.day >= win.start) AS bird_deaths,
           avg(CAST(c.answers ->> 'flock_size' AS numeric))
               FILTER (WHERE c.form_id = 'free_range_chicken' AND c.day >= win.start) AS mean_flock,
           sum(coalesce(CAST(c.answers ->> 'sold' AS numeric), 0))
               FILTER (WHERE c.form_id = 'free_range_chicken' AND c.day >= win.start) AS sold,
           sum(coalesce(CAST(c.answers ->> 'sales_vnd' AS numeric), 0))
               FILTER (WHERE c.form_id = 'free_range_chicken' AND c.day >= win.start) AS sales,
           sum(coalesce(CAST(c.answers ->> 'harvest_kg' AS numeric), 0))
               FILTER (WHERE c.form_id = 'medicinal_plant' AND c.day >= win.start) AS harvest_kg,
           sum(coalesce(CAST(c.answers ->> 'harvest_kg' AS numeric)
                        * CAST(c.answers ->> 'price_vnd_per_kg' AS numeric), 0))
               FILTER (WHERE c.form_id = 'medicinal_plant' AND c.day >= win.start) AS harvest_value
    FROM cur c, win GROUP BY c.model_id
),
last AS (
    SELECT DISTINCT ON (model_id) model_id, id, visited_at, day, author, form_id
    FROM cur ORDER BY model_id, visited_at DESC, id
),
flock AS (
    SELECT DISTINCT ON (model_id) model_id, CAST(answers ->> 'flock_size' AS integer) AS flock_size
    FROM cur WHERE form_id = 'free_range_chicken' AND answers ? 'flock_size'
    ORDER BY model_id, visited_at DESC, id
),
plot AS (
    SELECT DISTINCT ON (model_id) model_id, CAST(answers ->> 'area_m2' AS double precision) AS area_m2,
           answers ->> 'stage' AS stage
    FROM cur WHERE form_id = 'medicinal_plant'
    ORDER BY model_id, visited_at DESC, id
),
herd AS (  -- live animals held on the day: a holding covers it (death and sale end holdings)
    SELECT h.model_id, count(DISTINCT h.animal_id) AS herd_size
    FROM animal_holdings h JOIN animals a ON a.id = h.animal_id, win
    WHERE h.held_from <= win.as_of AND (h.held_to IS NULL OR h.held_to > win.as_of)
      AND (a.status = 'alive' OR h.held_to IS NOT NULL) AND (:every OR h.model_id = ANY(CAST(:ids AS integer[])))
    GROUP BY h.model_id
),
exposure AS (  -- animal-days held in the 12 months (holdings are [held_from, held_to))
    SELECT h.model_id,
           sum(greatest(0, least(coalesce(h.held_to, win.as_of + 1), win.as_of + 1)
                           - greatest(h.held_from, win.start))) AS animal_days
    FROM animal_holdings h, win WHERE :every OR h.model_id = ANY(CAST(:ids AS integer[])) GROUP BY h.model_id
),
deaths AS (
    SELECT e.model_id, count(*) AS deaths
    FROM animal_events e, win
    WHERE e.kind = 'death' AND e.occurred_on BETWEEN win.start AND win.as_of
      AND (:every OR e.model_id = ANY(CAST(:ids AS integer[])))
    GROUP BY e.model_id
),
pass_ons AS (
    SELECT model_id, count(*) FILTER (WHERE status = 'due') AS due,
           count(*) FILTER (WHERE status = 'overdue') AS overdue
    FROM pass_on_obligations WHERE :every OR model_id = ANY(CAST(:ids AS integer[])) GROUP BY model_id
),
status AS (
    SELECT m.id AS model_id, m.model_type, win.as_of,
           coalesce(n.visits, 0) AS visits, coalesce(n.visits_12m, 0) AS visits_12m,
           l.id AS last_visit_id, l.visited_at AS last_visit_at, l.author AS last_visit_by,
           l.form_id AS last_visit_form, vs.interval_days,
           CASE WHEN m.status = 'active' THEN coalesce(l.day, m.start_date) + vs.interval_days END AS next_visit_due,
           n.bird_deaths, n.mean_flock, n.sold, n.sales, n.harvest_kg, n.harvest_value,
           hd.herd_size, ex.animal_days, coalesce(d.deaths, 0) AS ledger_deaths,
           po.due AS pass_ons_due, po.overdue AS pass_ons_overdue,
           f.flock_size, p.area_m2, p.stage
    FROM livelihood_models m CROSS JOIN win
    LEFT JOIN visit_schedules vs ON vs.model_type = m.model_type
    LEFT JOIN counts n ON n.model_id = m.id
    LEFT JOIN last l ON l.model_id = m.id
    LEFT JOIN flock f ON f.model_id = m.id
    LEFT JOIN plot p ON p.model_id = m.id
    LEFT JOIN herd hd ON hd.model_id = m.id
    LEFT JOIN exposure ex ON ex.model_id = m.id
    LEFT JOIN deaths d ON d.model_id = m.id
    LEFT JOIN pass_ons po ON po.model_id = m.id
    WHERE m.deleted_at IS NULL AND (:every OR m.id = ANY(CAST(:ids AS integer[])))
)
INSERT INTO model_status (
    model_id, as_of, visits, visits_12m, last_visit_id, last_visit_at, last_visit_by, last_visit_form,
    interval_days, next_visit_due, overdue_days, herd_size, flock_size, deaths_12m, animal_years_12m,
    mortality_12m, pass_ons_due, pass_ons_overdue, birds_sold_12m, sales_vnd_12m, area_m2, stage,
    harvest_kg_12m, harvest_value_vnd_12m, computed_at)
SELECT model_id, as_of, visits, visits_12m, last_visit_id, last_visit_at, last_visit_by, last_visit_form,
       interval_days, next_visit_due, CASE WHEN next_visit_due IS NOT NULL THEN greatest(0, as_of - next_visit_due) END,
       CASE WHEN large THEN coalesce(herd_size, 0) END,
       flock_size,
       CASE WHEN large THEN ledger_deaths WHEN chickens THEN CAST(bird_deaths AS integer) END,
       CASE WHEN large THEN coalesce(animal_days, 0) / :year WHEN chickens THEN CAST(mean_flock AS float) END,
       CASE WHEN large AND animal_days > 0 THEN ledger_deaths / (animal_days / :year)
            WHEN chickens AND mean_flock > 0 THEN CAST(bird_deaths / mean_flock AS float) END,
       CASE WHEN large THEN coalesce(pass_ons_due, 0) END,
       CASE WHEN large THEN coalesce(pass_ons_overdue, 0) END,
       CAST(sold AS integer),
       CAST(round(sales) AS bigint),
       area_m2, stage,
       CAST(harvest_kg AS float),
       CAST(round(harvest_value) AS bigint),
       now()
FROM (SELECT s.*, s.model_type IN ('cow_bank', 'buffalo_loan') AS large,
             s.model_type = 'free_range_chicken' AND s.mean_flock IS NOT NULL AS chickens
      FROM status s) x
ON CONFLICT (model_id) DO UPDATE SET
    as_of = EXCLUDED.as_of,
    visits = EXCLUDED.visits,
    visits_12m = EXCLUDED.visits_12m,
    last_visit_id = EXCLUDED.last_visit_id,
    last_visit_at = EXCLUDED.last_visit_at,
    last_visit_by = EXCLUDED.last_visit_by,
    last_visit_form = EXCLUDED.last_visit_form,
    interval_days = EXCLUDED.interval_days,
    next_visit_due = EXCLUDED.next_visit_due,
    overdue_days = EXCLUDED.overdue_days,
    herd_size = EXCLUDED.herd_size,
    flock_size = EXCLUDED.flock_size,
    deaths_12m = EXCLUDED.deaths_12m,
    animal_years_12m = EXCLUDED.animal_years_12m,
    mortality_12m = EXCLUDED.mortality_12m,
    pass_ons_due = EXCLUDED.pass_ons_due,
    pass_ons_overdue = EXCLUDED.pass_ons_overdue,
    birds_sold_12m = EXCLUDED.birds_sold_12m,
    sales_vnd_12m = EXCLUDED.sales_vnd_12m,
    area_m2 = EXCLUDED.area_m2,
    stage = EXCLUDED.stage,
    harvest_kg_12m = EXCLUDED.harvest_kg_12m,
    harvest_value_vnd_12m = EXCLUDED.harvest_value_vnd_12m,
    computed_at = EXCLUDED.computed_at
""")


def programme_today() -> date:
    """Today in Vietnam: the day model status is reckoned as of."""
    return datetime.now(ZoneInfo(PROGRAMME_TZ)).date()


def refresh_model_status(session: Session, as_of: date, model_ids: Collection[int] | None = None) -> int:
    """Compute the status of these models (every model when None) as of a day, set-based, in the
    caller's transaction; rows of deleted models among them go. Returns the number of models."""
    every = model_ids is None
    params = {"every": every, "ids": [] if every else sorted(set(model_ids or ())), "as_of": as_of}
    session.execute(
        text("""
        DELETE FROM model_status s
        WHERE (:every OR s.model_id = ANY(CAST(:ids AS integer[])))
          AND NOT EXISTS (SELECT 1 FROM livelihood_models m WHERE m.id = s.model_id AND m.deleted_at IS NULL)"""),
        params,
    )
    return rowcount(session.execute(_REFRESH, {**params, "tz": PROGRAMME_TZ, "year": DAYS_PER_YEAR}))


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
