"""classify_households: the status of every survey round under the standard in force that year."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jobs import JobError
from spatial.db import rowcount
from spatial.models import DEPRIVATION_COLUMNS, PovertyStandard

# Computed statuses are anti-joined against the stored ones, so only new or changed
# rows reach ON CONFLICT (a nightly run with nothing changed writes and locks nothing).
_CLASSIFY = """
INSERT INTO poverty_classifications
       (survey_round_id, standard_id, area_type, deprivations, status, classified_at)
SELECT n.survey_round_id, n.standard_id, n.area_type, n.deprivations, n.status, now()
FROM (
    SELECT r.id AS survey_round_id, CAST(:standard_id AS integer) AS standard_id, c.area_type,
           r.deprivations,
           CASE WHEN l.absolute_line IS NOT NULL AND r.income_per_person_month <= l.absolute_line
                     THEN 'poor'
                WHEN r.income_per_person_month <= l.income_line AND r.deprivations >= :min_deprivations
                     THEN 'poor'
                WHEN r.income_per_person_month <= l.income_line THEN 'near_poor'
                ELSE 'not_poor' END AS status
    FROM (SELECT id, household_id, surveyed_on, income_per_person_month,
                 ({deprivation_sum})::smallint AS deprivations
          FROM survey_rounds WHERE year BETWEEN :first_year AND :last_year) r
    JOIN household_units hu ON hu.household_id = r.household_id
    JOIN admin_units c ON c.id = hu.commune_id
                      AND c.valid_from <= r.surveyed_on
                      AND (c.valid_to IS NULL OR r.surveyed_on <= c.valid_to)
    JOIN poverty_lines l ON l.standard_id = :standard_id AND l.area_type = c.area_type
) n
LEFT JOIN poverty_classifications o ON o.survey_round_id = n.survey_round_id
WHERE (o.standard_id, o.area_type, o.deprivations, o.status)
      IS DISTINCT FROM (n.standard_id, n.area_type, n.deprivations, n.status)
ON CONFLICT (survey_round_id) DO UPDATE
   SET standard_id = EXCLUDED.standard_id, area_type = EXCLUDED.area_type,
       deprivations = EXCLUDED.deprivations, status = EXCLUDED.status,
       classified_at = EXCLUDED.classified_at
"""

# Rounds whose year no standard covers any more keep no stale status.
_FORGET_UNCOVERED = text("""
DELETE FROM poverty_classifications pc USING survey_rounds r
WHERE r.id = pc.survey_round_id
  AND NOT EXISTS (SELECT 1 FROM poverty_standards s
                  WHERE r.year BETWEEN s.first_year AND s.last_year)
""")


def deprivation_sum(indicators: list[str]) -> str:
    """SQL adding up a standard's indicators; names are allow-listed against the schema."""
    unknown = [name for name in indicators if name not in DEPRIVATION_COLUMNS]
    if unknown:
        raise JobError(
            f"poverty standard names unknown indicator(s) {unknown}; known: {', '.join(DEPRIVATION_COLUMNS)}"
        )
    if not indicators:
        return "0"
    return " + ".join(f"{name}::int" for name in indicators)


def classify_households(session: Session) -> int:
    """Classify (or reclassify) every round; returns rows inserted or changed."""
    rows = rowcount(session.execute(_FORGET_UNCOVERED))
    standards = session.scalars(select(PovertyStandard).order_by(PovertyStandard.first_year)).all()
    for std in standards:
        stmt = text(_CLASSIFY.format(deprivation_sum=deprivation_sum(list(std.indicators))))
        params = {
            "standard_id": std.id,
            "min_deprivations": std.min_deprivations,
            "first_year": std.first_year,
            "last_year": std.last_year,
        }
        rows += rowcount(session.execute(stmt, params))
    return rows
