"""Model status refreshed by a definer-rights function, so a synced visit does not pay for the scope policies

Revision ID: 0029
Revises: 0028

Visit sync recomputes the visited model's status in its own transaction. Under the application
role that one statement (ten CTEs over visits, the animal ledger and the pass-on obligations) was
planned again on every request with the scope policies of each table nested in it: 10–18 ms a
visit on the 20,000-household demo, against under 3 ms for the same statement as the owner, and
half of a single post's time.

``sinhke_refresh_model_status(ids, as_of, tz, year)`` runs the computation as the table owner:
for the given models (``ids``), or every model (``ids`` NULL: the nightly job), after dropping
the rows of deleted models among them; it returns how many models it wrote. A model's status is a
fact of the model (all its visits, its whole ledger), not of whoever synced the visit, so it is
computed over every row. It writes only what the rules derive, the same rows the job writes.
The two cases are two static statements, so PL/pgSQL keeps a plan for each per connection and the
per-model one is an index lookup, never a scan planned for "every model"; the function uses those
generic plans always (``plan_cache_mode``): PostgreSQL's own choice kept planning the statement
afresh per call, 3.3 ms against 1.2 ms with the cached plan for a model of 100 visits.
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

#: the computation as ``spatial.model_status`` ran it at 0028 (its parameters: :every, :ids,
#: :as_of, :tz, :year), kept here as it was
REFRESH = """
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
"""


def _statement(ids: bool) -> str:
    """REFRESH for the given models (``ids``) or for every model, on the function's arguments."""
    sql = REFRESH.replace("CAST(:ids AS integer[])", "p_ids").replace(":as_of", "p_as_of")
    sql = sql.replace(":tz", "p_tz").replace(":year", "p_year")
    return sql.replace(":every OR ", "false OR " if ids else "true OR ")


FUNCTION = f"""
CREATE FUNCTION sinhke_refresh_model_status(p_ids int[], p_as_of date, p_tz text, p_year float8) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET plan_cache_mode = force_generic_plan AS $f$
DECLARE
  n bigint;
BEGIN
  IF p_ids IS NULL THEN
    DELETE FROM model_status s
    WHERE NOT EXISTS (SELECT 1 FROM livelihood_models m WHERE m.id = s.model_id AND m.deleted_at IS NULL);
    {_statement(False)};
  ELSE
    DELETE FROM model_status s
    WHERE s.model_id = ANY(p_ids)
      AND NOT EXISTS (SELECT 1 FROM livelihood_models m WHERE m.id = s.model_id AND m.deleted_at IS NULL);
    {_statement(True)};
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $f$;
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION sinhke_refresh_model_status(int[], date, text, float8) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION sinhke_refresh_model_status(int[], date, text, float8) TO sinhke_app")


def downgrade() -> None:
    op.execute("DROP FUNCTION sinhke_refresh_model_status(int[], date, text, float8)")
