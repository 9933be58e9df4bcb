"""Model status from field visits: how often each model type is visited, and the job's result."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited


class VisitSchedule(Base, Edited):
    """Days between visits an extension worker owes a model of this type (data, not code;
    the seeded defaults are assumptions, see the migration)."""

    __tablename__ = "visit_schedules"
    __table_args__ = (
        CheckConstraint(
            "model_type IN ('cow_bank','buffalo_loan','free_range_chicken','medicinal_plant')", name="model_type"
        ),
        CheckConstraint("interval_days BETWEEN 1 AND 3650", name="interval_days"),
    )
    model_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    interval_days: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)


class ModelStatus(Base):
    """Job result (``model_status``): one row per model, as of a day, from the current version of
    each visit and, for cow banks and buffalo loans, the pass-on ledger.

    ``next_visit_due`` and ``overdue_days`` are set for active models only; a model never
    visited is due ``interval_days`` after its start. Mortality is deaths per animal-year over
    the 12 months up to ``as_of`` (ledger holdings for large livestock; the mean reported flock
    for chickens)."""

    __tablename__ = "model_status"
    __table_args__ = (CheckConstraint("overdue_days IS NULL OR overdue_days >= 0", name="overdue_days"),)
    model_id: Mapped[int] = mapped_column(ForeignKey("livelihood_models.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    visits: Mapped[int] = mapped_column(Integer, nullable=False)
    visits_12m: Mapped[int] = mapped_column(Integer, nullable=False)
    last_visit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_visit_by: Mapped[str | None] = mapped_column(String(80))
    last_visit_form: Mapped[str | None] = mapped_column(String(60))
    interval_days: Mapped[int | None] = mapped_column(SmallInteger)
    next_visit_due: Mapped[date | None] = mapped_column(Date)
    overdue_days: Mapped[int | None] = mapped_column(Integer, index=True)
    #: cow bank, buffalo loan: live animals held on as_of (ledger)
    herd_size: Mapped[int | None] = mapped_column(Integer)
    #: chickens: the latest reported flock
    flock_size: Mapped[int | None] = mapped_column(Integer)
    deaths_12m: Mapped[int | None] = mapped_column(Integer)
    animal_years_12m: Mapped[float | None] = mapped_column(Float)
    mortality_12m: Mapped[float | None] = mapped_column(Float)
    pass_ons_due: Mapped[int | None] = mapped_column(Integer)
    pass_ons_overdue: Mapped[int | None] = mapped_column(Integer)
    birds_sold_12m: Mapped[int | None] = mapped_column(Integer)
    sales_vnd_12m: Mapped[int | None] = mapped_column(BigInteger)
    #: medicinal plants: latest reported area and stage; harvest over 12 months
    area_m2: Mapped[float | None] = mapped_column(Float)
    stage: Mapped[str | None] = mapped_column(String(20))
    harvest_kg_12m: Mapped[float | None] = mapped_column(Float)
    harvest_value_vnd_12m: Mapped[int | None] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
