"""area_indicators: counts, rates and incomes per unit and year on both boundary versions.

Rates are never averaged: counts are summed per unit from household placements and
the API divides them (poor / households).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.registry import register

_REFRESH = text("""
INSERT INTO area_indicators
       (unit_id, boundary, level, year, households, poor, near_poor,
        mean_income, median_income, estimated, computed_at)
SELECT CASE WHEN GROUPING(hu.commune_id) = 0 THEN hu.commune_id
            WHEN GROUPING(hu.district_id) = 0 THEN hu.district_id
            ELSE hu.province_id END,
       hu.boundary,
       CASE WHEN GROUPING(hu.commune_id) = 0 THEN 'commune'
            WHEN GROUPING(hu.district_id) = 0 THEN 'district'
            ELSE 'province' END,
       r.year,
       count(*),
       count(*) FILTER (WHERE pc.status = 'poor'),
       count(*) FILTER (WHERE pc.status = 'near_poor'),
       avg(r.income_per_person_month),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.income_per_person_month),
       bool_or(hu.method = 'crosswalk'),
       now()
FROM survey_rounds r
JOIN poverty_classifications pc ON pc.survey_round_id = r.id
JOIN household_units hu ON hu.household_id = r.household_id
GROUP BY GROUPING SETS ((hu.boundary, r.year, hu.commune_id),
                        (hu.boundary, r.year, hu.district_id),
                        (hu.boundary, r.year, hu.province_id))
HAVING GROUPING(hu.district_id) = 1 OR hu.district_id IS NOT NULL
""")


@register("area_indicators", "Households, poor, near-poor and incomes per unit and year",
          hour="1", minute="30")
def area_indicators(session: Session) -> int:
    """Recompute the whole table in one transaction (readers see old or new, never half)."""
    session.execute(text("DELETE FROM area_indicators"))
    return session.execute(_REFRESH).rowcount
