"""The climate-risk raster catalogue: one row per ingested Cloud-Optimized GeoTIFF.

Rasters are province-wide reference data, not area-scoped: every signed-in role reads
the catalogue; only administrators add to it (row-level security, migration 0006).
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

HAZARDS = ("flood_depth", "drought_index", "landslide", "rainfall", "other")
EPOCHS = ("baseline", "2030", "2050", "2080")


class Raster(Base, Edited):
    """A hazard layer: what it measures, where it came from, and the COG it was turned into.

    The COG keeps the uploaded file's grid (CRS, resolution, shape), so ``crs`` and
    ``resolution_*`` equal ``source_*``. Rows ingested before migration 0011 have COGs warped
    to EPSG:4326 (``crs``); they stay valid, as readers take the CRS from the row or the file.

    ``created_by``/``created_at`` are who ingested it and when; ``checksum`` is the SHA-256 of
    the uploaded bytes, so the same file is catalogued once.
    """

    __tablename__ = "rasters"
    __table_args__ = (
        UniqueConstraint("checksum", name="uq_rasters_checksum"),
        CheckConstraint("hazard IN ('flood_depth','drought_index','landslide','rainfall','other')", name="hazard"),
        CheckConstraint("epoch IN ('baseline','2030','2050','2080')", name="epoch"),
        CheckConstraint("return_period IS NULL OR return_period > 0", name="return_period"),
        CheckConstraint("width > 0 AND height > 0 AND band_count > 0", name="dimensions"),
        CheckConstraint("value_min IS NULL OR value_min <= value_max", name="value_range"),
        CheckConstraint("replaced_by_id IS NULL OR retired_at IS NOT NULL", name="replaced_when_retired"),
        CheckConstraint("replaced_by_id IS NULL OR replaced_by_id <> id", name="not_replaced_by_itself"),
        Index("ix_rasters_bounds", "bounds", postgresql_using="gist"),
        Index("ix_rasters_hazard", "hazard", "epoch", "return_period"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: the uploaded file's name (base name only): for people, never used as a path
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    hazard: Mapped[str] = mapped_column(String(20), nullable=False)
    #: unit of the values, e.g. m, class, sd, mm
    unit: Mapped[str | None] = mapped_column(String(40))
    #: years, e.g. 10 or 100 for a 1-in-10 or 1-in-100-year flood
    return_period: Mapped[int | None] = mapped_column(Integer)
    #: climate scenario, e.g. historical, ssp245, rcp8.5
    scenario: Mapped[str | None] = mapped_column(String(40))
    epoch: Mapped[str] = mapped_column(String(8), nullable=False, server_default="baseline")
    source: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(String(200))
    #: CRS of the uploaded file (EPSG:3405 and the like, or WKT when it has no code)
    source_crs: Mapped[str] = mapped_column(Text, nullable=False)
    source_resolution_x: Mapped[float] = mapped_column(Float, nullable=False)
    source_resolution_y: Mapped[float] = mapped_column(Float, nullable=False)
    #: CRS, resolution (in its units) and shape of the stored COG (EPSG code, or WKT when it has none)
    crs: Mapped[str] = mapped_column(Text, nullable=False)
    resolution_x: Mapped[float] = mapped_column(Float, nullable=False)
    resolution_y: Mapped[float] = mapped_column(Float, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    band_count: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    dtype: Mapped[str] = mapped_column(String(10), nullable=False)
    nodata: Mapped[float | None] = mapped_column(Float)
    #: over every valid pixel of every band of the stored COG
    value_min: Mapped[float | None] = mapped_column(Float)
    value_max: Mapped[float | None] = mapped_column(Float)
    valid_pixels: Mapped[int] = mapped_column(BigInteger, nullable=False)
    checksum: Mapped[str] = mapped_column(String(64), nullable=False)
    #: the COG's file, relative to the raster store (Settings.raster_store)
    path: Mapped[str] = mapped_column(String(200), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: the stored raster's extent in WGS 84 (its edges reprojected, for the map and spatial filters)
    bounds = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)
    #: a retired entry leaves the map, popups, area pages and exposure results; its file and rows stay
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_by: Mapped[str | None] = mapped_column(String(80))
    #: the entry that took this one's place (set only on a retired entry)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("rasters.id", ondelete="SET NULL"))
