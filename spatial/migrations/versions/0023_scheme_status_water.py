"""A water scheme's status feeds the domestic-water indicator of the households it serves

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-02 02:55:00.000000

- ``water_schemes.status_reason``: why the scheme has its status (the ``scheme_functionality``
  job writes the meters' and visit reports' reasons there; NULL for a status recorded by hand).
- ``poverty_classifications.water_reason``: set when a survey round's domestic-water indicator
  counts as deprived although the survey said otherwise, because every scheme serving the
  household is not functional (the household's latest round only; see ``jobs.classify``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("water_schemes", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column("poverty_classifications", sa.Column("water_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("poverty_classifications", "water_reason")
    op.drop_column("water_schemes", "status_reason")
