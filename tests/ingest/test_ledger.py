"""Visits update the ledger: births, deaths, vaccinations, pass-ons; re-applying is harmless;
a wrong answer is refused by name and leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from ingest.ledger import apply_visit
from spatial.ledger import LedgerError, receive_animal, record_birth
from spatial.models import (
    Animal,
    AnimalEvent,
    AnimalHolding,
    Household,
    LedgerVisit,
    LivelihoodModel,
    ModelParticipant,
    PassOnObligation,
    PassOnRule,
)


@pytest.fixture
def herd(db, cow_bank):
    """The demo cow bank (default rule), a giver holding a grown cow, and a receiver household."""
    m, homes = cow_bank
    giver_id = homes[0]
    receiver = db.scalar(
        select(Household)
        .where(
            Household.commune_id == db.get(Household, giver_id).commune_id,
            Household.id.not_in(select(ModelParticipant.household_id)),
        )
        .order_by(Household.id)
        .limit(1)
    )
    ob = receive_animal(
        db, m, giver_id, "V-COW", date(2023, 3, 1), birth_date=date(2019, 6, 1)
    )  # older than any demo cow: births go to it first
    return m, db.get(Household, giver_id), receiver, ob


def _counts(db):
    return tuple(
        db.scalar(select(func.count()).select_from(t))
        for t in (Animal, AnimalEvent, AnimalHolding, PassOnObligation, LedgerVisit, ModelParticipant)
    )


def test_birth_then_pass_on_opens_the_next_generation(db, herd):
    m, giver, receiver, ob = herd
    out = apply_visit(
        db,
        uuid.uuid4(),
        m.code,
        date(2024, 4, 2),
        {
            "household_code": giver.code,
            "animal_tags_present": "V-COW",
            "births_female": "1",
            "births_male": "0",
            "birth_tags": "V-CALF",
            "deaths": "0",
            "vaccinations": "fmd lumpy_skin",
            "pass_on_done": "no",
            "condition": "good",
            "notes": "Bê cái khỏe",
        },
        "t_extension_worker",
    )
    assert out.applied and out.births == ["V-CALF"] and out.vaccinations == 2
    db.refresh(ob)
    calf = db.scalar(select(Animal).where(Animal.model_id == m.id, Animal.tag == "V-CALF"))
    assert (calf.sex, calf.dam_id, calf.birth_date, calf.origin) == (
        "female",
        ob.source_animal_id,
        date(2024, 4, 2),
        "born",
    )
    assert ob.calf_id == calf.id and (ob.due_from, ob.due_by) == (date(2024, 10, 2), date(2025, 4, 2))

    visit = uuid.uuid4()
    out = apply_visit(
        db,
        visit,
        m.code,
        datetime(2024, 11, 5, 9, 30, tzinfo=UTC),
        {
            "household_code": giver.code,
            "animal_tags_present": "V-COW V-CALF",
            "pass_on_done": "yes",
            "pass_on_tag": "V-CALF",
            "pass_on_to_household": receiver.code,
        },
        "t_extension_worker",
    )
    assert out.passed_on == "V-CALF" and out.receiver == receiver.code
    db.refresh(ob)
    assert (ob.status, ob.receiver_household_id, ob.delivered_on) == ("delivered", receiver.id, date(2024, 11, 5))
    following = db.scalar(select(PassOnObligation).where(PassOnObligation.parent_id == ob.id))
    assert (following.generation, following.giver_household_id, following.source_animal_id, following.status) == (
        ob.generation + 1,
        receiver.id,
        calf.id,
        "owed",
    )
    holdings = db.execute(
        select(AnimalHolding.household_id, AnimalHolding.held_from, AnimalHolding.held_to)
        .where(AnimalHolding.animal_id == calf.id)
        .order_by(AnimalHolding.held_from)
    ).all()
    assert holdings == [(giver.id, date(2024, 4, 2), date(2024, 11, 5)), (receiver.id, date(2024, 11, 5), None)]
    joined = db.scalar(
        select(ModelParticipant).where(ModelParticipant.model_id == m.id, ModelParticipant.household_id == receiver.id)
    )
    assert joined.generation == ob.generation + 1 and joined.joined_on == date(2024, 11, 5)

    # the same visit synced again: nothing changes, and it is not an error
    before = _counts(db)
    again = apply_visit(
        db,
        visit,
        m.code,
        date(2024, 11, 5),
        {
            "household_code": giver.code,
            "pass_on_done": "yes",
            "pass_on_tag": "V-CALF",
            "pass_on_to_household": receiver.code,
        },
        "t_extension_worker",
    )
    assert not again.applied and _counts(db) == before


def test_death_reported_by_a_visit(db, herd):
    m, giver, _, ob = herd
    out = apply_visit(
        db,
        str(uuid.uuid4()),
        m.code,
        "2023-09-10",
        {
            "household_code": giver.code,
            "deaths": 1,
            "dead_tags": "V-COW",
            "death_cause": "disease",
            "death_certified": "yes",
        },
        "t_extension_worker",
    )
    assert out.deaths == ["V-COW"]
    db.refresh(ob)
    assert (ob.status, ob.replacement) == ("animal_died", "programme")
    death = db.scalar(
        select(AnimalEvent).where(AnimalEvent.animal_id == ob.source_animal_id, AnimalEvent.kind == "death")
    )
    assert (death.cause, death.certified, death.source, death.occurred_on) == (
        "disease",
        True,
        "visit",
        date(2023, 9, 10),
    )
    assert db.get(Animal, ob.source_animal_id).status == "dead"


def test_unknown_tag_for_a_bull_calf_is_the_bought_female(db, herd):
    m, giver, receiver, ob = herd
    record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 1, 5), "male", "V-BULL")
    apply_visit(
        db,
        uuid.uuid4(),
        m.code,
        date(2024, 9, 1),
        {
            "household_code": giver.code,
            "pass_on_done": "yes",
            "pass_on_tag": "V-BOUGHT",
            "pass_on_to_household": receiver.code,
        },
        "t_extension_worker",
    )
    db.refresh(ob)
    bought = db.scalar(select(Animal).where(Animal.model_id == m.id, Animal.tag == "V-BOUGHT"))
    assert (bought.origin, bought.sex) == ("bought", "female")
    assert ob.status == "delivered" and ob.delivered_animal_id == bought.id
    assert db.scalar(select(Animal.status).where(Animal.model_id == m.id, Animal.tag == "V-BULL")) == "sold"


BAD = [
    ({"household_code": "NO-SUCH"}, "household_code", "not found"),
    ({"animal_tags_present": "NOPE-1"}, "animal_tags_present", "unknown tag"),
    ({"births_female": "two"}, "births_female", "whole number"),
    ({"births_female": "-1"}, "births_female", "negative"),
    ({"births_female": "3"}, "births_female", "old enough"),
    ({"births_female": "1", "birth_tags": "A B"}, "birth_tags", "2 tags listed for 1 births"),
    ({"deaths": "1"}, "dead_tags", "0 tags listed"),
    ({"deaths": "1", "dead_tags": "V-COW"}, "death_cause", "required"),
    ({"deaths": "1", "dead_tags": "V-COW", "death_cause": "witchcraft"}, "death_cause", "not one of"),
    ({"vaccinations": "fmd rabies"}, "vaccinations", "rabies"),
    ({"vaccinations": ["fmd", "rabies"]}, "vaccinations", "rabies"),
    ({"vaccinations": ["none", "fmd"]}, "vaccinations", "'none' cannot be listed"),
    ({"condition": "splendid"}, "condition", "not one of"),
    ({"pass_on_done": "yes", "pass_on_to_household": "X"}, "pass_on_tag", "required"),
    ({"pass_on_done": "yes", "pass_on_tag": "V-COW"}, "pass_on_to_household", "required"),
    (
        {"pass_on_done": "yes", "pass_on_tag": "V-COW", "pass_on_to_household": "NO-SUCH"},
        "pass_on_to_household",
        "not found",
    ),
    (
        {"pass_on_done": "yes", "pass_on_tag": "GHOST", "pass_on_to_household": "{receiver}"},
        "pass_on_tag",
        "unknown tag",
    ),
    ({"pass_on_done": "maybe"}, "pass_on_done", "not one of"),
]


@pytest.mark.parametrize(("answers", "field", "reason"), BAD)
def test_bad_answers_name_the_field(db, herd, answers, field, reason):
    m, giver, receiver, _ = herd
    answers = {k: v.replace("{receiver}", receiver.code) if isinstance(v, str) else v for k, v in answers.items()}
    before = _counts(db)
    with pytest.raises(LedgerError) as err:
        apply_visit(
            db, uuid.uuid4(), m.code, date(2024, 4, 2), {"household_code": giver.code, **answers}, "t_extension_worker"
        )
    assert err.value.field == field and reason in str(err.value), str(err.value)
    assert _counts(db) == before


def test_pass_on_of_a_male_calf_is_refused(db, herd):
    m, giver, receiver, ob = herd
    db.add(PassOnRule(model_id=m.id, male_calf="next_calf"))
    record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 1, 5), "male", "V-M")
    with pytest.raises(LedgerError) as err:
        apply_visit(
            db,
            uuid.uuid4(),
            m.code,
            date(2024, 9, 1),
            {
                "household_code": giver.code,
                "pass_on_done": "yes",
                "pass_on_tag": "V-M",
                "pass_on_to_household": receiver.code,
            },
            "t_extension_worker",
        )
    assert err.value.field == "pass_on_tag" and "male" in str(err.value)


def test_error_late_in_the_visit_leaves_nothing_half_written(db, herd):
    """Births are written before the pass-on; a pass-on refused at write time undoes them."""
    m, giver, receiver, ob = herd
    calf = record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 6, 1), "female", "V-YOUNG")
    before = _counts(db)
    with pytest.raises(LedgerError) as err:  # the calf is 3 months old; the rule hands on from 6
        apply_visit(
            db,
            uuid.uuid4(),
            m.code,
            date(2024, 9, 1),
            {
                "household_code": giver.code,
                "vaccinations": "fmd",
                "pass_on_done": "yes",
                "pass_on_tag": calf.tag,
                "pass_on_to_household": receiver.code,
            },
            "t_extension_worker",
        )
    assert err.value.field == "pass_on_tag" and "months old" in str(err.value)
    assert _counts(db) == before
    db.refresh(ob)
    assert ob.status == "owed" and ob.receiver_household_id is None


def test_model_must_hand_animals_on(db, herd):
    _, giver, _, _ = herd
    chicken = db.scalar(select(LivelihoodModel.code).where(LivelihoodModel.model_type == "free_range_chicken").limit(1))
    with pytest.raises(LedgerError) as err:
        apply_visit(db, uuid.uuid4(), chicken, date(2024, 9, 1), {"household_code": giver.code}, "t")
    assert err.value.field == "model_code"
    with pytest.raises(LedgerError) as err:
        apply_visit(db, "not-a-uuid", chicken, date(2024, 9, 1), {}, "t")
    assert err.value.field == "visit_id"


def test_select_multiple_answers_arrive_as_lists(db, herd):
    """The forms' validator hands select_multiple answers over as lists: the ledger takes them as such."""
    m, giver, _receiver, _ob = herd
    visit = uuid.uuid4()
    out = apply_visit(
        db,
        visit,
        m.code,
        date(2024, 4, 2),
        {
            "household_code": giver.code,
            "animal_tags_present": "V-COW",
            "vaccinations": ["fmd", "lumpy_skin"],
            "pass_on_done": "no",
        },
        "t_extension_worker",
    )
    assert out.applied and out.vaccinations == 2
    kinds = (
        db.execute(select(AnimalEvent.detail).where(AnimalEvent.visit_id == visit, AnimalEvent.kind == "vaccination"))
        .scalars()
        .all()
    )
    assert sorted(kinds) == ["fmd", "lumpy_skin"]
    assert db.get(LedgerVisit, visit).answers["vaccinations"] == ["fmd", "lumpy_skin"]
