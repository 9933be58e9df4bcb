"""model_status: status from the current version of each visit, the ledger's herd, at the date edges."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from ingest.visits import sync_visit
from jobs.model_status import PROGRAMME_TZ, model_status_as_of
from jobs.registry import load_all
from spatial.accounts import Principal
from spatial.ledger import receive_animal, record_death
from spatial.models import Household, LivelihoodModel, ModelParticipant, ModelStatus

WORKER = Principal(user_id=0, name="kn.test", role="extension_worker")


def _model(db, model_type: str, code: str, start: date = date(2024, 1, 15)) -> tuple[LivelihoodModel, list[str]]:
    """A fresh active model with three participating households of one commune."""
    commune, geom = db.execute(
        text("SELECT commune_id, geom FROM households WHERE geom IS NOT NULL ORDER BY id LIMIT 1")
    ).one()
    homes = db.scalars(select(Household).where(Household.commune_id == commune).order_by(Household.id).limit(3)).all()
    model = LivelihoodModel(
        code=code,
        model_type=model_type,
        name=f"Thử {code}",
        geom=geom,
        commune_id=commune,
        start_date=start,
        funding_project="Dự án 2",
        budget_allocated_vnd=50_000_000,
        status="active",
    )
    db.add(model)
    db.flush()
    for h in homes:
        db.add(ModelParticipant(model_id=model.id, household_id=h.id, joined_on=start))
    db.flush()
    return model, [h.code for h in homes]


def _version(db, form: str) -> str:
    return db.scalar(
        text("SELECT version FROM form_definitions WHERE form_id = :f ORDER BY id DESC LIMIT 1"), {"f": form}
    )


def _post(db, model: LivelihoodModel, form: str, when: str, answers: dict, replaces: str | None = None) -> str:
    body = {
        "id": str(uuid.uuid4()),
        "model": model.code,
        "visited_at": when,
        "form": form,
        "form_version": _version(db, form),
        "location": None,
        "accuracy_m": 5.0,
        "answers": answers,
    }
    if replaces:
        body["replaces"] = replaces
    return sync_visit(db, WORKER, body).visit["id"]


def _chickens(home: str, flock: int, deaths: int = 0, sold: int = 0) -> dict:
    answers = {
        "household_code": home,
        "flock_size": flock,
        "deaths": deaths,
        "sold": sold,
        "vaccinations": ["newcastle"],
        "disease_outbreak": "no",
    }
    if deaths:
        answers["death_cause"] = "disease"
    if sold:
        answers["sales_vnd"] = sold * 100_000
    return answers


def _status(db, model: LivelihoodModel, as_of: date) -> ModelStatus:
    model_status_as_of(db, as_of)
    db.expire_all()
    return db.get(ModelStatus, model.id)


def _interval(db, model_type: str) -> int:
    return db.scalar(text("SELECT interval_days FROM visit_schedules WHERE model_type = :t"), {"t": model_type})


def test_last_visit_next_due_and_overdue_at_the_date_edges(db):
    model, homes = _model(db, "free_range_chicken", "MH-T-STATUS-1")
    _post(db, model, "free_range_chicken", "2025-03-01T09:00:00+07:00", _chickens(homes[0], 100))
    # 00:30 in Vietnam is still the previous day in UTC: the programme's day counts
    last = _post(db, model, "free_range_chicken", "2025-04-10T00:30:00+07:00", _chickens(homes[1], 90, deaths=10))
    interval = _interval(db, "free_range_chicken")
    due = date(2025, 4, 10) + timedelta(days=interval)

    s = _status(db, model, due)
    assert (s.visits, str(s.last_visit_id), s.last_visit_by, s.last_visit_form) == (
        2,
        last,
        WORKER.name,
        "free_range_chicken",
    )
    assert s.next_visit_due == due and s.overdue_days == 0 and s.interval_days == interval
    assert _status(db, model, due + timedelta(days=1)).overdue_days == 1
    assert _status(db, model, due + timedelta(days=45)).overdue_days == 45
    # on the day before the last visit, only the first one had happened
    s = _status(db, model, date(2025, 4, 9))
    assert s.visits == 1 and s.next_visit_due == date(2025, 3, 1) + timedelta(days=interval)
    assert s.flock_size == 100


def test_never_visited_is_due_one_interval_after_the_start(db):
    model, _ = _model(db, "medicinal_plant", "MH-T-STATUS-2", start=date(2025, 1, 1))
    s = _status(db, model, date(2025, 6, 1))
    due = date(2025, 1, 1) + timedelta(days=_interval(db, "medicinal_plant"))
    assert s.visits == 0 and s.last_visit_at is None and s.next_visit_due == due
    assert s.overdue_days == (date(2025, 6, 1) - due).days
    assert s.harvest_kg_12m is None and s.area_m2 is None  # unknown, not zero
    db.execute(text("UPDATE livelihood_models SET status = 'completed' WHERE id = :m"), {"m": model.id})
    s = _status(db, model, date(2025, 6, 1))
    assert s.next_visit_due is None and s.overdue_days is None  # a completed model is owed no visit


def test_an_edited_visit_counts_once_with_its_current_answers(db):
    model, homes = _model(db, "free_range_chicken", "MH-T-STATUS-3")
    first = _post(db, model, "free_range_chicken", "2025-05-01T09:00:00+07:00", _chickens(homes[0], 120, deaths=4))
    edit = _post(
        db, model, "free_range_chicken", "2025-05-02T10:00:00+07:00", _chickens(homes[0], 80, deaths=6), replaces=first
    )
    s = _status(db, model, date(2025, 6, 1))
    assert s.visits == 1 and str(s.last_visit_id) == edit
    assert s.flock_size == 80 and s.deaths_12m == 6
    assert s.last_visit_at.date() == date(2025, 5, 2)
    assert s.last_visit_by == WORKER.name  # the author of the visit, whoever edited it


def test_chicken_mortality_sales_and_the_12_month_window(db):
    model, homes = _model(db, "free_range_chicken", "MH-T-STATUS-4")
    _post(db, model, "free_range_chicken", "2024-05-01T09:00:00+07:00", _chickens(homes[0], 300, deaths=50))
    _post(db, model, "free_range_chicken", "2025-01-10T09:00:00+07:00", _chickens(homes[0], 100, deaths=5, sold=20))
    _post(db, model, "free_range_chicken", "2025-03-10T09:00:00+07:00", _chickens(homes[1], 140, deaths=9, sold=10))
    s = _status(db, model, date(2025, 5, 1))  # 12 months back from 2025-05-01: 2024-05-01 falls outside
    assert (s.visits, s.visits_12m, s.flock_size, s.deaths_12m) == (3, 2, 140, 14)
    assert s.birds_sold_12m == 30 and s.sales_vnd_12m == 3_000_000
    assert s.mortality_12m == pytest.approx(14 / 120) and s.animal_years_12m == pytest.approx(120)
    # a day earlier the window still holds 2024-05-01
    s = _status(db, model, date(2025, 4, 30))
    assert (s.visits_12m, s.deaths_12m) == (3, 64)


def test_medicinal_plant_area_stage_and_harvest_value(db):
    model, homes = _model(db, "medicinal_plant", "MH-T-STATUS-5")
    base = {"household_code": homes[0], "species": "ba_kich", "pests": "no"}
    _post(
        db,
        model,
        "medicinal_plant",
        "2025-02-01T09:00:00+07:00",
        {
            **base,
            "area_m2": 2000,
            "stage": "harvest",
            "harvested": "yes",
            "harvest_kg": 150.5,
            "price_vnd_per_kg": 80_000,
        },
    )
    _post(
        db,
        model,
        "medicinal_plant",
        "2025-04-01T09:00:00+07:00",
        {**base, "area_m2": 2500, "stage": "growing", "harvested": "no"},
    )
    s = _status(db, model, date(2025, 5, 1))
    assert (s.area_m2, s.stage, s.harvest_kg_12m, s.harvest_value_vnd_12m) == (2500, "growing", 150.5, 12_040_000)
    assert s.herd_size is None and s.flock_size is None


def test_herd_size_equals_the_ledgers_live_animals(db):
    load_all()
    model_status_as_of(db, date.today() + timedelta(days=1))
    rows = db.execute(
        text("""
        SELECT s.herd_size, (SELECT count(*) FROM animals a WHERE a.model_id = m.id AND a.status = 'alive')
        FROM model_status s JOIN livelihood_models m ON m.id = s.model_id
        WHERE m.model_type IN ('cow_bank', 'buffalo_loan')""")
    ).all()
    assert rows and all(herd == alive for herd, alive in rows)
    assert any(herd > 0 for herd, _ in rows)


def test_ledger_mortality_is_deaths_per_animal_year(db):
    model, _ = _model(db, "cow_bank", "MH-T-STATUS-6")
    holder = db.scalar(
        text("SELECT household_id FROM model_participants WHERE model_id = :m ORDER BY id LIMIT 1"), {"m": model.id}
    )
    start = date(2025, 1, 1)
    keep = receive_animal(db, model, holder, "T-1", start)
    lost = receive_animal(db, model, holder, "T-2", start)
    from spatial.models import Animal

    record_death(db, db.get(Animal, lost.source_animal_id), start + timedelta(days=100), "accident")
    as_of = start + timedelta(days=200)
    s = _status(db, model, as_of)
    assert keep.status in ("owed", "due", "overdue")
    assert s.herd_size == 1 and s.deaths_12m == 1
    days = (as_of - start).days + 1 + 100  # the live cow: every day up to as_of; the dead one: until it died
    assert s.animal_years_12m == pytest.approx(days / 365.25)
    assert s.mortality_12m == pytest.approx(1 / (days / 365.25))
    assert s.pass_ons_due == 0 and s.pass_ons_overdue == 0


def test_job_is_idempotent_and_runs_after_pass_on(db):
    order = list(load_all())
    assert "model_status" in order and order.index("model_status") > order.index("pass_on")
    columns = [c.name for c in ModelStatus.__table__.columns if c.name != "computed_at"]
    snapshot = f"SELECT {', '.join(columns)} FROM model_status ORDER BY model_id"
    as_of = date(2026, 1, 15)
    n = model_status_as_of(db, as_of)
    first = db.execute(text(snapshot)).all()
    assert model_status_as_of(db, as_of) == n == len(first)
    assert db.execute(text(snapshot)).all() == first
    assert n == db.scalar(text("SELECT count(*) FROM livelihood_models WHERE deleted_at IS NULL"))


def test_demo_visits_leave_models_up_to_date_overdue_and_never_visited(db):
    model_status_as_of(db, datetime.now(ZoneInfo(PROGRAMME_TZ)).date())  # the demo's visits lead up to its load day
    never, overdue, current = db.execute(
        text("""
        SELECT count(*) FILTER (WHERE last_visit_at IS NULL), count(*) FILTER (WHERE last_visit_at IS NOT NULL
               AND overdue_days > 0), count(*) FILTER (WHERE overdue_days = 0)
        FROM model_status WHERE next_visit_due IS NOT NULL""")
    ).one()
    assert never > 0 and overdue > 0 and current > 0


def test_one_models_refresh_is_the_jobs_row_and_leaves_the_others(db):
    """Visit sync and the job share one computation: a model recomputed alone gets the job's row."""
    from spatial.model_status import STATUS_FIELDS, refresh_model_status

    as_of = date.today()
    model_status_as_of(db, as_of)
    fields = [f for f in STATUS_FIELDS if f != "computed_at"]
    rows = {
        r[0]: tuple(r[1:])
        for r in db.execute(text(f"SELECT model_id, {', '.join(fields)} FROM model_status ORDER BY model_id"))
    }
    some = sorted(rows)[::50]
    db.execute(text("UPDATE model_status SET visits = -1, overdue_days = NULL"))
    assert refresh_model_status(db, as_of, some) == len(some)
    again = {
        r[0]: tuple(r[1:])
        for r in db.execute(text(f"SELECT model_id, {', '.join(fields)} FROM model_status ORDER BY model_id"))
    }
    assert {m: again[m] for m in some} == {m: rows[m] for m in some}
    others = set(rows) - set(some)
    assert all(again[m][fields.index("visits")] == -1 for m in others)  # untouched
    assert refresh_model_status(db, as_of, []) == 0
