"""The road layer siting measures distance along (pgRouting): lines, and the nodes where they meet."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

ROAD_CLASSES = ("provincial", "district", "commune", "village")


class Road(Base, Edited):
    """A road segment between two nodes (``source``, ``target``: ``road_nodes``), seen by users of the
    2025 commune holding its midpoint; its length in metres is the routing cost both ways."""

    __tablename__ = "roads"
    __table_args__ = (
        UniqueConstraint("code", name="uq_roads_code"),
        CheckConstraint("road_class IN ('provincial', 'district', 'commune', 'village')", name="road_class"),
        CheckConstraint("length_m >= 0", name="length"),
        Index("ix_roads_geom", "geom", postgresql_using="gist"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    road_class: Mapped[str] = mapped_column(String(12), nullable=False, server_default="village")
    geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    source: Mapped[int | None] = mapped_column(ForeignKey("road_nodes.id"), index=True)
    target: Mapped[int | None] = mapped_column(ForeignKey("road_nodes.id"), index=True)
    length_m: Mapped[float] = mapped_column(Float, nullable=False)


class RoadNode(Base):
    """Where road segments meet or end (built from their end points: ``spatial.roads.build_topology``)."""

    __tablename__ = "road_nodes"
    __table_args__ = (Index("ix_road_nodes_geom", "geom", postgresql_using="gist"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
