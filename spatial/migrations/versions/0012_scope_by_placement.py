"""Scope models, works, water schemes, their visits and results by where they are on the 2025 boundaries

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:12:40.118204

Until now these rows were scoped by their recorded (usually legacy) commune, and a user of a 2025
commune sees every legacy commune linked to it by the crosswalk: where a legacy commune was split,
the whole of it, so things in the part that went to the neighbouring 2025 commune too (issue #15).
Now each model, work and water scheme is placed in one 2025 commune (``asset_units``), like a
household: the commune holding its point, else the one holding most of its line's length or its
area (a tie: the lowest id); a thing outside every commune keeps its recorded commune when that is a
2025 one, else the heaviest crosswalk counterpart of it. Triggers place a row when it is written and
re-place everything when the 2025 boundaries change, in the same transaction. The policies then
read the placement: a scoped user sees exactly the things inside their 2025 communes, on either
boundary version of the map.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"
#: asset table -> its kind (the vocabulary of asset_exposure.asset_kind)
ASSETS = {"livelihood_models": "model", "infrastructure_works": "work", "water_schemes": "water_scheme"}
#: the policies this migration replaces, as 0003, 0007 and 0010 created them (for the downgrade)
OLD_SCOPES = {
    "livelihood_models": ("sinhke_unit_visible(commune_id)",) * 2,
    "infrastructure_works": ("sinhke_unit_visible(commune_id)",) * 2,
    "water_schemes": ("sinhke_unit_visible(commune_id)",) * 2,
    "visits": ("sinhke_unit_visible(commune_id)",) * 2,
    "asset_exposure": ("sinhke_unit_visible(commune_id)",) * 2,
}


def _visible(kind: str, column: str) -> str:
    """Is the asset in ``column`` (of kind ``kind``) placed in one of the caller's communes?

    Written into each policy, not behind a function: SQL functions holding a subquery are never
    inlined, so one would run as a query per row. As an EXISTS the planner probes the placement per
    row or hashes the caller's placements once, whichever its estimate favours; an uncorrelated IN
    forced the hash, whose set-up cost it then charged again inside every nested policy (model
    participants, ledger, status: EXISTS over the models) and so pushed map queries over the JIT
    threshold."""
    return f"EXISTS (SELECT 1 FROM sinhke_visible_assets('{kind}') a WHERE a = {column})"


def _asset_scope(table: str, kind: str) -> tuple[str, str]:
    """USING: where the row is placed; a row not placed yet (the statement inserting it, as in
    INSERT ... RETURNING) where its geometry puts it. WITH CHECK: where the new geometry puts it
    (the stored placement is the old one until the statement's triggers have run)."""
    unplaced = f"NOT EXISTS (SELECT 1 FROM asset_units au WHERE au.asset_kind = '{kind}' AND au.asset_id = {table}.id)"
    using = (
        f"sinhke_scope_all() OR {_visible(kind, f'{table}.id')} "
        f"OR ({unplaced} AND sinhke_asset_placeable({table}.geom, {table}.commune_id))"
    )
    return using, f"sinhke_asset_placeable({table}.geom, {table}.commune_id)"


_VISIT = " OR ".join(
    ["sinhke_scope_all()"]
    + [
        _visible(kind, f"visits.{column}")
        for kind, column in (("model", "model_id"), ("work", "work_id"), ("water_scheme", "scheme_id"))
    ]
)
_RESULT = (
    "sinhke_scope_all() OR CASE asset_exposure.asset_kind "
    + " ".join(f"WHEN '{kind}' THEN {_visible(kind, 'asset_exposure.asset_id')}" for kind in ASSETS.values())
    + " END"
)
#: table -> (USING, WITH CHECK) on the placement. Visits, and job results keyed by an asset, follow
#: their asset's placement; participants, the ledger, model status, photos and scheme households
#: already follow their model, scheme or visit through EXISTS under those tables' policies.
NEW_SCOPES = {
    **{table: _asset_scope(table, kind) for table, kind in ASSETS.items()},
    "visits": (_VISIT, _VISIT),
    "asset_exposure": (_RESULT, _RESULT),
}


def upgrade() -> None:
    op.create_table(
        "asset_units",
        sa.Column("asset_kind", sa.String(length=12), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=9), nullable=False),
        sa.CheckConstraint("asset_kind IN ('model','work','water_scheme')", name=op.f("ck_asset_units_asset_kind")),
        sa.CheckConstraint(
            "method IN ('point','length','area','recorded','crosswalk')", name=op.f("ck_asset_units_method")
        ),
        sa.ForeignKeyConstraint(["commune_id"], ["admin_units.id"], name=op.f("fk_asset_units_commune_id_admin_units")),
        sa.PrimaryKeyConstraint("asset_kind", "asset_id", name=op.f("pk_asset_units")),
    )
    op.create_index(op.f("ix_asset_units_commune_id"), "asset_units", ["commune_id"], unique=False)
    # the application reads placements (its policies do); only the definer-rights triggers write them
    op.execute(f"REVOKE ALL ON asset_units FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT ON asset_units TO {APP_ROLE}")

    # where a thing lies on the 2025 boundaries. Definer rights: it must see every commune, not the
    # caller's (a line mostly in the neighbouring commune is the neighbour's, whoever asks)
    op.execute("""
    CREATE FUNCTION sinhke_place_asset(g geometry, recorded int, OUT commune_id int, OUT method text)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
    BEGIN
      method := CASE ST_Dimension(g) WHEN 0 THEN 'point' WHEN 1 THEN 'length' ELSE 'area' END;
      SELECT c.id INTO commune_id FROM admin_units c
      WHERE c.level = 'commune' AND c.boundary = 'current' AND ST_Intersects(c.geom, g)
      ORDER BY CASE method
                 WHEN 'point' THEN ST_NPoints(ST_Intersection(c.geom, g))::float8
                 WHEN 'length' THEN ST_Length(ST_Transform(ST_Intersection(c.geom, g), 3405))
                 ELSE ST_Area(ST_Transform(ST_Intersection(c.geom, g), 3405)) END DESC,
               c.id
      LIMIT 1;
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
    """)
    # kept current in the writing transaction: an edit or an import is placed at once
    op.execute("""
    CREATE FUNCTION sinhke_place_asset_row() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM asset_units WHERE asset_kind = TG_ARGV[0] AND asset_id = OLD.id;
        RETURN NULL;
      END IF;
      IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        DELETE FROM asset_units WHERE asset_kind = TG_ARGV[0] AND asset_id = OLD.id;
      END IF;
      INSERT INTO asset_units (asset_kind, asset_id, commune_id, method)
      SELECT TG_ARGV[0], NEW.id, p.commune_id, p.method FROM sinhke_place_asset(NEW.geom, NEW.commune_id) p
      ON CONFLICT (asset_kind, asset_id) DO UPDATE SET commune_id = EXCLUDED.commune_id, method = EXCLUDED.method
      WHERE (asset_units.commune_id, asset_units.method) IS DISTINCT FROM (EXCLUDED.commune_id, EXCLUDED.method);
      RETURN NULL;
    END $$;
    CREATE FUNCTION sinhke_place_assets() RETURNS bigint
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE placed bigint;
    BEGIN
      WITH assets AS (
        SELECT 'model' AS kind, id, geom, commune_id FROM livelihood_models
        UNION ALL SELECT 'work', id, geom, commune_id FROM infrastructure_works
        UNION ALL SELECT 'water_scheme', id, geom, commune_id FROM water_schemes),
      written AS (
        INSERT INTO asset_units (asset_kind, asset_id, commune_id, method)
        SELECT a.kind, a.id, p.commune_id, p.method FROM assets a, sinhke_place_asset(a.geom, a.commune_id) p
        ON CONFLICT (asset_kind, asset_id) DO UPDATE SET commune_id = EXCLUDED.commune_id, method = EXCLUDED.method
        WHERE (asset_units.commune_id, asset_units.method) IS DISTINCT FROM (EXCLUDED.commune_id, EXCLUDED.method)
        RETURNING 1)
      SELECT count(*) INTO placed FROM written;
      RETURN placed;
    END $$;
    CREATE FUNCTION sinhke_place_assets_again() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
      PERFORM sinhke_place_assets();
      RETURN NULL;
    END $$;
    """)
    for table, kind in ASSETS.items():
        op.execute(
            f"CREATE TRIGGER {table}_place AFTER INSERT OR UPDATE OF geom, commune_id OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION sinhke_place_asset_row('{kind}')"
        )
    # new or redrawn communes move what lies in them (a rare, administrative edit: all re-placed)
    op.execute(
        "CREATE TRIGGER admin_units_place_assets AFTER INSERT OR UPDATE OF geom, boundary, level ON admin_units "
        "FOR EACH STATEMENT EXECUTE FUNCTION sinhke_place_assets_again()"
    )
    op.execute("SELECT sinhke_place_assets()")

    # visibility: the caller's placements as a set (a plain SQL function, inlined into the policies'
    # subqueries), and whether a geometry may be written by the caller
    op.execute("""
    CREATE FUNCTION sinhke_visible_assets(kind text) RETURNS SETOF int LANGUAGE sql STABLE AS $$
      SELECT au.asset_id FROM asset_units au JOIN user_visible_units v ON v.unit_id = au.commune_id
      WHERE au.asset_kind = kind AND v.user_id = sinhke_user_id() $$;
    CREATE FUNCTION sinhke_asset_placeable(g geometry, recorded int) RETURNS boolean LANGUAGE sql STABLE AS $$
      SELECT sinhke_scope_all() OR sinhke_unit_visible((sinhke_place_asset(g, recorded)).commune_id) $$;
    """)
    _replace_policies(NEW_SCOPES)


def downgrade() -> None:
    _replace_policies(OLD_SCOPES)
    op.execute("""
    DROP FUNCTION sinhke_asset_placeable(geometry, int);
    DROP FUNCTION sinhke_visible_assets(text);
    DROP TRIGGER admin_units_place_assets ON admin_units;
    """)
    for table in ASSETS:
        op.execute(f"DROP TRIGGER {table}_place ON {table}")
    op.execute("""
    DROP FUNCTION sinhke_place_assets_again();
    DROP FUNCTION sinhke_place_assets();
    DROP FUNCTION sinhke_place_asset_row();
    DROP FUNCTION sinhke_place_asset(geometry, int);
    """)
    op.drop_index(op.f("ix_asset_units_commune_id"), table_name="asset_units")
    op.drop_table("asset_units")


def _replace_policies(scopes: dict[str, tuple[str, str]]) -> None:
    for table, (using, check) in scopes.items():
        op.execute(f"DROP POLICY {table}_scope ON {table}")
        op.execute(f"CREATE POLICY {table}_scope ON {table} TO {APP_ROLE} USING ({using}) WITH CHECK ({check})")
