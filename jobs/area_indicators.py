"""area_indicators: counts, rates and incomes per unit and year on both boundary versions.

Rates are never averaged: counts are summed per unit from household placements and
the API divides them (poor / households).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.db import rowcount

# Aggregating household rows (aliased hu: household_units) to every unit of both versions
# at once: communes, legacy districts and provinces. Shared by the area jobs.
UNIT_ID = """CASE WHEN GROUPING(hu.commune_id) = 0 THEN hu.commune_id
            WHEN GROUPING(hu.district_id) = 0 THEN hu.district_id
            ELSE hu.province_id END"""
UNIT_LEVEL = """CASE WHEN GROUPING(hu.commune_id) = 0 THEN 'commune'
            WHEN GROUPING(hu.district_id) = 0 THEN 'district'
            ELSE 'province' END"""


def unit_grouping(*keys: str) -> str:
    """GROUP BY over (boundary, keys…) for communes, legacy districts and provinces.

    One rollup chain (province → district → commune), so the rows are sorted once; the
    HAVING drops the empty district level of the 2025 boundaries (no districts)."""
    k = ", ".join(("hu.boundary", *keys))
    return (
        f"GROUP BY {k}, hu.province_id, ROLLUP (hu.district_id, hu.commune_id)\n"
        "HAVING GROUPING(hu.commune_id) = 0 OR GROUPING(hu.district_id) = 1 "
        "OR hu.district_id IS NOT NULL"
    )


_REFRESH = text(f"""
INSERT INTO area_indicators
       (unit_id, boundary, level, year, households, poor, near_poor,
        mean_income, median_income, estimated, computed_at)
SELECT {UNIT_ID}, hu.boundary, {UNIT_LEVEL}, r.year,
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
{unit_grouping("r.year")}
""")


def area_indicators(session: Session) -> int:
    """Recompute the whole table in one transaction (readers see old or new, never half)."""
    session.execute(text("DELETE FROM area_indicators"))
    return rowcount(session.execute(_REFRESH))
