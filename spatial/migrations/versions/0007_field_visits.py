"""Field visits: versioned form definitions (XLSForm) and visits synced from devices

The placeholder ``visits`` table of 0001 (integer id, notes only; nothing wrote to it) is
replaced by one keyed by the device's UUID, holding the answers, the form version they were
filled with, an edit chain and the body hash that makes re-sends idempotent. Scope: a
visit's commune is its target's, and row-level security reads it like every area table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:22:51.746914
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"


def _edited() -> list[sa.Column]:
    return [
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('created_by', sa.String(length=80), server_default='system', nullable=False),
        sa.Column('updated_by', sa.String(length=80), server_default='system', nullable=False),
    ]


def _audited(table: str, keys: str = "id") -> None:
    op.execute(f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION sinhke_audit('{keys}')")
    op.execute(f"CREATE TRIGGER {table}_touch BEFORE INSERT OR UPDATE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION sinhke_touch()")


def upgrade() -> None:
    op.drop_table('visits')  # its policy, triggers and indexes go with it

    op.create_table('form_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.String(length=60), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=20), nullable=False),
    sa.Column('target_types', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('title_vi', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('definition', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('definition_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    *_edited(),
    sa.CheckConstraint("target IN ('livelihood_model','infrastructure_work','water_scheme')", name=op.f('ck_form_definitions_target')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_definitions')),
    sa.UniqueConstraint('form_id', 'version', name='uq_form_definitions_form_id_version')
    )

    op.create_table('visits',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('work_id', sa.Integer(), nullable=True),
    sa.Column('scheme_id', sa.Integer(), nullable=True),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('form_id', sa.String(length=60), nullable=False),
    sa.Column('form_version', sa.String(length=40), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('answers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('replaces_id', sa.UUID(), nullable=True),
    sa.Column('root_id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('submitted_by', sa.String(length=80), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    *_edited(),
    sa.CheckConstraint('num_nonnulls(model_id, work_id, scheme_id) = 1', name=op.f('ck_visits_one_target')),
    sa.CheckConstraint('accuracy_m IS NULL OR accuracy_m >= 0', name=op.f('ck_visits_accuracy_m')),
    sa.CheckConstraint('(replaces_id IS NULL) = (version = 1)', name=op.f('ck_visits_version')),
    sa.ForeignKeyConstraint(['model_id'], ['livelihood_models.id'], name=op.f('fk_visits_model_id_livelihood_models')),
    sa.ForeignKeyConstraint(['work_id'], ['infrastructure_works.id'], name=op.f('fk_visits_work_id_infrastructure_works')),
    sa.ForeignKeyConstraint(['scheme_id'], ['water_schemes.id'], name=op.f('fk_visits_scheme_id_water_schemes')),
    sa.ForeignKeyConstraint(['commune_id'], ['admin_units.id'], name=op.f('fk_visits_commune_id_admin_units')),
    sa.ForeignKeyConstraint(['form_id', 'form_version'], ['form_definitions.form_id', 'form_definitions.version'], name='fk_visits_form_id_form_definitions'),
    sa.ForeignKeyConstraint(['replaces_id'], ['visits.id'], name=op.f('fk_visits_replaces_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
    sa.UniqueConstraint('replaces_id', name='uq_visits_replaces_id')
    )
    op.create_index('ix_visits_geom', 'visits', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('ix_visits_model_visited', 'visits', ['model_id', 'visited_at'], unique=False)
    op.create_index(op.f('ix_visits_commune_id'), 'visits', ['commune_id'], unique=False)
    op.create_index(op.f('ix_visits_root_id'), 'visits', ['root_id'], unique=False)
    op.create_index(op.f('ix_visits_scheme_id'), 'visits', ['scheme_id'], unique=False)
    op.create_index(op.f('ix_visits_work_id'), 'visits', ['work_id'], unique=False)

    for table in ('form_definitions', 'visits'):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        _audited(table)
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE form_definitions_id_seq TO {APP_ROLE}")
    # form definitions are programme-wide reference data; visits are scoped by their commune
    op.execute("ALTER TABLE visits ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY visits_scope ON visits TO {APP_ROLE} "
               "USING (sinhke_unit_visible(commune_id)) WITH CHECK (sinhke_unit_visible(commune_id))")
    # a visit's photo: apart from the visit (no image bytes in the audit trail), seen with its visit
    op.create_table('visit_photos',
    sa.Column('visit_id', sa.UUID(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.CheckConstraint("content_type IN ('image/jpeg','image/png','image/webp')", name=op.f('ck_visit_photos_content_type')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_photos_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_visit_photos'))
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON visit_photos TO {APP_ROLE}")
    op.execute("ALTER TABLE visit_photos ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY visit_photos_scope ON visit_photos TO {APP_ROLE} "
               "USING (EXISTS (SELECT 1 FROM visits v WHERE v.id = visit_id)) "
               "WITH CHECK (EXISTS (SELECT 1 FROM visits v WHERE v.id = visit_id))")
    # does a target exist at all, whatever the caller's scope? (sync answers 403, not 404,
    # for a real model outside the worker's communes; the code is all it reveals)
    op.execute("""
    CREATE FUNCTION sinhke_target_exists(kind text, target_code text) RETURNS boolean
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT CASE kind
        WHEN 'livelihood_model' THEN EXISTS (SELECT 1 FROM livelihood_models WHERE code = target_code)
        WHEN 'infrastructure_work' THEN EXISTS (SELECT 1 FROM infrastructure_works WHERE code = target_code)
        WHEN 'water_scheme' THEN EXISTS (SELECT 1 FROM water_schemes WHERE code = target_code)
        ELSE false END $$;
    """)
    op.execute(f"GRANT EXECUTE ON FUNCTION sinhke_target_exists(text, text) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS sinhke_target_exists(text, text)")
    op.drop_table('visit_photos')
    op.drop_table('visits')
    op.drop_table('form_definitions')
    # the placeholder of 0001, with its scope and audit as 0003 set them
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visitor', sa.String(length=80), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    *_edited(),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_visits_household_id_households')),
    sa.ForeignKeyConstraint(['model_id'], ['livelihood_models.id'], name=op.f('fk_visits_model_id_livelihood_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    op.create_index('ix_visits_geom', 'visits', ['geom'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_visits_household_id'), 'visits', ['household_id'], unique=False)
    op.create_index(op.f('ix_visits_model_id'), 'visits', ['model_id'], unique=False)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON visits TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE visits_id_seq TO {APP_ROLE}")
    _audited('visits')
    op.execute("ALTER TABLE visits ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY visits_scope ON visits TO {APP_ROLE} "
               "USING (EXISTS (SELECT 1 FROM livelihood_models m WHERE m.id = model_id)) "
               "WITH CHECK (EXISTS (SELECT 1 FROM livelihood_models m WHERE m.id = model_id))")
