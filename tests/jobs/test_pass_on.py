"""pass_on: due and overdue at the exact date edges, the rules per model, deaths, idempotence."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from jobs.pass_on import pass_on_status
from jobs.registry import get_job, load_all
from spatial.ledger import (
    LedgerError,
    add_months,
    receive_animal,
    record_birth,
    record_death,
    record_pass_on,
    record_purchase,
    record_replacement,
    record_sale,
)
from spatial.models import Animal, PassOnObligation, PassOnRule


@pytest.fixture
def model(cow_bank):
    """The demo cow bank on the default rule, and two of its households."""
    m, homes = cow_bank
    return m, homes[0], homes[1]


def _rule(db, model_id, **values):
    db.add(PassOnRule(model_id=model_id, **values))
    db.flush()


def _status(db, obligation):
    db.refresh(obligation)
    return obligation.status


def test_due_and_overdue_at_the_date_edges(db, model):
    m, giver, _ = model
    ob = receive_animal(db, m, giver, "EDGE-1", date(2024, 1, 10), birth_date=date(2022, 6, 1))
    record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 3, 15), "female", "EDGE-1-1")
    assert (ob.due_from, ob.due_by) == (date(2024, 9, 15), date(2025, 3, 15))  # default 6–12 months
    expected = {
        date(2024, 9, 14): "owed",
        date(2024, 9, 15): "due",
        date(2025, 3, 15): "due",
        date(2025, 3, 16): "overdue",
    }
    for day, status in expected.items():
        pass_on_status(db, day)
        assert _status(db, ob) == status, day
    # back in time the status follows the day again (the job recomputes, it does not only escalate)
    pass_on_status(db, date(2024, 9, 14))
    assert _status(db, ob) == "owed"


def test_window_follows_the_models_rule_and_month_ends(db, model):
    m, giver, _ = model
    _rule(db, m.id, due_from_months=8, due_by_months=14)
    ob = receive_animal(db, m, giver, "END-1", date(2024, 1, 2))
    record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 6, 30), "female")
    # 30 June + 8 months: February has no 30th; PostgreSQL and Python clamp alike
    assert (ob.due_from, ob.due_by) == (date(2025, 2, 28), date(2025, 8, 30))
    pass_on_status(db, date(2025, 2, 27))
    assert _status(db, ob) == "owed"
    pass_on_status(db, date(2025, 2, 28))
    assert _status(db, ob) == "due" and (ob.due_from, ob.due_by) == (date(2025, 2, 28), date(2025, 8, 30))
    # a changed rule applies at the next run
    db.execute(PassOnRule.__table__.update().where(PassOnRule.model_id == m.id).values(due_by_months=9))
    pass_on_status(db, date(2025, 4, 1))
    assert _status(db, ob) == "overdue" and ob.due_by == add_months(date(2024, 6, 30), 9)


def test_first_calf_rule_and_second_calf_rule(db, model):
    m, giver, _ = model
    first = receive_animal(db, m, giver, "R1", date(2023, 1, 5))
    record_birth(db, db.get(Animal, first.source_animal_id), date(2024, 2, 1), "female", "R1-a")
    assert db.get(Animal, first.calf_id).tag == "R1-a"

    _rule(db, m.id, calf_number=2)
    second = receive_animal(db, m, giver, "R2", date(2023, 1, 5))
    cow = db.get(Animal, second.source_animal_id)
    record_birth(db, cow, date(2024, 2, 1), "female", "R2-a")
    assert second.calf_id is None  # the first calf stays with the household
    pass_on_status(db, date(2024, 9, 1))
    assert _status(db, second) == "owed" and second.due_from is None
    record_birth(db, cow, date(2025, 3, 20), "female", "R2-b")
    assert db.get(Animal, second.calf_id).tag == "R2-b" and second.due_from == date(2025, 9, 20)


def test_male_calf_sell_and_buy(db, model):
    m, giver, receiver = model
    ob = receive_animal(db, m, giver, "SB", date(2023, 1, 5))
    bull = record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 2, 1), "male", "SB-bull")
    assert ob.calf_id == bull.id  # under sell-and-buy the bull calf is the owed one
    with pytest.raises(LedgerError) as err:
        record_pass_on(db, bull, receiver, date(2024, 9, 1))
    assert err.value.field == "pass_on_tag" and "male" in str(err.value)
    record_sale(db, bull, date(2024, 8, 20), 9_000_000)
    heifer = record_purchase(db, m, giver, "SB-heifer", "female", date(2024, 8, 25), price_vnd=11_000_000)
    following = record_pass_on(db, heifer, receiver, date(2024, 9, 1))
    db.refresh(ob)
    assert ob.status == "delivered" and ob.delivered_animal_id == heifer.id and ob.receiver_household_id == receiver
    assert (following.generation, following.parent_id, following.giver_household_id) == (2, ob.id, receiver)
    pass_on_status(db, date(2026, 1, 1))
    assert _status(db, ob) == "delivered"  # closed obligations are left alone


def test_male_calf_next_calf_rule_waits_for_a_female(db, model):
    m, giver, _ = model
    _rule(db, m.id, male_calf="next_calf")
    ob = receive_animal(db, m, giver, "NC", date(2023, 1, 5))
    cow = db.get(Animal, ob.source_animal_id)
    record_birth(db, cow, date(2024, 2, 1), "male", "NC-bull")
    assert ob.calf_id is None
    record_sale(
        db,
        db.scalar(select(Animal).where(Animal.tag == "NC-bull", Animal.model_id == m.id)),
        date(2025, 1, 1),
        8_000_000,
    )  # not owed: may be sold
    record_birth(db, cow, date(2025, 3, 1), "female", "NC-heifer")
    assert db.get(Animal, ob.calf_id).tag == "NC-heifer"


def test_certified_death_replaced_versus_negligence(db, model):
    m, giver, _ = model
    certified = receive_animal(db, m, giver, "D1", date(2023, 1, 5))
    record_death(db, db.get(Animal, certified.source_animal_id), date(2023, 8, 1), "disease", certified=True)
    assert (certified.status, certified.replacement) == ("animal_died", "programme")
    pass_on_status(db, date(2026, 1, 1))
    assert _status(db, certified) == "animal_died"
    replacement = record_replacement(db, certified, "D1-new", date(2023, 10, 1))
    assert (certified.status, certified.source_animal_id, replacement.origin) == ("owed", replacement.id, "received")

    careless = receive_animal(db, m, giver, "D2", date(2023, 1, 5))
    record_death(db, db.get(Animal, careless.source_animal_id), date(2023, 8, 1), "negligence")
    assert (careless.status, careless.replacement) == ("owed", "household")  # the household still owes

    uncertified = receive_animal(db, m, giver, "D3", date(2023, 1, 5))
    record_death(db, db.get(Animal, uncertified.source_animal_id), date(2023, 8, 1), "disease")
    assert (uncertified.status, uncertified.replacement) == ("owed", "household")


def test_certified_death_written_off(db, model):
    m, giver, _ = model
    _rule(db, m.id, certified_death="written_off")
    ob = receive_animal(db, m, giver, "W1", date(2023, 1, 5))
    record_death(db, db.get(Animal, ob.source_animal_id), date(2023, 8, 1), "disaster", certified=True)
    assert (ob.status, ob.replacement) == ("animal_died", None)
    with pytest.raises(LedgerError):
        record_replacement(db, ob, "W1-new", date(2023, 10, 1))


def test_death_of_the_owed_calf_reopens_the_obligation(db, model):
    m, giver, _ = model
    ob = receive_animal(db, m, giver, "CD", date(2023, 1, 5))
    calf = record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 2, 1), "female")
    record_death(db, calf, date(2024, 4, 1), "disease", certified=True)
    assert (ob.calf_id, ob.due_from, ob.status) == (None, None, "owed")


def test_job_is_idempotent_and_registered(db, model):
    m, giver, _ = model
    ob = receive_animal(db, m, giver, "ID", date(2023, 1, 5))
    record_birth(db, db.get(Animal, ob.source_animal_id), date(2024, 2, 1), "female")
    day = date(2024, 9, 1)
    first = pass_on_status(db, day)
    assert first >= 1
    snapshot = db.execute(
        select(
            PassOnObligation.id, PassOnObligation.status, PassOnObligation.due_from, PassOnObligation.due_by
        ).order_by(PassOnObligation.id)
    ).all()
    assert pass_on_status(db, day) == 0
    assert (
        db.execute(
            select(
                PassOnObligation.id, PassOnObligation.status, PassOnObligation.due_from, PassOnObligation.due_by
            ).order_by(PassOnObligation.id)
        ).all()
        == snapshot
    )
    assert get_job("pass_on").func.__name__ == "pass_on"
    order = list(load_all())
    assert order.index("pass_on") == order.index("duplicates") + 1


def test_add_months_matches_postgresql(db):
    from sqlalchemy import text

    for day in (date(2024, 1, 31), date(2024, 8, 31), date(2023, 12, 31), date(2024, 2, 29), date(2025, 5, 15)):
        for months in (1, 6, 12, 14):
            pg = db.scalar(
                text("SELECT (CAST(:d AS date) + make_interval(months => :m))::date"), {"d": day, "m": months}
            )
            assert add_months(day, months) == pg, (day, months)
