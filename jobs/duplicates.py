"""duplicates: likely duplicate household records and enrolments the programme forbids.

A pair of household records is a candidate when they share an ID-card number, or when
the same head-of-household name appears in the same village within ``distance_m``.
A household is a double enrolment when it takes part in two models of one exclusive
group at once (by default: large-livestock loans, i.e. cow banks and buffalo loans).
Candidates keep a stable key, so an admin's decision (duplicate / distinct) sticks
across runs; candidates no longer found are marked not current, never deleted.
"""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.orm import Session

#: model types a household may hold only one of at a time (G: programme rules vary by province)
EXCLUSIVE_GROUPS: dict[str, tuple[str, ...]] = {
    "large-livestock loan": ("cow_bank", "buffalo_loan"),
}
DISTANCE_M = float(os.environ.get("SINHKE_DUPLICATE_DISTANCE_M", "200"))

_UPSERT = """
INSERT INTO duplicate_candidates AS d (kind, household_a, household_b, pair_key, reasons, distance_m)
{select}
ON CONFLICT (kind, household_a, household_b, pair_key) DO UPDATE
   SET reasons = EXCLUDED.reasons, distance_m = EXCLUDED.distance_m,
       last_seen = now(), current = true
"""

_PAIRS = text(
    _UPSERT.format(
        select="""
SELECT 'household_pair', a, b, '', jsonb_agg(DISTINCT reason ORDER BY reason),
       min(ST_Distance(ha.geom::geography, hb.geom::geography))
FROM (
    SELECT x.id AS a, y.id AS b, 'same ID-card number' AS reason
    FROM households x JOIN households y
      ON y.id_card_number = x.id_card_number AND y.id > x.id
    WHERE x.deleted_at IS NULL AND y.deleted_at IS NULL
    UNION ALL
    SELECT x.id, y.id, 'same head of household in the same village within '
           || round(CAST(:distance AS numeric)) || ' m'
    FROM households x JOIN households y
      ON y.village_id = x.village_id AND lower(y.head_name) = lower(x.head_name) AND y.id > x.id
     AND ST_DWithin(x.geom::geography, y.geom::geography, :distance)
    WHERE x.deleted_at IS NULL AND y.deleted_at IS NULL
) found
JOIN households ha ON ha.id = a JOIN households hb ON hb.id = b
GROUP BY a, b
"""
    )
)

_ENROLMENTS = text(
    _UPSERT.format(
        select="""
SELECT 'double_enrolment', p1.household_id, p1.household_id, m1.code || ' + ' || m2.code,
       jsonb_build_array('in two ' || :group_name || ' models at once: ' || m1.code || ', ' || m2.code),
       NULL
FROM model_participants p1
JOIN livelihood_models m1 ON m1.id = p1.model_id AND m1.deleted_at IS NULL
JOIN model_participants p2 ON p2.household_id = p1.household_id AND p2.model_id > p1.model_id
JOIN livelihood_models m2 ON m2.id = p2.model_id AND m2.deleted_at IS NULL
WHERE m1.model_type = ANY(:types) AND m2.model_type = ANY(:types)
  AND (p1.left_on IS NULL OR p1.left_on > p2.joined_on)
  AND (p2.left_on IS NULL OR p2.left_on > p1.joined_on)
"""
    )
)


def find_duplicates(session: Session) -> int:
    """Refresh candidates; decisions stay. Returns the number of current candidates."""
    session.execute(text("UPDATE duplicate_candidates SET current = false WHERE current"))
    session.execute(_PAIRS, {"distance": DISTANCE_M})
    for group_name, types in EXCLUSIVE_GROUPS.items():
        session.execute(_ENROLMENTS, {"types": list(types), "group_name": group_name})
    return session.scalar(text("SELECT count(*) FROM duplicate_candidates WHERE current")) or 0
