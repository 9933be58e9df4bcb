"""The pass-on ledger's rules: births, deaths, sales, purchases and pass-ons, and the due dates.

A household that receives a cow (or buffalo) owes a calf to the next household: the
calf the model's rule picks (its 1st or 2nd), handed on between the rule's ages
(default 6–12 months). A male owed calf is sold and a female bought (``sell_and_buy``)
or the household waits for a female (``next_calf``). When the cow dies before the owed
calf is born, a certified disease or disaster loss is the programme's (replaced or
written off, per rule); any other loss leaves the household owing a replacement (G:
DOMAIN.md). Handing on closes the giver's obligation and opens the receiver's, one
generation further down.

Plain functions over a Session; they flush but never commit (the caller owns the transaction).
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.db import rowcount
from spatial.models import (
    Animal,
    AnimalEvent,
    AnimalHolding,
    Household,
    LivelihoodModel,
    ModelParticipant,
    PassOnObligation,
    PassOnRule,
)
from spatial.models.ledger import CERTIFIABLE_CAUSES, DEATH_CAUSES, OPEN_STATUSES

#: model types whose animals are handed on, and their species
PASS_ON_TYPES = {"cow_bank": "cow", "buffalo_loan": "buffalo"}
#: statuses the due list shows
LISTED_STATUSES = ("due", "overdue")


class LedgerError(ParameterError):
    """An event the ledger cannot take; names the field (the visit answer) and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.field = field


@dataclass(frozen=True)
class Rule:
    """A model's pass-on rule (the defaults when the model has no row)."""

    calf_number: int = 1
    due_from_months: int = 6
    due_by_months: int = 12
    male_calf: str = "sell_and_buy"
    certified_death: str = "replaced"


def rule_for(session: Session, model_id: int) -> Rule:
    row = session.get(PassOnRule, model_id)
    if row is None:
        return Rule()
    return Rule(row.calf_number, row.due_from_months, row.due_by_months, row.male_calf, row.certified_death)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's end as PostgreSQL's ``date + interval`` does."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (the age of an animal born on ``start``)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if add_months(start, months) > end else months


# ---------------------------------------------------------------------------- lookups
def pass_on_model(session: Session, code: str, field: str = "model_code") -> LivelihoodModel:
    """A cow-bank or buffalo-loan model by code; outside the caller's scope it does not exist."""
    model = session.scalar(
        select(LivelihoodModel).where(LivelihoodModel.code == code, LivelihoodModel.deleted_at.is_(None))
    )
    if model is None:
        raise NotFound(f"{field}: no livelihood model {code!r}")
    if model.model_type not in PASS_ON_TYPES:
        raise LedgerError(
            field,
            f"model {code} is a {model.model_type} model; only {' and '.join(PASS_ON_TYPES)} models hand animals on",
        )
    return model


def animal_by_tag(session: Session, model_id: int, tag: str, field: str) -> Animal:
    animal = session.scalar(select(Animal).where(Animal.model_id == model_id, Animal.tag == tag))
    if animal is None:
        raise LedgerError(field, f"unknown tag {tag!r} in this model")
    return animal


def holder_of(session: Session, animal_id: int, on: date) -> int | None:
    """The household holding the animal on that day."""
    return session.scalar(
        select(AnimalHolding.household_id).where(
            AnimalHolding.animal_id == animal_id,
            AnimalHolding.held_from <= on,
            (AnimalHolding.held_to.is_(None)) | (AnimalHolding.held_to > on),
        )
    )


def held_animals(session: Session, model_id: int, household_id: int, on: date) -> list[Animal]:
    """Live animals of the model the household holds on that day."""
    return list(
        session.scalars(
            select(Animal)
            .join(AnimalHolding, AnimalHolding.animal_id == Animal.id)
            .where(
                Animal.model_id == model_id,
                Animal.status == "alive",
                AnimalHolding.household_id == household_id,
                AnimalHolding.held_from <= on,
                (AnimalHolding.held_to.is_(None)) | (AnimalHolding.held_to > on),
            )
            .order_by(Animal.birth_date.asc().nulls_first(), Animal.id)
        )
    )


def open_obligation_of_source(session: Session, animal_id: int) -> PassOnObligation | None:
    return session.scalar(
        select(PassOnObligation).where(
            PassOnObligation.source_animal_id == animal_id, PassOnObligation.status.in_(OPEN_STATUSES)
        )
    )


def _require_alive(animal: Animal, field: str) -> None:
    if animal.status != "alive":
        raise LedgerError(field, f"animal {animal.tag} is {animal.status}")


def _require_held(session: Session, animal: Animal, household_id: int, on: date, field: str) -> None:
    holder = holder_of(session, animal.id, on)
    if holder != household_id:
        raise LedgerError(field, f"animal {animal.tag} is not held by this household on {on.isoformat()}")


def _close_holding(session: Session, animal_id: int, on: date) -> None:
    holding = session.scalar(
        select(AnimalHolding).where(AnimalHolding.animal_id == animal_id, AnimalHolding.held_to.is_(None))
    )
    if holding is not None:
        if on < holding.held_from:
            raise LedgerError("date", f"{on.isoformat()} is before the holding began ({holding.held_from.isoformat()})")
        holding.held_to = on


@dataclass(frozen=True)
class Source:
    """Where a ledger entry comes from: a visit (its id), an import, a person, the demo."""

    kind: str = "manual"
    visit_id: Any = None
    user: str = "system"


def _event(session: Session, animal: Animal, kind: str, on: date, src: Source, **values: Any) -> AnimalEvent:
    ev = AnimalEvent(
        model_id=animal.model_id,
        animal_id=animal.id,
        kind=kind,
        occurred_on=on,
        source=src.kind,
        visit_id=src.visit_id,
        created_by=src.user,
        updated_by=src.user,
        **values,
    )
    session.add(ev)
    return ev


def _new_animal(
    session: Session,
    model_id: int,
    tag: str,
    species: str,
    sex: str,
    origin: str,
    birth_date: date | None,
    dam_id: int | None,
    field: str,
    src: Source,
) -> Animal:
    if session.scalar(select(Animal.id).where(Animal.model_id == model_id, Animal.tag == tag)) is not None:
        raise LedgerError(field, f"tag {tag!r} is already used in this model")
    animal = Animal(
        model_id=model_id,
        tag=tag,
        species=species,
        sex=sex,
        origin=origin,
        birth_date=birth_date,
        dam_id=dam_id,
        status="alive",
        created_by=src.user,
        updated_by=src.user,
    )
    session.add(animal)
    session.flush()
    return animal


def _hold(session: Session, animal: Animal, household_id: int, on: date, src: Source) -> None:
    session.add(
        AnimalHolding(
            model_id=animal.model_id,
            animal_id=animal.id,
            household_id=household_id,
            held_from=on,
            created_by=src.user,
            updated_by=src.user,
        )
    )


# ---------------------------------------------------------------------------- events
def receive_animal(
    session: Session,
    model: LivelihoodModel,
    household_id: int,
    tag: str,
    on: date,
    *,
    birth_date: date | None = None,
    src: Source = Source(),
) -> PassOnObligation:
    """The programme hands a female to a first-generation household: it now owes a calf."""
    animal = _new_animal(
        session, model.id, tag, PASS_ON_TYPES[model.model_type], "female", "received", birth_date, None, "tag", src
    )
    _hold(session, animal, household_id, on, src)
    _event(session, animal, "receipt", on, src, household_id=household_id)
    obligation = PassOnObligation(
        model_id=model.id,
        generation=1,
        giver_household_id=household_id,
        source_animal_id=animal.id,
        received_on=on,
        status="owed",
        created_by=src.user,
        updated_by=src.user,
    )
    session.add(obligation)
    session.flush()
    return obligation


def record_birth(
    session: Session,
    dam: Animal,
    on: date,
    sex: str,
    tag: str | None = None,
    *,
    src: Source = Source(),
    field: str = "births",
) -> Animal:
    """A calf is born to ``dam``; if the rule picks it, it becomes the owed calf."""
    if sex not in ("female", "male"):
        raise LedgerError(field, f"sex must be female or male, not {sex!r}")
    _require_alive(dam, field)
    if dam.sex != "female":
        raise LedgerError(field, f"animal {dam.tag} is male and cannot calve")
    holder = holder_of(session, dam.id, on)
    if holder is None:
        raise LedgerError(field, f"nobody holds {dam.tag} on {on.isoformat()}")
    calves = session.scalar(select(func.count()).select_from(Animal).where(Animal.dam_id == dam.id)) or 0
    if tag is None:
        tag = f"{dam.tag}-{calves + 1}"
    calf = _new_animal(session, dam.model_id, tag, dam.species, sex, "born", on, dam.id, "birth_tags", src)
    _hold(session, calf, holder, on, src)
    _event(session, calf, "birth", on, src, household_id=holder, detail=sex)
    obligation = open_obligation_of_source(session, dam.id)
    if obligation is not None and obligation.calf_id is None:
        rule = rule_for(session, dam.model_id)
        born_since = (
            session.scalar(
                select(func.count())
                .select_from(Animal)
                .where(Animal.dam_id == dam.id, Animal.birth_date >= obligation.received_on)
            )
            or 0
        )
        if born_since >= rule.calf_number and (sex == "female" or rule.male_calf == "sell_and_buy"):
            _attach_calf(obligation, calf, rule)
    session.flush()
    return calf


def _attach_calf(obligation: PassOnObligation, calf: Animal, rule: Rule) -> None:
    assert calf.birth_date is not None
    obligation.calf_id = calf.id
    obligation.due_from = add_months(calf.birth_date, rule.due_from_months)
    obligation.due_by = add_months(calf.birth_date, rule.due_by_months)
    obligation.status = "owed"


def record_death(
    session: Session,
    animal: Animal,
    on: date,
    cause: str,
    *,
    certified: bool = False,
    src: Source = Source(),
    field: str = "dead_tags",
) -> AnimalEvent:
    """An animal died. Before its owed calf is born, the rule decides who bears the loss."""
    if cause not in DEATH_CAUSES:
        raise LedgerError("death_cause", f"unknown cause {cause!r}")
    _require_alive(animal, field)
    holder = holder_of(session, animal.id, on)
    animal.status = "dead"
    _close_holding(session, animal.id, on)
    event = _event(session, animal, "death", on, src, household_id=holder, cause=cause, certified=certified)
    _death_consequences(session, animal, cause, certified)
    session.flush()
    return event


def _death_consequences(session: Session, animal: Animal, cause: str, certified: bool) -> None:
    # the owed calf died: the obligation waits for the rule's next calf
    for obligation in session.scalars(
        select(PassOnObligation).where(
            PassOnObligation.calf_id == animal.id, PassOnObligation.status.in_(OPEN_STATUSES)
        )
    ):
        obligation.calf_id = obligation.due_from = obligation.due_by = None
        obligation.status = "owed"
        obligation.note = f"owed calf {animal.tag} died ({cause}); the next calf is owed"
    owed = open_obligation_of_source(session, animal.id)
    if owed is None or owed.calf_id is not None:
        return  # nothing owed on it, or the owed calf lives on and is still owed
    if certified and cause in CERTIFIABLE_CAUSES:
        rule = rule_for(session, animal.model_id)
        owed.status = "animal_died"
        owed.replacement = "programme" if rule.certified_death == "replaced" else None
        owed.note = f"{animal.tag} died ({cause}, certified): " + (
            "the programme replaces it" if owed.replacement else "loss written off"
        )
    else:
        owed.replacement = "household"
        owed.note = f"{animal.tag} died ({cause}, not certified): the household replaces it and still owes"


def certify_death(session: Session, animal: Animal, *, src: Source = Source()) -> None:
    """A certificate arrives for a death already recorded: the rule for certified losses now applies."""
    event = session.scalar(select(AnimalEvent).where(AnimalEvent.animal_id == animal.id, AnimalEvent.kind == "death"))
    if event is None:
        raise LedgerError("dead_tags", f"no death of {animal.tag} is recorded")
    event.certified, event.updated_by = True, src.user
    obligation = open_obligation_of_source(session, animal.id)
    if obligation is not None and obligation.calf_id is None and event.cause in CERTIFIABLE_CAUSES:
        _death_consequences(session, animal, event.cause or "other", True)
    session.flush()


def record_replacement(
    session: Session,
    obligation: PassOnObligation,
    tag: str,
    on: date,
    *,
    birth_date: date | None = None,
    price_vnd: int | None = None,
    src: Source = Source(),
) -> Animal:
    """A replacement cow for one that died before its owed calf: the obligation moves to it."""
    if obligation.replacement is None or obligation.status not in (*OPEN_STATUSES, "animal_died"):
        raise LedgerError("tag", "this obligation is not waiting for a replacement")
    model = session.get(LivelihoodModel, obligation.model_id)
    assert model is not None
    by_programme = obligation.replacement == "programme"
    animal = _new_animal(
        session,
        model.id,
        tag,
        PASS_ON_TYPES[model.model_type],
        "female",
        "received" if by_programme else "bought",
        birth_date,
        None,
        "tag",
        src,
    )
    _hold(session, animal, obligation.giver_household_id, on, src)
    _event(
        session,
        animal,
        "receipt" if by_programme else "purchase",
        on,
        src,
        household_id=obligation.giver_household_id,
        price_vnd=price_vnd,
    )
    obligation.source_animal_id, obligation.received_on = animal.id, on
    obligation.status, obligation.replacement = "owed", None
    obligation.note = f"replaced by {tag} on {on.isoformat()} ({'programme' if by_programme else 'household'})"
    session.flush()
    return animal


def record_sale(
    session: Session,
    animal: Animal,
    on: date,
    price_vnd: int | None = None,
    *,
    buyer_household_id: int | None = None,
    src: Source = Source(),
    field: str = "tag",
) -> AnimalEvent:
    """An animal is sold. An owed female calf may not be; an owed male one is, under sell-and-buy."""
    _require_alive(animal, field)
    owed = session.scalar(
        select(PassOnObligation).where(
            PassOnObligation.calf_id == animal.id, PassOnObligation.status.in_(OPEN_STATUSES)
        )
    )
    if owed is not None and (animal.sex == "female" or rule_for(session, animal.model_id).male_calf != "sell_and_buy"):
        raise LedgerError(field, f"{animal.tag} is the calf owed to the next household and cannot be sold")
    if price_vnd is not None and price_vnd < 0:
        raise LedgerError("price_vnd", "a price cannot be negative")
    holder = holder_of(session, animal.id, on)
    animal.status = "sold"
    _close_holding(session, animal.id, on)
    event = _event(
        session,
        animal,
        "sale",
        on,
        src,
        household_id=holder,
        price_vnd=price_vnd,
        counterpart_household_id=buyer_household_id,
    )
    session.flush()
    return event


def record_purchase(
    session: Session,
    model: LivelihoodModel,
    household_id: int,
    tag: str,
    sex: str,
    on: date,
    *,
    price_vnd: int | None = None,
    birth_date: date | None = None,
    src: Source = Source(),
    field: str = "tag",
) -> Animal:
    """A household buys an animal into the model (e.g. the female bought with a male calf's price)."""
    animal = _new_animal(
        session, model.id, tag, PASS_ON_TYPES[model.model_type], sex, "bought", birth_date, None, field, src
    )
    _hold(session, animal, household_id, on, src)
    _event(session, animal, "purchase", on, src, household_id=household_id, price_vnd=price_vnd)
    session.flush()
    return animal


def record_vaccination(
    session: Session, animal: Animal, on: date, vaccine: str, *, src: Source = Source()
) -> AnimalEvent:
    _require_alive(animal, "vaccinations")
    event = _event(
        session, animal, "vaccination", on, src, household_id=holder_of(session, animal.id, on), detail=vaccine
    )
    session.flush()
    return event


def giver_obligation(
    session: Session, model_id: int, giver_household_id: int, animal: Animal | None
) -> PassOnObligation | None:
    """The open obligation a hand-over of ``animal`` settles: its own, else the giver's oldest."""
    open_ = (
        select(PassOnObligation)
        .where(
            PassOnObligation.model_id == model_id,
            PassOnObligation.giver_household_id == giver_household_id,
            PassOnObligation.status.in_(OPEN_STATUSES),
        )
        .order_by(PassOnObligation.received_on, PassOnObligation.id)
    )
    if animal is not None:
        own = session.scalar(open_.where(PassOnObligation.calf_id == animal.id))
        if own is not None:
            return own
    return session.scalar(open_)


def record_pass_on(
    session: Session,
    animal: Animal,
    receiver_household_id: int,
    on: date,
    *,
    src: Source = Source(),
    field: str = "pass_on_tag",
) -> PassOnObligation:
    """The giver hands ``animal`` on: its obligation is delivered and the receiver's begins."""
    _require_alive(animal, field)
    if animal.sex != "female":
        raise LedgerError(
            field,
            f"{animal.tag} is a male calf; a pass-on hands on a female "
            "(sell the male and buy a female under sell-and-buy)",
        )
    giver = holder_of(session, animal.id, on)
    if giver is None:
        raise LedgerError(field, f"nobody holds {animal.tag} on {on.isoformat()}")
    if giver == receiver_household_id:
        raise LedgerError("pass_on_to_household", "the receiver is the household handing on")
    obligation = giver_obligation(session, animal.model_id, giver, animal)
    if obligation is None:
        raise LedgerError(field, "this household owes no pass-on in this model")
    if obligation.source_animal_id == animal.id:
        raise LedgerError(field, f"{animal.tag} is the cow this household received; its calf is owed")
    rule = rule_for(session, animal.model_id)
    if (
        animal.origin == "born"
        and animal.birth_date is not None
        and months_between(animal.birth_date, on) < rule.due_from_months
    ):
        raise LedgerError(
            field,
            f"{animal.tag} is {months_between(animal.birth_date, on)} months old; "
            f"the model hands calves on from {rule.due_from_months} months",
        )
    _close_holding(session, animal.id, on)
    _hold(session, animal, receiver_household_id, on, src)
    _event(session, animal, "pass_on", on, src, household_id=giver, counterpart_household_id=receiver_household_id)
    obligation.status, obligation.receiver_household_id = "delivered", receiver_household_id
    obligation.delivered_animal_id, obligation.delivered_on = animal.id, on
    obligation.updated_by = src.user
    following = PassOnObligation(
        model_id=animal.model_id,
        generation=obligation.generation + 1,
        parent_id=obligation.id,
        giver_household_id=receiver_household_id,
        source_animal_id=animal.id,
        received_on=on,
        status="owed",
        created_by=src.user,
        updated_by=src.user,
    )
    session.add(following)
    _join_model(session, animal.model_id, giver, receiver_household_id, on, obligation.generation + 1, src)
    session.flush()
    return following


def _join_model(
    session: Session, model_id: int, giver: int, receiver: int, on: date, generation: int, src: Source
) -> None:
    """The receiver becomes a participant of the model (the chain ``model_participants`` keeps)."""
    exists = session.scalar(
        select(ModelParticipant.id).where(
            ModelParticipant.model_id == model_id, ModelParticipant.household_id == receiver
        )
    )
    if exists is not None:
        return
    from_id = session.scalar(
        select(ModelParticipant.id).where(ModelParticipant.model_id == model_id, ModelParticipant.household_id == giver)
    )
    session.add(
        ModelParticipant(
            model_id=model_id,
            household_id=receiver,
            joined_on=on,
            generation=generation,
            received_from_id=from_id,
            created_by=src.user,
            updated_by=src.user,
        )
    )


def mark_defaulted(session: Session, obligation: PassOnObligation, note: str, *, src: Source = Source()) -> None:
    """Give up on an obligation (the household left, sold the calf, refuses): it leaves the due list."""
    if obligation.status not in OPEN_STATUSES:
        raise LedgerError("status", f"the obligation is {obligation.status}, not open")
    obligation.status, obligation.note, obligation.updated_by = "defaulted", note, src.user
    session.flush()


# ---------------------------------------------------------------------------- due dates
_REFRESH = text("""
WITH w AS (
    SELECT o.id, d.due_from, d.due_by,
           CASE WHEN d.due_from IS NULL OR :as_of < d.due_from THEN 'owed'
                WHEN :as_of <= d.due_by THEN 'due' ELSE 'overdue' END AS status
    FROM pass_on_obligations o
    LEFT JOIN animals c ON c.id = o.calf_id
    LEFT JOIN pass_on_rules r ON r.model_id = o.model_id
    CROSS JOIN LATERAL (SELECT
        (c.birth_date + make_interval(months => coalesce(r.due_from_months, :from_months)))::date AS due_from,
        (c.birth_date + make_interval(months => coalesce(r.due_by_months, :by_months)))::date AS due_by) d
    WHERE o.status IN ('owed', 'due', 'overdue')
)
UPDATE pass_on_obligations o SET due_from = w.due_from, due_by = w.due_by, status = w.status
FROM w
WHERE o.id = w.id AND (o.status, o.due_from, o.due_by) IS DISTINCT FROM (w.status, w.due_from, w.due_by)
""")


def refresh_pass_on_status(session: Session, as_of: date) -> int:
    """Due from the owed calf's birth plus the rule's months, overdue after its last day.

    Recomputes the window from the current rule, so a changed rule applies at once;
    returns how many obligations changed (0 when run twice for the same day)."""
    defaults = Rule()
    return rowcount(
        session.execute(
            _REFRESH, {"as_of": as_of, "from_months": defaults.due_from_months, "by_months": defaults.due_by_months}
        )
    )


# ---------------------------------------------------------------------------- reading
_OBLIGATIONS = """
SELECT o.id, o.parent_id, o.generation, o.status, o.due_from, o.due_by, o.received_on, o.delivered_on,
       o.replacement, o.note,
       g.code AS giver_code, g.head_name AS giver_name,
       s.tag AS source_tag, s.status AS source_status,
       c.tag AS calf_tag, c.sex AS calf_sex, c.birth_date AS calf_born, c.status AS calf_status,
       d.tag AS delivered_tag, rcv.code AS receiver_code, rcv.head_name AS receiver_name
FROM pass_on_obligations o
LEFT JOIN households g ON g.id = o.giver_household_id
JOIN animals s ON s.id = o.source_animal_id
LEFT JOIN animals c ON c.id = o.calf_id
LEFT JOIN animals d ON d.id = o.delivered_animal_id
LEFT JOIN households rcv ON rcv.id = o.receiver_household_id
"""


def model_chain(session: Session, code: str) -> dict[str, Any]:
    """A model's pass-on tree: first-generation households at the roots, each node the
    obligation of one household (its cow, the owed calf, status and due dates) with the
    households it handed on to below it, and how many households lie downstream."""
    model = pass_on_model(session, code, "code")
    rows = [
        dict(r._mapping)
        for r in session.execute(
            text(_OBLIGATIONS + " WHERE o.model_id = :m ORDER BY o.generation, o.received_on, o.id"), {"m": model.id}
        )
    ]
    by_id = {r["id"]: {**r, "children": []} for r in rows}
    roots: list[dict[str, Any]] = []
    for node in by_id.values():
        parent = by_id.get(node["parent_id"])
        (parent["children"] if parent else roots).append(node)

    def downstream(node: dict[str, Any]) -> int:
        node["downstream_households"] = sum(1 + downstream(child) for child in node["children"])
        return node["downstream_households"]

    for root in roots:
        downstream(root)
    commune = session.scalar(text("SELECT name FROM admin_units WHERE id = :c"), {"c": model.commune_id})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "code": model.code,
        "name": model.name,
        "model_type": model.model_type,
        "commune": commune,
        "species": PASS_ON_TYPES[model.model_type],
        "rule": asdict(rule_for(session, model.id)),
        "generations": max((r["generation"] for r in rows), default=0),
        "households": len({r["giver_code"] for r in rows} | {r["receiver_code"] for r in rows if r["receiver_code"]}),
        "status_counts": counts,
        "chain": roots,
    }


def pass_on_due(session: Session, status: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Pass-ons due or overdue in the caller's scope, most overdue first."""
    statuses = LISTED_STATUSES if status in (None, "", "all") else (status,)
    if statuses[0] not in LISTED_STATUSES:
        raise ParameterError("status", f"unknown status {status!r}", [*LISTED_STATUSES, "all"])
    q = text(
        _OBLIGATIONS.replace(
            "SELECT o.id,", "SELECT m.code AS model_code, m.name AS model_name, m.model_type, u.name AS commune, o.id,"
        )
        + " JOIN livelihood_models m ON m.id = o.model_id LEFT JOIN admin_units u ON u.id = m.commune_id"
        + " WHERE o.status = ANY(:statuses) AND m.deleted_at IS NULL"
        + " ORDER BY o.due_by, m.code, o.id LIMIT :limit"
    )
    return [dict(r._mapping) for r in session.execute(q, {"statuses": list(statuses), "limit": limit})]


def household_by_code(session: Session, code: str, field: str) -> Household:
    household = session.scalar(select(Household).where(Household.code == code, Household.deleted_at.is_(None)))
    if household is None:
        raise LedgerError(field, f"household {code!r} not found")
    return household
