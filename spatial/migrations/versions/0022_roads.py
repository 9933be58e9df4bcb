"""Roads for siting by road distance: segments, their nodes, and pgRouting when the server has it

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 03:30:00

``roads`` are lines seen by the users of the 2025 commune holding their midpoint (edited by
administrators, audited); ``road_nodes`` are where they meet (derived, read by everyone: a point
alone says nothing). The ``pgrouting`` extension is created when the server offers it
(``scripts/system-deps.sh`` installs ``postgresql-15-pgrouting`` for the private cluster): an
external server without it keeps every straight-line feature, and ``--distance road`` then says
what is missing instead of failing the whole migration.
"""

from alembic import op
import sqlalchemy as sa
import geoalchemy2

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"


def upgrade() -> None:
    op.execute("""
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting') THEN
        CREATE EXTENSION IF NOT EXISTS pgrouting;
      END IF;
    END $$;
    """)
    op.create_table(
        "road_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_nodes")),
    )
    op.create_index("ix_road_nodes_geom", "road_nodes", ["geom"], postgresql_using="gist")
    op.create_table(
        "roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("road_class", sa.String(length=12), server_default="village", nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(geometry_type="LINESTRING", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.Integer(), nullable=True),
        sa.Column("target", sa.Integer(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
        sa.CheckConstraint(
            "road_class IN ('provincial', 'district', 'commune', 'village')", name=op.f("ck_roads_road_class")
        ),
        sa.CheckConstraint("length_m >= 0", name=op.f("ck_roads_length")),
        sa.ForeignKeyConstraint(["commune_id"], ["admin_units.id"], name=op.f("fk_roads_commune_id_admin_units")),
        sa.ForeignKeyConstraint(["source"], ["road_nodes.id"], name=op.f("fk_roads_source_road_nodes")),
        sa.ForeignKeyConstraint(["target"], ["road_nodes.id"], name=op.f("fk_roads_target_road_nodes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
        sa.UniqueConstraint("code", name="uq_roads_code"),
    )
    op.create_index("ix_roads_geom", "roads", ["geom"], postgresql_using="gist")
    op.create_index(op.f("ix_roads_commune_id"), "roads", ["commune_id"], unique=False)
    op.create_index(op.f("ix_roads_source"), "roads", ["source"], unique=False)
    op.create_index(op.f("ix_roads_target"), "roads", ["target"], unique=False)
    op.execute(
        "CREATE TRIGGER roads_audit AFTER INSERT OR UPDATE OR DELETE ON roads FOR EACH ROW EXECUTE FUNCTION sinhke_audit('id')"
    )
    op.execute(
        "CREATE TRIGGER roads_touch BEFORE INSERT OR UPDATE ON roads FOR EACH ROW EXECUTE FUNCTION sinhke_touch()"
    )
    for table in ("roads", "road_nodes"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(
        f"CREATE POLICY roads_read ON roads FOR SELECT TO {APP_ROLE} "
        "USING (sinhke_scope_all() OR sinhke_unit_visible(commune_id))"
    )
    op.execute(f"CREATE POLICY road_nodes_read ON road_nodes FOR SELECT TO {APP_ROLE} USING (true)")
    for table in ("roads", "road_nodes"):
        for action in ("INSERT", "UPDATE", "DELETE"):
            check = "WITH CHECK (sinhke_is_admin())" if action != "DELETE" else ""
            using = "USING (sinhke_is_admin())" if action != "INSERT" else ""
            op.execute(f"CREATE POLICY {table}_{action.lower()} ON {table} FOR {action} TO {APP_ROLE} {using} {check}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE roads_id_seq, road_nodes_id_seq TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("roads")
    op.drop_table("road_nodes")
    # the pgrouting extension stays: other databases' objects may use it, and it holds no data
