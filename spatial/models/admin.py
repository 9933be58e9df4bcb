"""Administrative units (code + validity period, two hierarchies), crosswalk, villages."""

from __future__ import annotations

from datetime import date

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

LEVELS = ("province", "district", "commune")
BOUNDARIES = ("legacy", "current")
#: Legacy units end on the eve of the 2025 reorganisation; current ones start with it.
LEGACY_VALID_TO = date(2025, 6, 30)
CURRENT_VALID_FROM = date(2025, 7, 1)


class AdminUnit(Base):
    """A unit is (code, validity period): the same code can name a larger unit after 2025."""

    __tablename__ = "admin_units"
    __table_args__ = (
        UniqueConstraint("level", "code", "valid_from", name="uq_admin_units_level_code_from"),
        CheckConstraint("level IN ('province','district','commune')", name="level"),
        CheckConstraint("boundary IN ('legacy','current')", name="boundary"),
        CheckConstraint("area_type IN ('rural','urban')", name="area_type"),
        Index("ix_admin_units_geom", "geom", postgresql_using="gist"),
        Index("ix_admin_units_centroid", "centroid", postgresql_using="gist"),
        Index("ix_admin_units_boundary_level", "boundary", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    code: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    #: the unit's own word: Tỉnh, Thành phố, Huyện, Xã, Phường, Thị trấn
    unit_type: Mapped[str] = mapped_column(String(20), nullable=False)
    #: xã = rural; phường and thị trấn = urban (poverty lines differ)
    area_type: Mapped[str] = mapped_column(String(5), nullable=False)
    boundary: Mapped[str] = mapped_column(String(7), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)
    centroid = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    geom_approximate: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    source: Mapped[str | None] = mapped_column(String(200))


class AdminCrosswalk(Base):
    """Old→new, many-to-many; weights are the share of the old unit that went to the new one."""

    __tablename__ = "admin_crosswalk"
    old_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), primary_key=True)
    new_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), primary_key=True, index=True)
    weight_area: Mapped[float] = mapped_column(Float, nullable=False)
    weight_households: Mapped[float | None] = mapped_column(Float)
    is_default: Mapped[bool] = mapped_column(nullable=False, server_default="false")


class Village(Base, Edited):
    __tablename__ = "villages"
    __table_args__ = (
        UniqueConstraint("code", name="uq_villages_code"),
        Index("ix_villages_geom", "geom", postgresql_using="gist"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
