"""fallback_risk: households that may fall (back) into poverty, for planners to act on.

Looked at in each household's latest round: households that escaped poverty within the
last two rounds, or are near-poor now, are flagged when their income fell since the
previous round, or when their location is highly exposed to a climate hazard (the
``exposure`` job's household values beyond the thresholds of ``exposure_thresholds``:
flood depth > 0.15 m, landslide class >= 4, severe drought). Each row says which:
``income_fell`` and ``exposed_to`` (the hazards), so planners can act on either or both.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.db import rowcount

_REFRESH = text("""
WITH exposed AS (
    SELECT e.household_id, array_agg(DISTINCT r.hazard ORDER BY r.hazard) AS hazards
    FROM household_exposure e JOIN rasters r ON r.id = e.raster_id AND r.retired_at IS NULL
    WHERE e.exposed
    GROUP BY e.household_id
)
INSERT INTO fallback_risk (household_id, year, reason, status, income, income_change, income_fell, exposed_to,
                           computed_at)
SELECT h.household_id, year,
       CASE WHEN poor_recently THEN 'recently_escaped' ELSE 'near_poor' END,
       status, income, income - prev_income, income < prev_income, coalesce(x.hazards, '{}'), now()
FROM (
    SELECT r.household_id, r.year, r.income_per_person_month AS income, pc.status,
           lag(r.income_per_person_month) OVER w AS prev_income,
           coalesce(bool_or(pc.status = 'poor') OVER (
               PARTITION BY r.household_id ORDER BY r.year
               ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING), false) AS poor_recently,
           row_number() OVER (PARTITION BY r.household_id ORDER BY r.year DESC) AS newest
    FROM survey_rounds r
    JOIN poverty_classifications pc ON pc.survey_round_id = r.id
    WINDOW w AS (PARTITION BY r.household_id ORDER BY r.year)
) h
LEFT JOIN exposed x ON x.household_id = h.household_id
WHERE newest = 1 AND prev_income IS NOT NULL AND status <> 'poor'
  AND (poor_recently OR status = 'near_poor')
  AND (income < prev_income OR x.hazards IS NOT NULL)
""")


def fallback_risk(session: Session) -> int:
    session.execute(text("DELETE FROM fallback_risk"))
    return rowcount(session.execute(_REFRESH))
