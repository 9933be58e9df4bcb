"""Vector tiles and OGC API: per-layer data versions moved by triggers, a tile cache keyed by scope

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

APP_ROLE = "sinhke_app"


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: table -> the tile layers that read it (spatial.vector_tiles.TILE_LAYERS says the same from the
#: layers' side; a test holds the two together). Job result tables are here too, so a job that
#: writes results moves the version of the layers that show them.
LAYER_TABLES = {
    "admin_units": (
        "communes",
        "districts",
        "villages",
        "households",
        "livelihood_models",
        "infrastructure_works",
        "water_schemes",
        "fallback_risk",
    ),
    "area_indicators": ("communes", "districts"),
    "area_income_change": ("communes", "districts"),
    "villages": ("villages", "households", "fallback_risk"),
    "households": ("households", "fallback_risk"),
    "livelihood_models": ("livelihood_models",),
    "model_participants": ("livelihood_models",),
    "model_status": ("livelihood_models",),
    "infrastructure_works": ("infrastructure_works",),
    "water_schemes": ("water_schemes",),
    "water_scheme_households": ("water_schemes",),
    # where a model, work or scheme lies on the 2025 boundaries decides who sees it (0012)
    "asset_units": ("livelihood_models", "infrastructure_works", "water_schemes"),
    "fallback_risk": ("fallback_risk",),
}

#: household policies whose predicate is a definer-rights function the planner cannot see into:
#: the same predicate with its first test (``sinhke_scope_all()``, inlinable) in front, so a caller
#: who sees everything pays nothing per row (a tile of 20,000 households: 770 ms -> 8 ms)
HOUSEHOLD_POLICIES = {
    "households": "sinhke_household_visible(id)",
    "fallback_risk": "sinhke_household_visible(household_id)",
    "household_units": "sinhke_household_visible(household_id)",
}


def upgrade() -> None:
    op.create_table(
        "layer_versions",
        sa.Column("layer", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("layer", name=op.f("pk_layer_versions")),
    )
    op.create_table(
        "tile_cache",
        sa.Column("layer", sa.String(length=40), nullable=False),
        sa.Column("scope_key", sa.String(length=40), nullable=False),
        sa.Column("params", sa.String(length=200), nullable=False),
        sa.Column("z", sa.SmallInteger(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("layer", "scope_key", "params", "z", "x", "y", name=op.f("pk_tile_cache")),
    )
    layers = sorted({layer for names in LAYER_TABLES.values() for layer in names})
    op.execute("INSERT INTO layer_versions (layer) VALUES " + ", ".join(f"('{name}')" for name in layers))
    # the caller's scope as a cache key: 'all', or a digest of the units the user may see (so a user
    # whose areas change gets a new key), computed by the database from the same settings RLS reads
    op.execute("""
    CREATE FUNCTION sinhke_scope_key() RETURNS text LANGUAGE sql STABLE AS $$
      SELECT CASE WHEN sinhke_scope_all() THEN 'all' ELSE coalesce(
        (SELECT md5(string_agg(unit_id::text, ',' ORDER BY unit_id)) FROM user_visible_units
         WHERE user_id = sinhke_user_id()), 'none') END $$;
    """)
    # definer rights: the application role reads versions but does not write them itself; rows are
    # locked in name order so two statements bumping overlapping layers cannot deadlock
    op.execute("""
    CREATE FUNCTION sinhke_layers_changed() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
      UPDATE layer_versions v SET version = v.version + 1, changed_at = now()
        FROM (SELECT layer FROM layer_versions WHERE layer = ANY(TG_ARGV) ORDER BY layer FOR UPDATE) l
       WHERE v.layer = l.layer;
      DELETE FROM tile_cache WHERE layer = ANY(TG_ARGV);
      RETURN NULL;
    END $$;
    """)
    for table, names in LAYER_TABLES.items():
        args = ", ".join(f"'{name}'" for name in names)
        op.execute(
            f"CREATE TRIGGER {table}_layers_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION sinhke_layers_changed({args})"
        )
        op.execute(
            f"CREATE TRIGGER {table}_layers_truncated AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION sinhke_layers_changed({args})"
        )
    for table, predicate in HOUSEHOLD_POLICIES.items():
        op.execute(
            f"ALTER POLICY {table}_scope ON {table} USING (sinhke_scope_all() OR {predicate}) "
            f"WITH CHECK (sinhke_scope_all() OR {predicate})"
        )
    op.execute(f"GRANT SELECT ON layer_versions TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON tile_cache TO {APP_ROLE}")
    # a cached tile is read and written only under the scope it was made for
    op.execute("ALTER TABLE tile_cache ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tile_cache_scope ON tile_cache TO {APP_ROLE} "
        "USING (scope_key = sinhke_scope_key()) WITH CHECK (scope_key = sinhke_scope_key())"
    )


def downgrade() -> None:
    for table, predicate in HOUSEHOLD_POLICIES.items():
        op.execute(f"ALTER POLICY {table}_scope ON {table} USING ({predicate}) WITH CHECK ({predicate})")
    for table in LAYER_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layers_changed ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layers_truncated ON {table}")
    op.drop_table("tile_cache")
    op.drop_table("layer_versions")
    op.execute("DROP FUNCTION IF EXISTS sinhke_layers_changed()")
    op.execute("DROP FUNCTION IF EXISTS sinhke_scope_key()")
