"""Households, survey rounds, their placement in units, poverty standards and classes."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

#: The 12 indicators of the 2022–2025 standard (Decree 07/2021), as survey-round columns.
DEPRIVATION_COLUMNS: tuple[str, ...] = (
    "d_employment",
    "d_dependants",  # employment
    "d_nutrition",
    "d_health_insurance",  # health
    "d_adult_education",
    "d_child_school",  # education
    "d_housing_quality",
    "d_floor_area",  # housing
    "d_water",
    "d_latrine",  # water and sanitation
    "d_telecom",
    "d_info_assets",  # information
)

POVERTY_STATUSES = ("poor", "near_poor", "not_poor")


class Household(Base, Edited):
    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("code", name="uq_households_code"),
        Index("ix_households_geom", "geom", postgresql_using="gist"),
        Index("ix_households_lon_lat", "geom_lon", "geom_lat"),
        Index("ix_households_tile_key", "tile_key"),
        # the households a layer shows, by id: an items page skips its offset in this index alone
        Index("ix_households_shown_id", "id", postgresql_where=text("deleted_at IS NULL AND geom IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), nullable=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    #: the point's coordinates, generated from geom: a box filter on them can use an index under
    #: row-level security (migration 0025), which PostGIS's operators cannot
    geom_lon: Mapped[float | None] = mapped_column(Double, Computed("ST_X(geom)", persisted=True))
    geom_lat: Mapped[float | None] = mapped_column(Double, Computed("ST_Y(geom)", persisted=True))
    #: the Morton code of the zoom-24 Web Mercator tile holding the point (migration 0031): a
    #: vector tile's households are one index range of it (spatial.geometry.tile_key_range)
    tile_key: Mapped[int | None] = mapped_column(
        BigInteger, Computed("sinhke_tile_key(ST_X(geom), ST_Y(geom))", persisted=True)
    )
    #: the commune valid at the household's registration date
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(120), nullable=False)
    id_card_number: Mapped[str | None] = mapped_column(String(12), index=True)
    ethnicity: Mapped[str | None] = mapped_column(String(40))
    members: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    registered_on: Mapped[date] = mapped_column(Date, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HouseholdUnit(Base):
    """Where a household lies on each boundary version: placed once, not per query."""

    __tablename__ = "household_units"
    __table_args__ = (
        CheckConstraint("boundary IN ('legacy','current')", name="boundary"),
        CheckConstraint("method IN ('point','recorded','crosswalk')", name="method"),
        Index("ix_household_units_commune", "commune_id"),
    )
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    boundary: Mapped[str] = mapped_column(String(7), primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))
    province_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False)
    #: point: point-in-polygon; recorded: the household's own commune; crosswalk: estimated
    method: Mapped[str] = mapped_column(String(9), nullable=False)


class SurveyRound(Base, Edited):
    """One household in one annual review: income per person per month and deprivations."""

    __tablename__ = "survey_rounds"
    __table_args__ = (
        UniqueConstraint("household_id", "year", name="uq_survey_rounds_household_year"),
        CheckConstraint("income_per_person_month >= 0", name="income_nonnegative"),
        CheckConstraint("members > 0", name="members_positive"),
        Index("ix_survey_rounds_year", "year"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    surveyed_on: Mapped[date] = mapped_column(Date, nullable=False)
    members: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    #: VND per person per month
    income_per_person_month: Mapped[int] = mapped_column(BigInteger, nullable=False)
    d_employment: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_dependants: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_nutrition: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_health_insurance: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_adult_education: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_child_school: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_housing_quality: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_floor_area: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_water: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_latrine: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_telecom: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    d_info_assets: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    source: Mapped[str] = mapped_column(String(80), nullable=False)


class PovertyStandard(Base, Edited):
    """A poverty standard as data: the years it applies, its indicators and its rule.

    Rule ``income_and_deprivations``: at or below ``absolute_line`` a household is poor
    whatever its deprivations; at or below ``income_line`` it is poor with at least
    ``min_deprivations`` deprivations, near-poor with fewer; above, not poor.
    """

    __tablename__ = "poverty_standards"
    __table_args__ = (
        UniqueConstraint("code", name="uq_poverty_standards_code"),
        CheckConstraint("first_year <= last_year", name="years_ordered"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    legal_basis: Mapped[str] = mapped_column(String(200), nullable=False)
    first_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    last_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    rule: Mapped[str] = mapped_column(String(40), nullable=False, server_default="income_and_deprivations")
    min_deprivations: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    #: names of survey-round deprivation columns counted under this standard
    indicators: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    #: thresholds or indicators not yet confirmed by an official text
    provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    notes: Mapped[str | None] = mapped_column(Text)


class PovertyLine(Base, Edited):
    __tablename__ = "poverty_lines"
    __table_args__ = (CheckConstraint("area_type IN ('rural','urban')", name="area_type"),)
    standard_id: Mapped[int] = mapped_column(ForeignKey("poverty_standards.id", ondelete="CASCADE"), primary_key=True)
    area_type: Mapped[str] = mapped_column(String(5), primary_key=True)
    #: VND per person per month; poor at or below it whatever the deprivations (2016–2020)
    absolute_line: Mapped[int | None] = mapped_column(BigInteger)
    income_line: Mapped[int] = mapped_column(BigInteger, nullable=False)


class PovertyClassification(Base):
    """Job result: the status of one survey round under the standard in force that year."""

    __tablename__ = "poverty_classifications"
    __table_args__ = (CheckConstraint("status IN ('poor','near_poor','not_poor')", name="status"),)
    survey_round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("poverty_standards.id"), nullable=False)
    area_type: Mapped[str] = mapped_column(String(5), nullable=False)
    deprivations: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(9), nullable=False)
    #: the domestic-water indicator counted as deprived because every scheme serving the
    #: household is not functional (the survey said it had water): which scheme and why
    water_reason: Mapped[str | None] = mapped_column(Text)
    classified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AreaIndicator(Base):
    """Job result: counts and incomes per unit and year, on one boundary version."""

    __tablename__ = "area_indicators"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", name="uq_area_indicators_unit_year"),
        Index("ix_area_indicators_lookup", "boundary", "level", "year"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False)
    boundary: Mapped[str] = mapped_column(String(7), nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    poor: Mapped[int] = mapped_column(Integer, nullable=False)
    near_poor: Mapped[int] = mapped_column(Integer, nullable=False)
    mean_income: Mapped[float | None]
    median_income: Mapped[float | None]
    #: true when any household was placed through crosswalk weights, not its point
    estimated: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
