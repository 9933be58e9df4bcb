"""fallback_risk: households that may fall (back) into poverty, for planners to act on.

Flagged in each household's latest round when its income fell since the previous round
and it either escaped poverty within the last two rounds or is near-poor now. Household
exposure to climate hazards joins this once the climate-risk work lands.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.registry import register

_REFRESH = text("""
INSERT INTO fallback_risk (household_id, year, reason, status, income, income_change, computed_at)
SELECT household_id, year,
       CASE WHEN poor_recently THEN 'recently_escaped' ELSE 'near_poor' END,
       status, income, income - prev_income, now()
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
WHERE newest = 1 AND income < prev_income AND status <> 'poor'
  AND (poor_recently OR status = 'near_poor')
""")


@register("fallback_risk", "Households at risk of falling back into poverty", hour="1", minute="50")
def fallback_risk(session: Session) -> int:
    session.execute(text("DELETE FROM fallback_risk"))
    return session.execute(_REFRESH).rowcount
