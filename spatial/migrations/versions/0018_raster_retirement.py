"""Raster catalogue entries can be retired, or replaced by a newer entry

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 00:30:00.000000

A retired raster stays in the catalogue (its file, its exposure rows and its audit history are
kept) but leaves the map's hazard list, the popups, the area pages and the exposure results;
``replaced_by_id`` names the entry that took its place. Changes go through the rasters table's
existing audit trigger (migration 0006), so who retired what and when is in the audit trail.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rasters", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("rasters", sa.Column("retired_by", sa.String(length=80), nullable=True))
    op.add_column("rasters", sa.Column("replaced_by_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_rasters_replaced_by_id_rasters"), "rasters", "rasters", ["replaced_by_id"], ["id"], ondelete="SET NULL"
    )
    op.create_check_constraint(
        op.f("ck_rasters_replaced_when_retired"), "rasters", "replaced_by_id IS NULL OR retired_at IS NOT NULL"
    )
    op.create_check_constraint(
        op.f("ck_rasters_not_replaced_by_itself"), "rasters", "replaced_by_id IS NULL OR replaced_by_id <> id"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_rasters_not_replaced_by_itself"), "rasters", type_="check")
    op.drop_constraint(op.f("ck_rasters_replaced_when_retired"), "rasters", type_="check")
    op.drop_constraint(op.f("fk_rasters_replaced_by_id_rasters"), "rasters", type_="foreignkey")
    op.drop_column("rasters", "replaced_by_id")
    op.drop_column("rasters", "retired_by")
    op.drop_column("rasters", "retired_at")
