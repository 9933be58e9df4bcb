"""A point's commune found without cutting the commune's polygon: a scoped import at the admin's pace

``sinhke_place_asset`` ranked the communes a geometry touches by how much of it lies in each; for
a point it computed ``ST_NPoints(ST_Intersection(commune, point))``, which converts the whole
commune boundary (thousands of vertices) to GEOS for every point, and is 1 for every commune the
point touches anyway. A scoped user's import runs that once per row in its own scope check and
once more per row in the ``households_scope`` WITH CHECK (``sinhke_asset_placeable``), so 20,000
households took minutes for a planner where the admin, who is never checked, took seconds.

For a point the answer is unchanged (every candidate ties at 1, so the lowest id wins, as before);
lines and areas are ranked as before.

Revision ID: 0026
Revises: 0025
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BODY = """
CREATE OR REPLACE FUNCTION sinhke_place_asset(g geometry, recorded int, OUT commune_id int, OUT method text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
  method := CASE ST_Dimension(g) WHEN 0 THEN 'point' WHEN 1 THEN 'length' ELSE 'area' END;
  IF method = 'point' THEN
    SELECT c.id INTO commune_id FROM admin_units c
    WHERE c.level = 'commune' AND c.boundary = 'current' AND ST_Intersects(c.geom, g)
    ORDER BY {point_order}c.id
    LIMIT 1;
  ELSE
    SELECT c.id INTO commune_id FROM admin_units c
    WHERE c.level = 'commune' AND c.boundary = 'current' AND ST_Intersects(c.geom, g)
    ORDER BY CASE method
               WHEN 'length' THEN ST_Length(ST_Transform(ST_Intersection(c.geom, g), 3405))
               ELSE ST_Area(ST_Transform(ST_Intersection(c.geom, g), 3405)) END DESC,
             c.id
    LIMIT 1;
  END IF;
  IF commune_id IS NOT NULL THEN RETURN; END IF;
  -- outside every 2025 commune: the recorded commune if it is one, else its heaviest counterpart
  method := 'recorded';
  SELECT u.id INTO commune_id FROM admin_units u WHERE u.id = recorded AND u.boundary = 'current';
  IF commune_id IS NOT NULL THEN RETURN; END IF;
  method := 'crosswalk';
  SELECT x.new_unit_id INTO commune_id FROM admin_crosswalk x WHERE x.old_unit_id = recorded
  ORDER BY x.weight_area DESC, x.new_unit_id LIMIT 1;
  IF commune_id IS NOT NULL THEN RETURN; END IF;
  -- a legacy commune the crosswalk does not know: scoped as before, by that commune
  method := 'recorded';
  commune_id := recorded;
END $$;
"""


def upgrade() -> None:
    op.execute(BODY.format(point_order=""))


def downgrade() -> None:
    # 0012's ranking of a point (the same order, at the old cost)
    op.execute(BODY.format(point_order="ST_NPoints(ST_Intersection(c.geom, g))::float8 DESC, "))
