"""Model status from visits: visit schedules per model type (data) and the model_status job result

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"
#: (G) programme practice, not an official text: extension workers see large livestock about
#: quarterly, poultry monthly, medicinal-plant plots every two months. Data, edited per type.
DEFAULT_SCHEDULES = (
    ("cow_bank", 90), ("buffalo_loan", 90), ("free_range_chicken", 30), ("medicinal_plant", 60),
)
#: the model's scope is the status row's: a worker sees the status of the models in their communes
SCOPE = "EXISTS (SELECT 1 FROM livelihood_models m WHERE m.id = model_id)"


def _edited() -> list[sa.Column]:
    return [
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('created_by', sa.String(length=80), server_default='system', nullable=False),
        sa.Column('updated_by', sa.String(length=80), server_default='system', nullable=False),
    ]


def upgrade() -> None:
    op.create_table('visit_schedules',
    sa.Column('model_type', sa.String(length=20), nullable=False),
    sa.Column('interval_days', sa.SmallInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    *_edited(),
    sa.CheckConstraint("model_type IN ('cow_bank','buffalo_loan','free_range_chicken','medicinal_plant')",
                       name=op.f('ck_visit_schedules_model_type')),
    sa.CheckConstraint('interval_days BETWEEN 1 AND 3650', name=op.f('ck_visit_schedules_interval_days')),
    sa.PrimaryKeyConstraint('model_type', name=op.f('pk_visit_schedules'))
    )
    schedules = sa.table('visit_schedules', sa.column('model_type', sa.String), sa.column('interval_days', sa.Integer),
                         sa.column('note', sa.Text))
    op.bulk_insert(schedules, [{"model_type": t, "interval_days": d,
                                "note": "Mặc định (giả định, chưa có văn bản chính thức)"} for t, d in DEFAULT_SCHEDULES])

    op.create_table('model_status',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('visits_12m', sa.Integer(), nullable=False),
    sa.Column('last_visit_id', sa.UUID(), nullable=True),
    sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_visit_by', sa.String(length=80), nullable=True),
    sa.Column('last_visit_form', sa.String(length=60), nullable=True),
    sa.Column('interval_days', sa.SmallInteger(), nullable=True),
    sa.Column('next_visit_due', sa.Date(), nullable=True),
    sa.Column('overdue_days', sa.Integer(), nullable=True),
    sa.Column('herd_size', sa.Integer(), nullable=True),
    sa.Column('flock_size', sa.Integer(), nullable=True),
    sa.Column('deaths_12m', sa.Integer(), nullable=True),
    sa.Column('animal_years_12m', sa.Float(), nullable=True),
    sa.Column('mortality_12m', sa.Float(), nullable=True),
    sa.Column('pass_ons_due', sa.Integer(), nullable=True),
    sa.Column('pass_ons_overdue', sa.Integer(), nullable=True),
    sa.Column('birds_sold_12m', sa.Integer(), nullable=True),
    sa.Column('sales_vnd_12m', sa.BigInteger(), nullable=True),
    sa.Column('area_m2', sa.Float(), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=True),
    sa.Column('harvest_kg_12m', sa.Float(), nullable=True),
    sa.Column('harvest_value_vnd_12m', sa.BigInteger(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('overdue_days IS NULL OR overdue_days >= 0', name=op.f('ck_model_status_overdue_days')),
    sa.ForeignKeyConstraint(['model_id'], ['livelihood_models.id'],
                            name=op.f('fk_model_status_model_id_livelihood_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', name=op.f('pk_model_status'))
    )
    op.create_index(op.f('ix_model_status_overdue_days'), 'model_status', ['overdue_days'], unique=False)

    # grants come from 0004's default privileges; stated here too, so the tables do not depend on
    # who ran the earlier migrations
    for table in ('visit_schedules', 'model_status'):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    # schedules are programme-wide reference data edited by people: audited, not scoped
    op.execute("CREATE TRIGGER visit_schedules_audit AFTER INSERT OR UPDATE OR DELETE ON visit_schedules "
               "FOR EACH ROW EXECUTE FUNCTION sinhke_audit('model_type')")
    op.execute("CREATE TRIGGER visit_schedules_touch BEFORE INSERT OR UPDATE ON visit_schedules "
               "FOR EACH ROW EXECUTE FUNCTION sinhke_touch()")
    op.execute("ALTER TABLE model_status ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY model_status_scope ON model_status TO {APP_ROLE} USING ({SCOPE}) WITH CHECK ({SCOPE})")


def downgrade() -> None:
    op.drop_index(op.f('ix_model_status_overdue_days'), table_name='model_status')
    op.drop_table('model_status')  # its policy goes with it
    op.drop_table('visit_schedules')  # and its triggers
