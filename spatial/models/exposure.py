"""Climate-risk exposure: thresholds (data) and the exposure job's results.

The ``exposure`` job fills these from every catalogued raster: statistics per
administrative unit (both boundary versions), per livelihood model, work and water
scheme (their polygon, or a buffer around points and lines), and the value at each
household. Each result row keeps the digest of the geometry it was computed from, so a
run recomputes only new rasters and new or changed geometries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

ASSET_KINDS = ("model", "work", "water_scheme")
THRESHOLD_OPS = (">", ">=", "<", "<=")


class ExposureThreshold(Base, Edited):
    """When a value counts as exposed, per hazard (optionally per return period): data, editable."""

    __tablename__ = "exposure_thresholds"
    __table_args__ = (CheckConstraint("op IN ('>','>=','<','<=')", name="op"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard: Mapped[str] = mapped_column(String(20), nullable=False)
    #: None: any return period of the hazard (a row with the raster's own period wins)
    return_period: Mapped[int | None] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(2), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)


class _Stats:
    count: Mapped[float] = mapped_column(Float, nullable=False)
    mean: Mapped[float | None] = mapped_column(Float)
    min: Mapped[float | None] = mapped_column(Float)
    max: Mapped[float | None] = mapped_column(Float)
    p50: Mapped[float | None] = mapped_column(Float)
    p90: Mapped[float | None] = mapped_column(Float)
    sum: Mapped[float | None] = mapped_column(Float)
    #: covered share of the valid area beyond the threshold (0–1)
    share_above: Mapped[float | None] = mapped_column(Float)
    #: md5 of the geometry the row was computed from, and of the threshold used
    geom_md5: Mapped[str] = mapped_column(String(32), nullable=False)
    threshold_key: Mapped[str] = mapped_column(String(40), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AreaExposure(_Stats, Base):
    __tablename__ = "area_exposure"
    raster_id: Mapped[int] = mapped_column(ForeignKey("rasters.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True)
    #: households placed in the unit, and those whose location is beyond the threshold
    households: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    households_exposed: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class AssetExposure(_Stats, Base):
    __tablename__ = "asset_exposure"
    __table_args__ = (CheckConstraint("asset_kind IN ('model','work','water_scheme')", name="asset_kind"),)
    raster_id: Mapped[int] = mapped_column(ForeignKey("rasters.id", ondelete="CASCADE"), primary_key=True)
    asset_kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    #: the zone: the asset's polygon, or a buffer of this many metres around a point or line
    buffer_m: Mapped[float | None] = mapped_column(Float)
    #: the value at the asset's location (its centroid's cell)
    value_at: Mapped[float | None] = mapped_column(Float)
    exposed: Mapped[bool] = mapped_column(Boolean, nullable=False)


class HouseholdExposure(Base):
    __tablename__ = "household_exposure"
    raster_id: Mapped[int] = mapped_column(ForeignKey("rasters.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    exposed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    geom_md5: Mapped[str] = mapped_column(String(32), nullable=False)
    threshold_key: Mapped[str] = mapped_column(String(40), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
