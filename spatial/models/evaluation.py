"""Job results of the model evaluation: effects of participation on income, by type and area."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited


class ModelEvaluation(Base):
    """One estimate: a model type (or 'all') in one area, by one estimator."""

    __tablename__ = "model_evaluations"
    __table_args__ = (
        CheckConstraint("estimator IN ('cs_did','twfe')", name="estimator"),
        CheckConstraint("status IN ('ok','insufficient_sample')", name="status"),
        Index("ix_model_evaluations_lookup", "model_type", "unit_id", "estimator", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: a livelihood model type, or 'all' for participation in any model
    model_type: Mapped[str] = mapped_column(String(20), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    estimator: Mapped[str] = mapped_column(String(8), nullable=False)
    control: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    att: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    pretest_p: Mapped[float | None] = mapped_column(Float)
    n_treated: Mapped[int] = mapped_column(Integer, nullable=False)
    n_control: Mapped[int] = mapped_column(Integer, nullable=False)
    #: ATT(g,t), event study, simple aggregate: what the evaluator pages chart
    detail: Mapped[dict | None] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class PriceDeflator(Base, Edited):
    """Consumer price index by year (2021 = 100) for incomes in constant prices; data, editable."""

    __tablename__ = "price_deflators"
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    index: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    provisional: Mapped[bool] = mapped_column(nullable=False, server_default="true")


class AreaIncomeChange(Base):
    """Job result: income change and poverty transitions per unit, between two rounds.

    ``span`` 'annual' compares consecutive rounds (prev_year = year - 1); 'period' compares
    each household's first round with this year's.
    """

    __tablename__ = "area_income_change"
    __table_args__ = (
        CheckConstraint("span IN ('annual','period')", name="span"),
        Index("uq_area_income_change", "unit_id", "year", "span", unique=True),
        Index("ix_area_income_change_lookup", "boundary", "level", "year", "span"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False)
    boundary: Mapped[str] = mapped_column(String(7), nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    span: Mapped[str] = mapped_column(String(6), nullable=False)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    prev_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    #: households surveyed in both rounds
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    mean_change: Mapped[float | None] = mapped_column(Float)
    median_change: Mapped[float | None] = mapped_column(Float)
    #: in constant prices of the deflator's base year; null without a deflator for both years
    mean_change_real: Mapped[float | None] = mapped_column(Float)
    escaped: Mapped[int] = mapped_column(Integer, nullable=False)
    fell_back: Mapped[int] = mapped_column(Integer, nullable=False)
    newly_poor: Mapped[int] = mapped_column(Integer, nullable=False)
    poor_prev: Mapped[int] = mapped_column(Integer, nullable=False)
    near_poor_prev: Mapped[int] = mapped_column(Integer, nullable=False)
    near_poor_now: Mapped[int] = mapped_column(Integer, nullable=False)
    estimated: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class DuplicateCandidate(Base):
    """A likely duplicate household pair, or a household enrolled where rules forbid it.

    Found by the ``duplicates`` job; an admin's decision (duplicate / distinct) sticks
    across runs because the pair's key is stable.
    """

    __tablename__ = "duplicate_candidates"
    __table_args__ = (
        CheckConstraint("kind IN ('household_pair','double_enrolment')", name="kind"),
        CheckConstraint("decision IN ('duplicate','distinct')", name="decision"),
        Index("uq_duplicate_candidates_key", "kind", "household_a", "household_b", "pair_key", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    household_a: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    #: the other household of a pair; for a double enrolment the same household
    household_b: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    #: what makes the candidate unique besides the households: the models of an enrolment
    pair_key: Mapped[str] = mapped_column(String(80), nullable=False, server_default="")
    reasons: Mapped[list] = mapped_column(JSONB, nullable=False)
    distance_m: Mapped[float | None] = mapped_column(Float)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    #: still found by the latest run
    current: Mapped[bool] = mapped_column(nullable=False, server_default="true")
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FallbackRisk(Base):
    """Job result: a household at risk of falling (back) into poverty in its latest round."""

    __tablename__ = "fallback_risk"
    __table_args__ = (CheckConstraint("reason IN ('recently_escaped','near_poor')", name="reason"),)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(9), nullable=False)
    income: Mapped[int] = mapped_column(Integer, nullable=False)
    #: VND per person per month since the previous round (negative: fell)
    income_change: Mapped[int] = mapped_column(Integer, nullable=False)
    #: why flagged: the income fell since the previous round, and/or the location is exposed to these hazards
    income_fell: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    exposed_to: Mapped[list[str]] = mapped_column(ARRAY(String(20)), nullable=False, server_default="{}")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
