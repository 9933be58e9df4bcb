"""The cow-bank / buffalo-loan pass-on ledger: animals, who held them, what happened, who owes whom.

Every ledger row carries its model's id, so row-level security scopes it the way it
scopes the model (the model's commune); composite foreign keys keep an animal's
holdings, events and obligations in the animal's own model.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

SPECIES = ("cow", "buffalo")
SEXES = ("female", "male")
ORIGINS = ("received", "born", "bought")
ANIMAL_STATUSES = ("alive", "dead", "sold")
#: receipt: handed over by the programme (a first cow, or a replacement)
EVENT_KINDS = ("birth", "death", "sale", "pass_on", "vaccination", "purchase", "receipt")
DEATH_CAUSES = ("disease", "disaster", "accident", "negligence", "other")
#: causes a certificate (veterinary or commune) can make a programme loss rather than the household's
CERTIFIABLE_CAUSES = ("disease", "disaster")
VACCINES = ("fmd", "lumpy_skin", "haemorrhagic_septicaemia")
EVENT_SOURCES = ("visit", "import", "manual", "demo")
#: owed: no calf of the rule yet (or not yet old enough); due: inside the age window;
#: overdue: past it; delivered: handed on; defaulted: given up on; animal_died: the cow died
#: and the loss is the programme's (written off, or waiting for its replacement cow)
OBLIGATION_STATUSES = ("owed", "due", "overdue", "delivered", "defaulted", "animal_died")
OPEN_STATUSES = ("owed", "due", "overdue")
MALE_CALF_RULES = ("sell_and_buy", "next_calf")
CERTIFIED_DEATH_RULES = ("replaced", "written_off")
REPLACEMENT_BY = ("programme", "household")
CONDITIONS = ("good", "fair", "poor")


class PassOnRule(Base, Edited):
    """How a model hands on: which calf, at what age, what a male calf or a death means.

    A model without a row follows the defaults (first calf, 6–12 months, a male calf is
    sold and a female bought, certified deaths replaced by the programme)."""

    __tablename__ = "pass_on_rules"
    __table_args__ = (
        CheckConstraint("calf_number IN (1, 2)", name="calf_number"),
        CheckConstraint("due_from_months >= 0 AND due_by_months >= due_from_months", name="window"),
        CheckConstraint("male_calf IN ('sell_and_buy','next_calf')", name="male_calf"),
        CheckConstraint("certified_death IN ('replaced','written_off')", name="certified_death"),
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("livelihood_models.id", ondelete="CASCADE"), primary_key=True)
    #: the received cow's 1st or 2nd calf is owed
    calf_number: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="1")
    #: age of the calf, in months, from which it may be handed on, and by which it must be
    due_from_months: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="6")
    due_by_months: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="12")
    #: sell_and_buy: a male owed calf is sold and a female bought to hand on; next_calf: wait for a female
    male_calf: Mapped[str] = mapped_column(String(12), nullable=False, server_default="sell_and_buy")
    #: a certified disease/disaster death: the programme replaces the cow, or writes the loss off
    certified_death: Mapped[str] = mapped_column(String(11), nullable=False, server_default="replaced")
    note: Mapped[str | None] = mapped_column(Text)


class Animal(Base, Edited):
    """A cow or buffalo of a model; tags are unique within the model (the programme tags them)."""

    __tablename__ = "animals"
    __table_args__ = (
        UniqueConstraint("model_id", "tag", name="uq_animals_model_tag"),
        UniqueConstraint("id", "model_id", name="uq_animals_id_model"),
        CheckConstraint("species IN ('cow','buffalo')", name="species"),
        CheckConstraint("sex IN ('female','male')", name="sex"),
        CheckConstraint("origin IN ('received','born','bought')", name="origin"),
        CheckConstraint("status IN ('alive','dead','sold')", name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("livelihood_models.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tag: Mapped[str] = mapped_column(String(30), nullable=False)
    species: Mapped[str] = mapped_column(String(7), nullable=False)
    sex: Mapped[str] = mapped_column(String(6), nullable=False)
    birth_date: Mapped[date | None] = mapped_column(Date)
    dam_id: Mapped[int | None] = mapped_column(ForeignKey("animals.id"), index=True)
    origin: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(5), nullable=False, server_default="alive")


class AnimalHolding(Base, Edited):
    """Which household held an animal, from when until when (open: still holds it).

    An exclusion constraint in the migration (btree_gist) refuses overlapping holdings
    of one animal: ``EXCLUDE USING gist (animal_id WITH =, daterange(held_from, held_to) WITH &&)``."""

    __tablename__ = "animal_holdings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["animal_id", "model_id"],
            ["animals.id", "animals.model_id"],
            name="fk_animal_holdings_animal_model",
            ondelete="CASCADE",
        ),
        CheckConstraint("held_to IS NULL OR held_to >= held_from", name="period"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    animal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), nullable=False, index=True)
    held_from: Mapped[date] = mapped_column(Date, nullable=False)
    held_to: Mapped[date | None] = mapped_column(Date)


class AnimalEvent(Base, Edited):
    """A birth, death, sale, pass-on, vaccination, purchase or receipt of one animal.

    A visit's events carry its id: (visit, kind, animal, detail) is unique, so a visit
    applied twice cannot record the same thing twice."""

    __tablename__ = "animal_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["animal_id", "model_id"],
            ["animals.id", "animals.model_id"],
            name="fk_animal_events_animal_model",
            ondelete="CASCADE",
        ),
        UniqueConstraint("visit_id", "kind", "animal_id", "detail", name="uq_animal_events_visit"),
        CheckConstraint("kind IN ('birth','death','sale','pass_on','vaccination','purchase','receipt')", name="kind"),
        CheckConstraint("cause IN ('disease','disaster','accident','negligence','other')", name="cause"),
        CheckConstraint("kind <> 'death' OR cause IS NOT NULL", name="death_has_cause"),
        CheckConstraint("price_vnd >= 0", name="price"),
        CheckConstraint("source IN ('visit','import','manual','demo')", name="source"),
        CheckConstraint("source <> 'visit' OR visit_id IS NOT NULL", name="visit_source"),
        Index("ix_animal_events_animal_on", "animal_id", "occurred_on"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    animal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(11), nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: the household holding the animal when it happened
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    #: the other side: the receiver of a pass-on, a buyer, a seller
    counterpart_household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    cause: Mapped[str | None] = mapped_column(String(10))
    #: a death certified by a veterinarian or the commune (disease, disaster)
    certified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    price_vnd: Mapped[int | None] = mapped_column(BigInteger)
    #: what else identifies the event: the vaccine of a vaccination
    detail: Mapped[str] = mapped_column(String(40), nullable=False, server_default="")
    visit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source: Mapped[str] = mapped_column(String(6), nullable=False, server_default="manual")
    note: Mapped[str | None] = mapped_column(Text)


class PassOnObligation(Base, Edited):
    """What a household owes for the animal it received: a calf for the next household.

    ``generation`` is the giver's: 1 for a household that received from the programme.
    ``parent_id`` is the obligation whose delivery gave the giver its cow, so the
    obligations of a model form its pass-on tree."""

    __tablename__ = "pass_on_obligations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["source_animal_id", "model_id"],
            ["animals.id", "animals.model_id"],
            name="fk_pass_on_obligations_source_model",
            ondelete="CASCADE",
        ),
        UniqueConstraint("source_animal_id", name="uq_pass_on_obligations_source_animal_id"),
        CheckConstraint("generation >= 1", name="generation"),
        CheckConstraint("status IN ('owed','due','overdue','delivered','defaulted','animal_died')", name="status"),
        CheckConstraint("replacement IN ('programme','household')", name="replacement"),
        CheckConstraint("(due_from IS NULL) = (due_by IS NULL) AND due_by >= due_from", name="window"),
        CheckConstraint(
            "status <> 'delivered' OR (receiver_household_id IS NOT NULL AND delivered_on IS NOT NULL "
            "AND delivered_animal_id IS NOT NULL)",
            name="delivered_complete",
        ),
        Index("ix_pass_on_obligations_model_status", "model_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(Integer, nullable=False)
    generation: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("pass_on_obligations.id"), index=True)
    giver_household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), nullable=False, index=True)
    #: the cow whose calf is owed
    source_animal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    #: the day the giver received the source cow
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: the calf the rule picks, once born
    calf_id: Mapped[int | None] = mapped_column(ForeignKey("animals.id"))
    due_from: Mapped[date | None] = mapped_column(Date)
    due_by: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(11), nullable=False, server_default="owed")
    #: who owes a replacement cow after the source cow died: the programme (certified) or the household
    replacement: Mapped[str | None] = mapped_column(String(9))
    receiver_household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    #: the calf itself, or the female bought with a male calf's price
    delivered_animal_id: Mapped[int | None] = mapped_column(ForeignKey("animals.id"))
    delivered_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class LedgerVisit(Base, Edited):
    """A field visit applied to the ledger: its id is the key, so applying it again does nothing."""

    __tablename__ = "ledger_visits"
    __table_args__ = (CheckConstraint("condition IN ('good','fair','poor')", name="condition"),)
    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("livelihood_models.id", ondelete="CASCADE"), nullable=False, index=True
    )
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), nullable=False, index=True)
    visited_on: Mapped[date] = mapped_column(Date, nullable=False)
    condition: Mapped[str | None] = mapped_column(String(4))
    answers: Mapped[dict] = mapped_column(JSONB, nullable=False)
