"""income_change: how incomes moved and who crossed the poverty line, per unit and year.

Per household, the change since the previous round ('annual', consecutive years only)
and since its first round ('period'), nominal and in constant prices (price_deflators);
per unit of both boundary versions: mean and median change, households that escaped
poverty, fell back into it (poor before, out, poor again) or became poor for the
first time, and near-poor counts before and after (the near-poor reduction rate).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.area_indicators import UNIT_ID, UNIT_LEVEL, unit_grouping
from spatial.db import rowcount

_REFRESH = text(f"""
WITH rounds AS (
    SELECT r.household_id, r.year, r.income_per_person_month AS income, pc.status,
           r.income_per_person_month * 100.0 / d.index AS income_real,
           -- poor in any round before the previous one
           coalesce(bool_or(pc.status = 'poor') OVER (
               PARTITION BY r.household_id ORDER BY r.year
               ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING), false) AS poor_earlier,
           lag(r.year) OVER w AS prev_year, lag(r.income_per_person_month) OVER w AS prev_income,
           lag(r.income_per_person_month * 100.0 / d.index) OVER w AS prev_real,
           lag(pc.status) OVER w AS prev_status,
           first_value(r.year) OVER w AS first_year,
           first_value(r.income_per_person_month) OVER w AS first_income,
           first_value(r.income_per_person_month * 100.0 / d.index) OVER w AS first_real,
           first_value(pc.status) OVER w AS first_status
    FROM survey_rounds r
    JOIN poverty_classifications pc ON pc.survey_round_id = r.id
    LEFT JOIN price_deflators d ON d.year = r.year
    WINDOW w AS (PARTITION BY r.household_id ORDER BY r.year)
),
pairs AS (
    SELECT household_id, 'annual' AS span, year, prev_year, income - prev_income AS change,
           income_real - prev_real AS change_real, status, prev_status,
           status = 'poor' AND prev_status <> 'poor' AND poor_earlier AS fell_back,
           status = 'poor' AND prev_status <> 'poor' AND NOT poor_earlier AS newly_poor
    FROM rounds WHERE prev_year = year - 1
    UNION ALL
    SELECT household_id, 'period', year, first_year, income - first_income,
           income_real - first_real, status, first_status,
           false, status = 'poor' AND first_status <> 'poor'
    FROM rounds WHERE year > first_year
)
INSERT INTO area_income_change
       (unit_id, boundary, level, span, year, prev_year, households, mean_change, median_change,
        mean_change_real, escaped, fell_back, newly_poor, poor_prev, near_poor_prev, near_poor_now,
        estimated, computed_at)
SELECT {UNIT_ID}, hu.boundary, {UNIT_LEVEL}, p.span, p.year, min(p.prev_year),
       count(*), avg(p.change), percentile_cont(0.5) WITHIN GROUP (ORDER BY p.change),
       avg(p.change_real),
       count(*) FILTER (WHERE p.prev_status = 'poor' AND p.status <> 'poor'),
       count(*) FILTER (WHERE p.fell_back),
       count(*) FILTER (WHERE p.newly_poor),
       count(*) FILTER (WHERE p.prev_status = 'poor'),
       count(*) FILTER (WHERE p.prev_status = 'near_poor'),
       count(*) FILTER (WHERE p.status = 'near_poor'),
       bool_or(hu.method = 'crosswalk'), now()
FROM pairs p
JOIN household_units hu ON hu.household_id = p.household_id
{unit_grouping("p.span", "p.year")}
""")


def income_change(session: Session) -> int:
    """Recompute the whole table in one transaction."""
    session.execute(text("DELETE FROM area_income_change"))
    return rowcount(session.execute(_REFRESH))
