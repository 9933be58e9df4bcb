"""Raster catalogue: climate-risk rasters (flood depth, drought, landslide, rainfall) as COGs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"


def upgrade() -> None:
    op.create_table('rasters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('hazard', sa.String(length=20), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=True),
    sa.Column('return_period', sa.Integer(), nullable=True),
    sa.Column('scenario', sa.String(length=40), nullable=True),
    sa.Column('epoch', sa.String(length=8), server_default='baseline', nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('licence', sa.String(length=200), nullable=True),
    sa.Column('source_crs', sa.Text(), nullable=False),
    sa.Column('source_resolution_x', sa.Float(), nullable=False),
    sa.Column('source_resolution_y', sa.Float(), nullable=False),
    sa.Column('crs', sa.String(length=40), nullable=False),
    sa.Column('resolution_x', sa.Float(), nullable=False),
    sa.Column('resolution_y', sa.Float(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('band_count', sa.SmallInteger(), nullable=False),
    sa.Column('dtype', sa.String(length=10), nullable=False),
    sa.Column('nodata', sa.Float(), nullable=True),
    sa.Column('value_min', sa.Float(), nullable=True),
    sa.Column('value_max', sa.Float(), nullable=True),
    sa.Column('valid_pixels', sa.BigInteger(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('source_bytes', sa.BigInteger(), nullable=False),
    sa.Column('bounds', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=80), server_default='system', nullable=False),
    sa.Column('updated_by', sa.String(length=80), server_default='system', nullable=False),
    sa.CheckConstraint("epoch IN ('baseline','2030','2050','2080')", name=op.f('ck_rasters_epoch')),
    sa.CheckConstraint("hazard IN ('flood_depth','drought_index','landslide','rainfall','other')", name=op.f('ck_rasters_hazard')),
    sa.CheckConstraint('return_period IS NULL OR return_period > 0', name=op.f('ck_rasters_return_period')),
    sa.CheckConstraint('value_min IS NULL OR value_min <= value_max', name=op.f('ck_rasters_value_range')),
    sa.CheckConstraint('width > 0 AND height > 0 AND band_count > 0', name=op.f('ck_rasters_dimensions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rasters')),
    sa.UniqueConstraint('checksum', name='uq_rasters_checksum')
    )
    op.create_geospatial_index('ix_rasters_bounds', 'rasters', ['bounds'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_rasters_hazard', 'rasters', ['hazard', 'epoch', 'return_period'], unique=False)
    _security_upgrade()


def downgrade() -> None:
    _security_downgrade()
    op.drop_index('ix_rasters_hazard', table_name='rasters')
    op.drop_geospatial_index('ix_rasters_bounds', table_name='rasters', postgresql_using='gist', column_name='bounds')
    op.drop_table('rasters')


def _security_upgrade() -> None:
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON rasters TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE rasters_id_seq TO {APP_ROLE}")
    # people add rasters: audited, and stamped with who ingested them
    op.execute("CREATE TRIGGER rasters_audit AFTER INSERT OR UPDATE OR DELETE ON rasters "
               "FOR EACH ROW EXECUTE FUNCTION sinhke_audit('id')")
    op.execute("CREATE TRIGGER rasters_touch BEFORE INSERT OR UPDATE ON rasters "
               "FOR EACH ROW EXECUTE FUNCTION sinhke_touch()")
    # province-wide reference data: every signed-in role reads; only an administrator writes
    op.execute("""
    CREATE FUNCTION sinhke_is_admin() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = public AS $$
      SELECT EXISTS (SELECT 1 FROM users WHERE id = sinhke_user_id() AND role = 'admin'
                     AND disabled_at IS NULL) $$;
    """)
    op.execute("ALTER TABLE rasters ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY rasters_read ON rasters FOR SELECT TO {APP_ROLE} USING (true)")
    op.execute(f"CREATE POLICY rasters_write ON rasters FOR ALL TO {APP_ROLE} "
               "USING (sinhke_is_admin()) WITH CHECK (sinhke_is_admin())")


def _security_downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS rasters_write ON rasters")
    op.execute("DROP POLICY IF EXISTS rasters_read ON rasters")
    op.execute("DROP TRIGGER IF EXISTS rasters_audit ON rasters")
    op.execute("DROP TRIGGER IF EXISTS rasters_touch ON rasters")
    op.execute("DROP FUNCTION IF EXISTS sinhke_is_admin()")
