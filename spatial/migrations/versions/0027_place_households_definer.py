"""Households placed by a definer-rights function, so an import by a scoped user places its rows

Revision ID: 0027
Revises: 0026

``place_households`` ran its statements with the caller's rights. The placement joins a commune
to its district and province, which a planner's scope does not show (they see their own communes
only), so households a planner imported got no ``household_units`` rows in the import's
transaction; the half-hourly job placed them later, and until then the planner's own households
were visible only through their recorded commune.

``sinhke_place_households(ids)`` runs the same three rules (the point's commune, else the recorded
commune, else the crosswalk's heaviest counterpart) for each boundary version as the table owner:
for the given household ids only (an import), or for every household not yet placed, after
forgetting deleted ones (``ids`` NULL: the job). It writes only what the rules derive from a
household's own point and commune, the same rows the job would write, and returns how many. The
statements are run by ``EXECUTE`` so each call is planned for its own case (two ids or all of
them), never a cached generic plan.
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INSERT = "INSERT INTO household_units (household_id, boundary, commune_id, district_id, province_id, method)"
PARENTS = """CASE WHEN p.level = 'district' THEN p.id END,
       CASE WHEN p.level = 'district' THEN pp.id ELSE p.id END,"""
PARENT_JOINS = """JOIN admin_units p ON p.id = c.parent_id
LEFT JOIN admin_units pp ON pp.id = p.parent_id"""
# $1 the boundary version, $2 the household ids; %s the ids condition (empty for all households)
UNPLACED = """  AND NOT EXISTS (SELECT 1 FROM household_units hu
                  WHERE hu.household_id = h.id AND hu.boundary = $1) %s"""

# Households with a point: the commune polygon that holds it (lowest id on a shared edge).
BY_POINT = f"""
{INSERT}
SELECT DISTINCT ON (h.id) h.id, c.boundary, c.id,
       {PARENTS}
       'point'
FROM households h
JOIN admin_units c ON c.level = 'commune' AND c.boundary = $1 AND ST_Intersects(c.geom, h.geom)
{PARENT_JOINS}
WHERE h.geom IS NOT NULL AND h.deleted_at IS NULL
{UNPLACED}
ORDER BY h.id, c.id
"""

# Without a usable point: the recorded commune where it is of this boundary version ...
BY_RECORD = f"""
{INSERT}
SELECT h.id, c.boundary, c.id,
       {PARENTS}
       'recorded'
FROM households h
JOIN admin_units c ON c.id = h.commune_id AND c.boundary = $1
{PARENT_JOINS}
WHERE h.deleted_at IS NULL
{UNPLACED}
"""

# ... else the crosswalk's heaviest counterpart of the recorded commune: an estimate.
BY_CROSSWALK = f"""
{INSERT}
SELECT DISTINCT ON (h.id) h.id, c.boundary, c.id,
       {PARENTS}
       'crosswalk'
FROM households h
JOIN admin_crosswalk x ON (x.old_unit_id = h.commune_id OR x.new_unit_id = h.commune_id)
JOIN admin_units c ON c.id = CASE WHEN x.old_unit_id = h.commune_id THEN x.new_unit_id
                                  ELSE x.old_unit_id END
                  AND c.boundary = $1
{PARENT_JOINS}
WHERE h.deleted_at IS NULL
{UNPLACED}
ORDER BY h.id, x.weight_area DESC, c.id
"""


def _run(statement: str) -> str:
    return (
        f"  EXECUTE format($q${statement}$q$, only_ids) USING boundary, ids;\n"
        "  GET DIAGNOSTICS n = ROW_COUNT;\n"
        "  total := total + n;\n"
    )


FUNCTION = (
    """
CREATE FUNCTION sinhke_place_households(ids int[] DEFAULT NULL) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $f$
DECLARE
  only_ids text := CASE WHEN ids IS NULL THEN '' ELSE 'AND h.id = ANY($2)' END;
  boundary text;
  n bigint;
  total bigint := 0;
BEGIN
  IF ids IS NULL THEN
    DELETE FROM household_units hu USING households h
    WHERE h.id = hu.household_id AND h.deleted_at IS NOT NULL;
    GET DIAGNOSTICS total = ROW_COUNT;
  END IF;
  FOREACH boundary IN ARRAY ARRAY['legacy', 'current'] LOOP
"""
    + _run(BY_POINT)
    + _run(BY_RECORD)
    + _run(BY_CROSSWALK)
    + """  END LOOP;
  RETURN total;
END $f$;
"""
)


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION sinhke_place_households(int[])")
