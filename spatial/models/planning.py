"""What planners work with: saved siting scenarios, the programme's structure, targets and money."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

#: what a target measures: points of poverty rate reduced, households supported (per project),
#: works completed, households with domestic water from a functional scheme
TARGET_INDICATORS = ("poverty_rate_reduction", "households_supported", "works_completed", "households_with_water")
#: where programme money comes from
MONEY_SOURCES = ("central", "local", "credit", "mobilised")
TARGET_STATUSES = ("met", "on_track", "lagging", "no_target", "no_data")
DISBURSEMENT_STATUSES = ("no_allocation", "on_track", "low")
SCENARIO_STATUSES = ("running", "succeeded", "failed")


class SitingScenario(Base, Edited):
    """A named siting run: its parameters and result, seen by users whose communes hold all of its communes."""

    __tablename__ = "siting_scenarios"
    __table_args__ = (
        CheckConstraint("status IN ('running','succeeded','failed')", name="status"),
        CheckConstraint("cardinality(commune_ids) > 0", name="communes"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    facility: Mapped[str] = mapped_column(String(20), nullable=False)
    #: 2025 communes (admin_units ids) the scenario covers
    commune_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="succeeded")
    progress: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    objective: Mapped[float | None] = mapped_column(Float)
    greedy_objective: Mapped[float | None] = mapped_column(Float)
    optimal: Mapped[bool | None] = mapped_column(Boolean)
    gap: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Programme(Base, Edited):
    __tablename__ = "programmes"
    __table_args__ = (CheckConstraint("end_year >= start_year", name="years"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    name_en: Mapped[str] = mapped_column(String(300), nullable=False)
    start_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    end_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    source: Mapped[str | None] = mapped_column(Text)


class ProgrammePart(Base, Edited):
    """A project (no parent) or a sub-project of a programme version."""

    __tablename__ = "programme_parts"
    __table_args__ = (UniqueConstraint("programme_id", "code", name="uq_programme_parts_programme_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("programme_parts.id"))
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    name_en: Mapped[str] = mapped_column(String(300), nullable=False)


class Target(Base, Edited):
    """A target for an area (2025 commune or province) in a year; per project for households supported."""

    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint(
            "indicator IN ('poverty_rate_reduction', 'households_supported', 'works_completed', "
            "'households_with_water')",
            name="indicator",
        ),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("baseline_year IS NULL OR baseline_year < year", name="baseline"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    indicator: Mapped[str] = mapped_column(String(30), nullable=False)
    part_id: Mapped[int | None] = mapped_column(ForeignKey("programme_parts.id"))
    value: Mapped[float] = mapped_column(Float, nullable=False)
    #: the year progress is counted from (poverty-rate points: the rate that year); default year - 1
    baseline_year: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)


class Allocation(Base, Edited):
    """Capital allocated to and disbursed by a programme part in an area, a year, from one source (VND)."""

    __tablename__ = "allocations"
    __table_args__ = (
        UniqueConstraint("part_id", "unit_id", "year", "source", name="uq_allocations_part_id"),
        CheckConstraint("source IN ('central', 'local', 'credit', 'mobilised')", name="source"),
        CheckConstraint("allocated_vnd >= 0", name="allocated"),
        CheckConstraint("disbursed_vnd >= 0", name="disbursed"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("programme_parts.id"), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    allocated_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disbursed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class TargetProgress(Base):
    """Job result (targets_progress): target, achieved, expected on the path, status."""

    __tablename__ = "target_progress"
    __table_args__ = (
        CheckConstraint("status IN ('met', 'on_track', 'lagging', 'no_target', 'no_data')", name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), nullable=False)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    indicator: Mapped[str] = mapped_column(String(30), nullable=False)
    part_id: Mapped[int | None] = mapped_column(ForeignKey("programme_parts.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    target: Mapped[float | None] = mapped_column(Float)
    achieved: Mapped[float | None] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class DisbursementProgress(Base):
    """Job result (targets_progress): the share of allocated capital disbursed, per part, area and year."""

    __tablename__ = "disbursement_progress"
    __table_args__ = (CheckConstraint("status IN ('no_allocation', 'on_track', 'low')", name="status"),)
    part_id: Mapped[int] = mapped_column(ForeignKey("programme_parts.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    allocated_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    disbursed_vnd: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rate: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(13), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


Index("ix_siting_scenarios_commune_ids", SitingScenario.commune_ids, postgresql_using="gin")
#: one target per area, year, indicator and project (none: 0)
Index("uq_targets_key", Target.unit_id, Target.year, Target.indicator, func.coalesce(Target.part_id, 0), unique=True)
Index(
    "uq_target_progress_key",
    TargetProgress.unit_id,
    TargetProgress.year,
    TargetProgress.indicator,
    func.coalesce(TargetProgress.part_id, 0),
    unique=True,
)
