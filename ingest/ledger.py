"""Visits update the pass-on ledger: the answers of a cow_bank / buffalo_loan visit form.

The answer names are a contract with the field form (see ``ANSWERS``). Every answer is
checked before anything is written, and the writes run in a savepoint, so a visit is
applied completely or not at all; its id is recorded in ``ledger_visits``, so applying
the same visit again (a re-sync) changes nothing.

Visits say how many calves were born, not to which cow: each birth goes to a different
cow of the household old enough to calve (the received cow first, then the oldest),
dated the visit day. A death is recorded uncertified unless the optional answer
``death_certified`` is ``yes``; a certificate arriving later goes through
``spatial.ledger.certify_death``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from spatial import NotFound
from spatial.ledger import (
    LedgerError,
    Source,
    animal_by_tag,
    giver_obligation,
    held_animals,
    household_by_code,
    months_between,
    open_obligation_of_source,
    pass_on_model,
    record_birth,
    record_death,
    record_pass_on,
    record_purchase,
    record_sale,
    record_vaccination,
    rule_for,
)
from spatial.models import Animal, AnimalHolding, LedgerVisit, ModelParticipant
from spatial.models.ledger import CONDITIONS, DEATH_CAUSES, VACCINES

#: the cow_bank form's answers this module reads
ANSWERS = (
    "household_code",
    "animal_tags_present",
    "births_female",
    "births_male",
    "birth_tags",
    "deaths",
    "death_cause",
    "dead_tags",
    "vaccinations",
    "pass_on_done",
    "pass_on_tag",
    "pass_on_to_household",
    "condition",
    "notes",
    "death_certified",
)
#: a cow or buffalo calves from about this age (G: first calf usually at about 2 years)
CALVING_AGE_MONTHS = 15
PROGRAMME_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class VisitOutcome:
    visit_id: str
    applied: bool
    births: list[str] = field(default_factory=list)
    deaths: list[str] = field(default_factory=list)
    vaccinations: int = 0
    passed_on: str | None = None
    receiver: str | None = None
    #: animals the household holds that the visit did not see
    missing: list[str] = field(default_factory=list)


def _visit_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise LedgerError("visit_id", f"{value!r} is not a UUID") from None


def _visit_day(value: Any) -> date:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise LedgerError("visited_at", f"{value!r} is not an ISO date or date-time") from None
    if isinstance(value, datetime):
        return value.astimezone(PROGRAMME_TZ).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    raise LedgerError("visited_at", "a date or date-time is required")


def _text(answers: dict[str, Any], name: str) -> str:
    value = answers.get(name)
    return "" if value is None else str(value).strip()


def _count(answers: dict[str, Any], name: str) -> int:
    raw = answers.get(name)
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
        if isinstance(raw, float) and raw != value:
            raise ValueError
    except (TypeError, ValueError):
        raise LedgerError(name, f"{raw!r} is not a whole number") from None
    if value < 0:
        raise LedgerError(name, "cannot be negative")
    return value


def _tags(answers: dict[str, Any], name: str) -> list[str]:
    """Tags or choice names: a select_multiple answer (a list, as the forms' validator has it) or
    space-separated text (ear tags typed in a text question)."""
    value = answers.get(name)
    tags = [str(v).strip() for v in value] if isinstance(value, list) else _text(answers, name).split()
    seen: set[str] = set()
    for tag in tags:
        if tag in seen:
            raise LedgerError(name, f"tag {tag!r} is listed twice")
        seen.add(tag)
    return tags


def _choice(answers: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = _text(answers, name) or default
    if value is not None and value not in allowed:
        raise LedgerError(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def apply_visit(
    session: Session, visit_id: Any, model_code: str, visited_at: Any, answers: dict[str, Any], user: str
) -> VisitOutcome:
    """Record what a visit saw: births, deaths, vaccinations, a pass-on. Nothing is written
    when an answer is wrong (the error names it); a visit already applied is left alone."""
    vid = _visit_uuid(visit_id)
    if session.get(LedgerVisit, vid) is not None:
        return VisitOutcome(str(vid), applied=False)
    try:
        model = pass_on_model(session, model_code)
    except NotFound:
        raise LedgerError("model_code", f"no livelihood model {model_code!r}") from None
    on = _visit_day(visited_at)
    plan = _Plan(session, model, on, answers)
    src = Source("visit", vid, user)
    with session.begin_nested():
        inserted = session.scalar(
            insert(LedgerVisit)
            .values(
                visit_id=vid,
                model_id=model.id,
                household_id=plan.household.id,
                visited_on=on,
                condition=plan.condition,
                answers=_jsonable(answers),
                created_by=user,
                updated_by=user,
            )
            .on_conflict_do_nothing(index_elements=["visit_id"])
            .returning(LedgerVisit.visit_id)
        )
        if inserted is None:  # another sync of the same visit got there first
            return VisitOutcome(str(vid), applied=False)
        return plan.write(src)


def _jsonable(answers: dict[str, Any]) -> dict[str, Any]:
    plain = (str, int, float, bool, type(None))
    return {
        k: v if isinstance(v, plain) or (isinstance(v, list) and all(isinstance(x, plain) for x in v)) else str(v)
        for k, v in answers.items()
    }


class _Plan:
    """The visit's answers, checked against the ledger before anything is written."""

    def __init__(self, session: Session, model, on: date, answers: dict[str, Any]):
        self.s, self.model, self.on = session, model, on
        code = _text(answers, "household_code")
        if not code:
            raise LedgerError("household_code", "required")
        self.household = household_by_code(session, code, "household_code")
        hid = self.household.id
        in_model = session.scalar(
            select(ModelParticipant.id).where(
                ModelParticipant.model_id == model.id, ModelParticipant.household_id == hid
            )
        ) or session.scalar(
            select(AnimalHolding.id).where(AnimalHolding.model_id == model.id, AnimalHolding.household_id == hid)
        )
        if not in_model:
            raise LedgerError("household_code", f"household {code} is not in model {model.code}")
        self.held = {a.tag: a for a in held_animals(session, model.id, hid, on)}
        self.present = [self._held_tag("animal_tags_present", t) for t in _tags(answers, "animal_tags_present")]
        # deaths
        self.deaths = _count(answers, "deaths")
        dead_tags = _tags(answers, "dead_tags")
        if len(dead_tags) != self.deaths:
            raise LedgerError("dead_tags", f"{len(dead_tags)} tags listed for {self.deaths} deaths")
        self.dead = [self._held_tag("dead_tags", t) for t in dead_tags]
        self.cause = _choice(answers, "death_cause", DEATH_CAUSES, None)
        if self.deaths and self.cause is None:
            raise LedgerError("death_cause", "required when deaths are reported")
        self.certified = _choice(answers, "death_certified", ("yes", "no"), "no") == "yes"
        # births
        females, males = _count(answers, "births_female"), _count(answers, "births_male")
        self.births = ["female"] * females + ["male"] * males
        birth_tags = _tags(answers, "birth_tags")
        if birth_tags and len(birth_tags) != len(self.births):
            raise LedgerError(
                "birth_tags",
                f"{len(birth_tags)} tags listed for {len(self.births)} births (females' tags first, then males')",
            )
        for tag in birth_tags:
            if tag in self.held or session.scalar(
                select(Animal.id).where(Animal.model_id == model.id, Animal.tag == tag)
            ):
                raise LedgerError("birth_tags", f"tag {tag!r} is already used in this model")
        self.birth_tags: list[str | None] = list(birth_tags) or [None] * len(self.births)
        self.dams = self._dams()
        if len(self.births) > len(self.dams):
            field_name = "births_female" if females else "births_male"
            raise LedgerError(
                field_name,
                f"{len(self.births)} births but the household holds {len(self.dams)} cow(s) old enough to calve",
            )
        # vaccinations
        vaccines = _tags(answers, "vaccinations")
        for v in vaccines:
            if v not in (*VACCINES, "none"):
                raise LedgerError("vaccinations", f"{v!r} is not one of {', '.join((*VACCINES, 'none'))}")
        if "none" in vaccines and len(vaccines) > 1:
            raise LedgerError("vaccinations", "'none' cannot be listed with vaccines")
        self.vaccines = [v for v in vaccines if v != "none"]
        self.condition = _choice(answers, "condition", CONDITIONS, None)
        self._plan_pass_on(answers)

    def _held_tag(self, name: str, tag: str) -> Animal:
        if tag in self.held:
            return self.held[tag]
        animal = animal_by_tag(self.s, self.model.id, tag, name)
        if animal.status != "alive":
            raise LedgerError(name, f"animal {tag} is {animal.status}")
        raise LedgerError(name, f"animal {tag} is not held by household {self.household.code}")

    def _dams(self) -> list[Animal]:
        def grown(a: Animal) -> bool:
            return a.birth_date is None or months_between(a.birth_date, self.on) >= CALVING_AGE_MONTHS

        cows = [a for a in self.held.values() if a.sex == "female" and grown(a)]
        owing = {a.id for a in cows if open_obligation_of_source(self.s, a.id) is not None}
        return sorted(cows, key=lambda a: (a.id not in owing, a.birth_date or date.min, a.id))

    def _plan_pass_on(self, answers: dict[str, Any]) -> None:
        self.pass_on = _choice(answers, "pass_on_done", ("yes", "no"), "no") == "yes"
        self.pass_animal: Animal | None = None
        self.buy_for_male: Animal | None = None
        if not self.pass_on:
            return
        tag = _text(answers, "pass_on_tag")
        if not tag:
            raise LedgerError("pass_on_tag", "required when pass_on_done is yes")
        receiver_code = _text(answers, "pass_on_to_household")
        if not receiver_code:
            raise LedgerError("pass_on_to_household", "required when pass_on_done is yes")
        self.receiver = household_by_code(self.s, receiver_code, "pass_on_to_household")
        if self.receiver.id == self.household.id:
            raise LedgerError("pass_on_to_household", "the receiver is the visited household")
        self.pass_tag = tag
        known = self.s.scalar(select(Animal).where(Animal.model_id == self.model.id, Animal.tag == tag))
        if known is not None:
            animal = self._held_tag("pass_on_tag", tag)
            if animal.sex != "female":
                raise LedgerError(
                    "pass_on_tag",
                    f"{tag} is a male calf; only a female is handed on (a male owed calf is sold and a female bought)",
                )
            if animal in self.dead:
                raise LedgerError("pass_on_tag", f"{tag} is reported dead in this visit")
            self.pass_animal = animal
            return
        # an unknown tag is the female bought with an owed male calf's price (sell-and-buy)
        obligation = giver_obligation(self.s, self.model.id, self.household.id, None)
        male = self.s.get(Animal, obligation.calf_id) if obligation and obligation.calf_id else None
        if male is None or male.sex != "male" or rule_for(self.s, self.model.id).male_calf != "sell_and_buy":
            raise LedgerError("pass_on_tag", f"unknown tag {tag!r} in this model")
        self.buy_for_male = male

    def write(self, src: Source) -> VisitOutcome:
        s, on = self.s, self.on
        out = VisitOutcome(str(src.visit_id), applied=True)
        for dam, sex, tag in zip(self.dams, self.births, self.birth_tags, strict=False):
            out.births.append(record_birth(s, dam, on, sex, tag, src=src, field=f"births_{sex}").tag)
        for animal in self.dead:
            record_death(s, animal, on, self.cause or "other", certified=self.certified, src=src)
            out.deaths.append(animal.tag)
        seen = self.present or list(self.held.values())
        for animal in seen:
            if animal.status == "alive":
                for vaccine in self.vaccines:
                    record_vaccination(s, animal, on, vaccine, src=src)
                    out.vaccinations += 1
        if self.pass_on:
            handed = self.pass_animal
            if handed is None:
                male = self.buy_for_male
                assert male is not None
                if male.status == "alive":
                    record_sale(s, male, on, src=src, field="pass_on_tag")
                handed = record_purchase(
                    s, self.model, self.household.id, self.pass_tag, "female", on, src=src, field="pass_on_tag"
                )
            record_pass_on(s, handed, self.receiver.id, on, src=src)
            out.passed_on, out.receiver = handed.tag, self.receiver.code
        out.missing = sorted(set(self.held) - {a.tag for a in self.present}) if self.present else []
        return out
