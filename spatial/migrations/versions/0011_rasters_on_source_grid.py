"""Rasters stored on their source grid: the stored COG's CRS may be any CRS, WKT included

From this revision ingest keeps the uploaded grid as the COG of record, in its own CRS
(exposure is computed on it; tiles are reprojected when drawn), so ``rasters.crs`` holds
what ``source_crs`` holds: an EPSG code, or WKT for a CRS without one (longer than 40).

Rows ingested before stay as they are and stay valid: their COGs were warped to EPSG:4326
and their ``crs`` says so; a COG of record in EPSG:4326 is just another CRS to the exposure
job and the tile renderer. Their exposure stays on the warped grid until the original file
is ingested again (delete the row, then ``sinhke import raster`` the upload).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("rasters", "crs", type_=sa.Text(), existing_type=sa.String(length=40), existing_nullable=False)


def downgrade() -> None:
    # fails (value too long) while a raster stored in a CRS without an EPSG code is catalogued
    op.alter_column("rasters", "crs", type_=sa.String(length=40), existing_type=sa.Text(), existing_nullable=False)
