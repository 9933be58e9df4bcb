"""Review status of visits (received, approved, on hold, rejected), audited and scoped with the visit

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 00:30:00.000000
"""

from alembic import op
import sqlalchemy as sa

APP_ROLE = "sinhke_app"

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visit_reviews",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
        sa.CheckConstraint(
            "status IN ('received','approved','on_hold','rejected')", name=op.f("ck_visit_reviews_status")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_reviews_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_visit_reviews")),
    )
    op.create_index("ix_visit_reviews_status", "visit_reviews", ["status"], unique=False)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON visit_reviews TO {APP_ROLE}")
    # who reviewed and when (touch), and every change of a verdict (audit), as for other edited tables
    op.execute(
        "CREATE TRIGGER visit_reviews_audit AFTER INSERT OR UPDATE OR DELETE ON visit_reviews "
        "FOR EACH ROW EXECUTE FUNCTION sinhke_audit('visit_id')"
    )
    op.execute(
        "CREATE TRIGGER visit_reviews_touch BEFORE INSERT OR UPDATE ON visit_reviews "
        "FOR EACH ROW EXECUTE FUNCTION sinhke_touch()"
    )
    # seen and set exactly where the visit is seen (its policy places it in the caller's communes)
    op.execute("ALTER TABLE visit_reviews ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY visit_reviews_scope ON visit_reviews TO {APP_ROLE} "
        "USING (EXISTS (SELECT 1 FROM visits v WHERE v.id = visit_id)) "
        "WITH CHECK (EXISTS (SELECT 1 FROM visits v WHERE v.id = visit_id))"
    )


def downgrade() -> None:
    op.drop_table("visit_reviews")  # its policy, triggers and index go with it
