"""Place each household in its commune on each boundary version, once.

Area indicators then group by stored keys instead of joining points to polygons on
every query (a 1M-row ST_Contains join costs several times the GROUP BY itself).
"""

from __future__ import annotations

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from spatial.db import rowcount

# shared parts: the row written, and a commune's district (legacy only) and province
_PARTS = {
    "insert": "INSERT INTO household_units (household_id, boundary, commune_id, district_id, province_id, method)",
    "parents": "CASE WHEN p.level = 'district' THEN p.id END,\n"
    "       CASE WHEN p.level = 'district' THEN pp.id ELSE p.id END,",
    "parent_joins": "JOIN admin_units p ON p.id = c.parent_id\nLEFT JOIN admin_units pp ON pp.id = p.parent_id",
    "unplaced": "  AND NOT EXISTS (SELECT 1 FROM household_units hu\n"
    "                  WHERE hu.household_id = h.id AND hu.boundary = :boundary)",
}


def _sql(template: str) -> TextClause:
    return text(template.format(**_PARTS))


# Households with a point: the commune polygon that holds it (lowest id on a shared edge).
_BY_POINT = _sql("""
{insert}
SELECT DISTINCT ON (h.id) h.id, c.boundary, c.id,
       {parents}
       'point'
FROM households h
JOIN admin_units c ON c.level = 'commune' AND c.boundary = :boundary AND ST_Intersects(c.geom, h.geom)
{parent_joins}
WHERE h.geom IS NOT NULL AND h.deleted_at IS NULL
{unplaced}
ORDER BY h.id, c.id
""")

# Without a usable point: the recorded commune where it is of this boundary version ...
_BY_RECORD = _sql("""
{insert}
SELECT h.id, c.boundary, c.id,
       {parents}
       'recorded'
FROM households h
JOIN admin_units c ON c.id = h.commune_id AND c.boundary = :boundary
{parent_joins}
WHERE h.deleted_at IS NULL
{unplaced}
""")

# ... else the crosswalk's heaviest counterpart of the recorded commune: an estimate.
_BY_CROSSWALK = _sql("""
{insert}
SELECT DISTINCT ON (h.id) h.id, c.boundary, c.id,
       {parents}
       'crosswalk'
FROM households h
JOIN admin_crosswalk x ON (x.old_unit_id = h.commune_id OR x.new_unit_id = h.commune_id)
JOIN admin_units c ON c.id = CASE WHEN x.old_unit_id = h.commune_id THEN x.new_unit_id
                                  ELSE x.old_unit_id END
                  AND c.boundary = :boundary
{parent_joins}
WHERE h.deleted_at IS NULL
{unplaced}
ORDER BY h.id, x.weight_area DESC, c.id
""")

_DROP_DELETED = text("""
DELETE FROM household_units hu USING households h
WHERE h.id = hu.household_id AND h.deleted_at IS NOT NULL
""")


def place_households(session: Session) -> int:
    """Place households not yet placed; forget deleted ones. Returns rows written."""
    rows = rowcount(session.execute(_DROP_DELETED))
    for boundary in ("legacy", "current"):
        for stmt in (_BY_POINT, _BY_RECORD, _BY_CROSSWALK):
            rows += rowcount(session.execute(stmt, {"boundary": boundary}))
    return rows


def replace_placement(session: Session, household_ids: list[int]) -> None:
    """Forget the placement of households whose point or commune changed."""
    session.execute(text("DELETE FROM household_units WHERE household_id = ANY(:ids)"), {"ids": household_ids})
