"""Imports: one row per file brought into a layer (or refused), and the checks an import needs

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 00:10:00.000000

``imports`` keeps who imported which file (name and SHA-256) into which layer, what it inserted,
updated, left unchanged and rejected, and the validation report. A user sees their own imports; an
admin sees all of them.

``sinhke_in_province(geom)`` says whether a geometry lies in a province of the installation,
whoever asks (a scoped user sees their communes, not the province). ``sinhke_import_hidden_codes(layer, codes)`` answers, for a scoped importer, which of the codes in
a file already name a row the caller may not see (another commune's household or model): those rows
are rejected with a reason instead of failing the whole upsert on a row-level-security error. It
runs with definer rights, so it can tell "exists elsewhere" from "does not exist", and says nothing
more than that.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=40), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("inserted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("problems", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("problem_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notes", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("duration_ms", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("status IN ('imported','refused','dry_run')", name=op.f("ck_imports_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_index("ix_imports_layer_started", "imports", ["layer", "started_at"], unique=False)
    op.create_index("ix_imports_sha256", "imports", ["sha256"], unique=False)
    op.execute(f"GRANT SELECT, INSERT ON imports TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE imports_id_seq TO {APP_ROLE}")
    op.execute("ALTER TABLE imports ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY imports_scope ON imports TO {APP_ROLE} "
        "USING (sinhke_scope_all() OR user_id = sinhke_user_id()) "
        "WITH CHECK (sinhke_scope_all() OR user_id = sinhke_user_id())"
    )
    # a scoped user may write a household where its point (else its commune) puts it in one of their
    # 2025 communes, as 0012 lets them write models and works: the old check read the household's
    # placement, which a row being inserted does not have yet, so no scoped insert could pass it
    op.execute(
        "ALTER POLICY households_scope ON households WITH CHECK "
        "(sinhke_scope_all() OR sinhke_household_visible(id) OR sinhke_asset_placeable(geom, commune_id))"
    )
    # inside some province of the installation, whoever asks (a scoped user cannot see the province)
    op.execute("""
    CREATE FUNCTION sinhke_in_province(g geometry) RETURNS boolean
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT EXISTS (SELECT 1 FROM admin_units p WHERE p.level = 'province' AND p.boundary = 'current'
                     AND ST_Intersects(p.geom, g)) $$;
    """)
    op.execute("""
    CREATE FUNCTION sinhke_import_hidden_codes(layer text, codes text[]) RETURNS SETOF text
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
    BEGIN
      IF sinhke_scope_all() THEN RETURN; END IF;
      IF layer = 'households' THEN
        RETURN QUERY SELECT h.code::text FROM households h
          WHERE h.code = ANY(codes) AND NOT sinhke_household_visible(h.id);
      ELSIF layer = 'villages' THEN
        RETURN QUERY SELECT v.code::text FROM villages v
          WHERE v.code = ANY(codes) AND NOT sinhke_unit_visible(v.commune_id);
      ELSIF layer IN ('livelihood_models', 'infrastructure_works', 'water_schemes') THEN
        RETURN QUERY EXECUTE format(
          'SELECT t.code::text FROM %I t WHERE t.code = ANY($1) AND NOT EXISTS ('
          'SELECT 1 FROM asset_units au JOIN user_visible_units v ON v.unit_id = au.commune_id '
          'WHERE au.asset_kind = $2 AND au.asset_id = t.id AND v.user_id = sinhke_user_id())', layer)
          USING codes, CASE layer WHEN 'livelihood_models' THEN 'model'
                                  WHEN 'infrastructure_works' THEN 'work' ELSE 'water_scheme' END;
      ELSE
        RAISE EXCEPTION 'sinhke_import_hidden_codes: unknown layer %', layer;
      END IF;
    END $$;
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS sinhke_import_hidden_codes(text, text[])")
    op.execute("DROP FUNCTION IF EXISTS sinhke_in_province(geometry)")
    op.execute(
        "ALTER POLICY households_scope ON households WITH CHECK (sinhke_scope_all() OR sinhke_household_visible(id))"
    )
    op.drop_index("ix_imports_sha256", table_name="imports")
    op.drop_index("ix_imports_layer_started", table_name="imports")
    op.drop_table("imports")
