"""What the programme builds and funds: livelihood models, works, water schemes."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

MODEL_TYPES = ("cow_bank", "buffalo_loan", "free_range_chicken", "medicinal_plant")
MODEL_STATUSES = ("planned", "active", "completed", "suspended")
WORK_TYPES = ("road", "bridge", "school", "clinic", "irrigation", "market")
WORK_STATUSES = ("planned", "under_construction", "completed", "suspended")
#: the field's own vocabulary (mWater, WPDx)
WATER_STATUSES = ("functional", "partially_functional", "not_functional")


class SitedProgrammeAsset:
    """The columns livelihood models and works share: a coded, named thing at a place in a commune,
    deleted softly (its history stays)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: a point (herd, bridge, school), a line (road, canal) or a polygon (plots, market)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LivelihoodModel(SitedProgrammeAsset, Base, Edited):
    __tablename__ = "livelihood_models"
    __table_args__ = (
        UniqueConstraint("code", name="uq_livelihood_models_code"),
        CheckConstraint(
            "model_type IN ('cow_bank','buffalo_loan','free_range_chicken','medicinal_plant')",
            name="model_type",
        ),
        CheckConstraint("status IN ('planned','active','completed','suspended')", name="status"),
        CheckConstraint("budget_disbursed_vnd <= budget_allocated_vnd", name="disbursed_le_allocated"),
        Index("ix_livelihood_models_geom", "geom", postgresql_using="gist"),
    )
    model_type: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    funding_project: Mapped[str] = mapped_column(String(200), nullable=False)
    funding_subproject: Mapped[str | None] = mapped_column(String(200))
    budget_allocated_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    budget_disbursed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    value_chain_partner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), nullable=False)


class ModelParticipant(Base, Edited):
    """A household in a model; pass-on chains link a recipient to the one who handed on."""

    __tablename__ = "model_participants"
    __table_args__ = (UniqueConstraint("model_id", "household_id", name="uq_model_participants_model_household"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("livelihood_models.id", ondelete="CASCADE"), nullable=False, index=True
    )
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), nullable=False, index=True)
    joined_on: Mapped[date] = mapped_column(Date, nullable=False)
    left_on: Mapped[date | None] = mapped_column(Date)
    #: 1 for a first recipient; n+1 for a household that received a pass-on from generation n
    generation: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="1")
    received_from_id: Mapped[int | None] = mapped_column(ForeignKey("model_participants.id"))


class InfrastructureWork(SitedProgrammeAsset, Base, Edited):
    __tablename__ = "infrastructure_works"
    __table_args__ = (
        UniqueConstraint("code", name="uq_infrastructure_works_code"),
        CheckConstraint("work_type IN ('road','bridge','school','clinic','irrigation','market')", name="work_type"),
        CheckConstraint("status IN ('planned','under_construction','completed','suspended')", name="status"),
        CheckConstraint("disbursed_vnd <= budget_vnd", name="disbursed_le_budget"),
        Index("ix_infrastructure_works_geom", "geom", postgresql_using="gist"),
    )
    work_type: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    completion_date: Mapped[date | None] = mapped_column(Date)
    budget_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disbursed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    funding_project: Mapped[str | None] = mapped_column(String(200))


class WaterScheme(Base, Edited):
    __tablename__ = "water_schemes"
    __table_args__ = (
        UniqueConstraint("code", name="uq_water_schemes_code"),
        CheckConstraint("status IN ('functional','partially_functional','not_functional')", name="status"),
        Index("ix_water_schemes_geom", "geom", postgresql_using="gist"),
        Index("ix_water_schemes_service_area", "service_area", postgresql_using="gist"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    service_area = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    capacity_m3_day: Mapped[float | None] = mapped_column(Float)
    technology: Mapped[str] = mapped_column(String(40), nullable=False)
    install_year: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_reported_on: Mapped[date | None] = mapped_column(Date)
    #: why: the meters' and visit reports' reasons when ``scheme_functionality`` set the status
    status_reason: Mapped[str | None] = mapped_column(Text)
    #: the same reason as stored messages (``spatial.Message.stored``), for pages in either language
    status_reason_messages: Mapped[list[dict] | None] = mapped_column(JSONB)
    budget_vnd: Mapped[int | None] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AssetUnit(Base):
    """Where a model, work or water scheme lies on the 2025 boundaries: the commune that scopes it.

    Kept by triggers (migration 0011), never written by the application: the commune holding the
    point, else the one holding most of the line's length or the area (a tie: the lowest id); a
    thing outside every commune keeps its recorded commune if that is a 2025 one, else the
    heaviest crosswalk counterpart of it.
    """

    __tablename__ = "asset_units"
    __table_args__ = (
        CheckConstraint("asset_kind IN ('model','work','water_scheme','device')", name="asset_kind"),
        CheckConstraint("method IN ('point','length','area','recorded','crosswalk')", name="method"),
    )
    #: model, work or water_scheme (the kinds of asset_exposure), or a sensor device (0014)
    asset_kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    #: point: in the polygon; length/area: the largest share; recorded/crosswalk: outside every commune
    method: Mapped[str] = mapped_column(String(9), nullable=False)


class WaterSchemeHousehold(Base, Edited):
    __tablename__ = "water_scheme_households"
    scheme_id: Mapped[int] = mapped_column(ForeignKey("water_schemes.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    connected_on: Mapped[date | None] = mapped_column(Date)
