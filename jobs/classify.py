"""classify_households: the status of every survey round under the standard in force that year."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jobs import JobError
from spatial.db import rowcount
from spatial.models import DEPRIVATION_COLUMNS, PovertyStandard

# Computed statuses are anti-joined against the stored ones, so only new or changed
# rows reach ON CONFLICT (a nightly run with nothing changed writes and locks nothing).
#
# A household whose every water scheme is not functional (``water_schemes.status``, which the
# ``scheme_functionality`` job keeps from the meters and visit reports) lacks domestic water now,
# whatever its last survey said: its latest round counts ``d_water`` as deprived, with the reason.
_CLASSIFY = """
WITH water_lost AS (
    SELECT wh.household_id,
           string_agg(s.code || ' (' || coalesce(s.status_reported_on::text, '?') || '): '
                      || coalesce(s.status_reason, 'not functional'), '; ' ORDER BY s.code) AS reason
    FROM water_scheme_households wh
    JOIN water_schemes s ON s.id = wh.scheme_id AND s.deleted_at IS NULL
    WHERE wh.connected_on IS NULL OR wh.connected_on <= current_date
    GROUP BY wh.household_id
    HAVING bool_and(s.status = 'not_functional'))
INSERT INTO poverty_classifications
       (survey_round_id, standard_id, area_type, deprivations, status, water_reason, classified_at)
SELECT n.survey_round_id, n.standard_id, n.area_type, n.deprivations, n.status, n.water_reason, now()
FROM (
    SELECT r.id AS survey_round_id, CAST(:standard_id AS integer) AS standard_id, c.area_type,
           r.deprivations, r.water_reason,
           CASE WHEN l.absolute_line IS NOT NULL AND r.income_per_person_month <= l.absolute_line
                     THEN 'poor'
                WHEN r.income_per_person_month <= l.income_line AND r.deprivations >= :min_deprivations
                     THEN 'poor'
                WHEN r.income_per_person_month <= l.income_line THEN 'near_poor'
                ELSE 'not_poor' END AS status
    FROM (SELECT sr.id, sr.household_id, sr.surveyed_on, sr.income_per_person_month,
                 ({deprivation_sum})::smallint AS deprivations, w.reason AS water_reason
          FROM survey_rounds sr
          LEFT JOIN water_lost w ON {water_counts} AND w.household_id = sr.household_id AND NOT sr.d_water
               AND sr.year = (SELECT max(x.year) FROM survey_rounds x WHERE x.household_id = sr.household_id)
          WHERE sr.year BETWEEN :first_year AND :last_year) r
    JOIN household_units hu ON hu.household_id = r.household_id
    JOIN admin_units c ON c.id = hu.commune_id
                      AND c.valid_from <= r.surveyed_on
                      AND (c.valid_to IS NULL OR r.surveyed_on <= c.valid_to)
    JOIN poverty_lines l ON l.standard_id = :standard_id AND l.area_type = c.area_type
) n
LEFT JOIN poverty_classifications o ON o.survey_round_id = n.survey_round_id
WHERE (o.standard_id, o.area_type, o.deprivations, o.status, o.water_reason)
      IS DISTINCT FROM (n.standard_id, n.area_type, n.deprivations, n.status, n.water_reason)
ON CONFLICT (survey_round_id) DO UPDATE
   SET standard_id = EXCLUDED.standard_id, area_type = EXCLUDED.area_type,
       deprivations = EXCLUDED.deprivations, status = EXCLUDED.status, water_reason = EXCLUDED.water_reason,
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
    # d_water is also deprived when the household's schemes stopped working (water_lost above)
    return " + ".join(
        "(sr.d_water OR w.reason IS NOT NULL)::int" if name == "d_water" else f"sr.{name}::int" for name in indicators
    )


def classify_households(session: Session) -> int:
    """Classify (or reclassify) every round; returns rows inserted or changed."""
    rows = rowcount(session.execute(_FORGET_UNCOVERED))
    standards = session.scalars(select(PovertyStandard).order_by(PovertyStandard.first_year)).all()
    for std in standards:
        indicators = list(std.indicators)
        water_counts = "true" if "d_water" in indicators else "false"
        stmt = text(_CLASSIFY.format(deprivation_sum=deprivation_sum(indicators), water_counts=water_counts))
        params = {
            "standard_id": std.id,
            "min_deprivations": std.min_deprivations,
            "first_year": std.first_year,
            "last_year": std.last_year,
        }
        rows += rowcount(session.execute(stmt, params))
    return rows
