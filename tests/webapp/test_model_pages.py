"""The model page and its JSON twin, and the visits-due list: scoped, ordered, 404 outside scope."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.model_status import PROGRAMME_TZ, model_status_as_of
from spatial.db import engine_for
from tests.conftest import client_for, model_in_commune

CODE = "MH-TEST-STATUS-A"


def _units(s, code: str) -> list[int]:
    """A 2025 commune and the legacy communes it was made of (models carry either)."""
    return list(
        s.execute(
            text("""
        SELECT id FROM admin_units WHERE code = :c AND boundary = 'current' AND level = 'commune'
        UNION SELECT x.old_unit_id FROM admin_crosswalk x JOIN admin_units n ON n.id = x.new_unit_id
        WHERE n.code = :c AND n.boundary = 'current'"""),
            {"c": code},
        ).scalars()
    )


def _chicken_model(s, commune: str, code: str, name: str, *, age_days: int, households: int):
    """A free-range chicken model started ``age_days`` ago, its households and the chicken form's version."""
    today = datetime.now(ZoneInfo(PROGRAMME_TZ)).date()
    _model, homes = model_in_commune(
        s,
        commune,
        code,
        "free_range_chicken",
        name,
        start_date=today - timedelta(days=age_days),
        budget_vnd=40_000_000,
        households=households,
    )
    version = s.scalar(
        text("SELECT version FROM form_definitions WHERE form_id = 'free_range_chicken' ORDER BY id DESC LIMIT 1")
    )
    return homes, version


@pytest.fixture
def chickens_in_a(app, db, accounts):
    """A chicken model in commune A visited twice through the API by A's extension worker, and an edit."""
    today = datetime.now(ZoneInfo(PROGRAMME_TZ)).date()
    homes, version = _chicken_model(
        db, accounts.commune_a, CODE, "Gà thả vườn – thử trang mô hình", age_days=400, households=2
    )
    worker = client_for(app, accounts, "extension_worker")

    def post(days_ago: int, flock: int, replaces: str | None = None) -> str:
        when = datetime.combine(
            today - timedelta(days=days_ago), datetime.min.time().replace(hour=9), ZoneInfo(PROGRAMME_TZ)
        )
        body = {
            "id": str(uuid.uuid4()),
            "model": CODE,
            "visited_at": when.isoformat(),
            "form": "free_range_chicken",
            "form_version": version,
            "location": {"type": "Point", "coordinates": [106.5, 21.9]},
            "accuracy_m": 7.5,
            "answers": {
                "household_code": homes[0].code,
                "flock_size": flock,
                "deaths": 0,
                "sold": 0,
                "vaccinations": ["newcastle"],
                "disease_outbreak": "no",
            },
        }
        if replaces:
            body["replaces"] = replaces
        r = worker.post("/api/visits", json=body)
        assert r.status_code == 201, r.get_json()
        return body["id"]

    post(80, 150)
    first = post(50, 120)
    edit = post(50, 125, replaces=first)
    model_status_as_of(db, today)
    db.flush()
    return {"today": today, "edit": edit, "household": homes[0].code}


@pytest.fixture(scope="module")
def outside(demo_settings, accounts):
    """An active demo model outside commune A."""
    with Session(engine_for(demo_settings)) as s:  # reads the committed demo, once for the module
        return s.scalar(
            text(
                "SELECT code FROM livelihood_models WHERE status = 'active' "
                "AND commune_id <> ALL(:ids) ORDER BY code LIMIT 1"
            ),
            {"ids": _units(s, accounts.commune_a)},
        )


def test_status_json_has_the_figures_and_the_current_visits(app, accounts, chickens_in_a):
    body = client_for(app, accounts, "extension_worker").get(f"/api/models/{CODE}/status").get_json()
    assert body["model"]["code"] == CODE and body["has_chain"] is False
    s = body["status"]
    today = chickens_in_a["today"]
    assert s["as_of"] == today.isoformat() and s["visits"] == 2 and s["flock_size"] == 125
    assert s["last_visit_by"] == accounts.name("extension_worker")
    interval = s["interval_days"]
    assert date.fromisoformat(s["next_visit_due"]) == today - timedelta(days=50) + timedelta(days=interval)
    assert s["overdue_days"] == max(0, 50 - interval)
    visits = body["visits"]
    assert [v["id"] for v in visits][0] == chickens_in_a["edit"] and len(visits) == 2  # newest first, edit only
    assert visits[0]["visited_at"] > visits[1]["visited_at"] and visits[0]["version"] == 2
    flock = next(a for a in visits[0]["key_answers"] if a["name"] == "flock_size")
    assert flock["value"] == 125 and flock["label"]["en"] == "Birds in the flock now"


def test_model_page_in_both_languages(app, accounts, chickens_in_a):
    c = client_for(app, accounts, "planner")
    page = c.get(f"/models/{CODE}?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Status from visits" in page and "Birds in the flock now" in page and "7.5 m" in page
    assert chickens_in_a["household"] in page and "/chain" not in page
    vi = c.get(f"/models/{CODE}?lang=vi", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Tình hình theo các lần thăm" in vi and "Số gà hiện có" in vi
    assert "<script>" not in page and "style=" not in page  # strict CSP: nothing inline


def test_cow_bank_page_links_its_chain(client, db):
    code = db.scalar(text("SELECT code FROM livelihood_models WHERE model_type = 'cow_bank' ORDER BY code LIMIT 1"))
    page = client.get(f"/models/{code}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"/models/{code}/chain" in page
    status = client.get(f"/api/models/{code}/status").get_json()["status"]
    alive = db.scalar(
        text(
            "SELECT count(*) FROM animals a JOIN livelihood_models m ON m.id = a.model_id "
            "WHERE m.code = :c AND a.status = 'alive'"
        ),
        {"c": code},
    )
    assert status["herd_size"] == alive


@pytest.mark.parametrize("role", ["extension_worker", "planner", "evaluator"])
def test_outside_the_callers_communes_is_404(app, accounts, outside, role):
    c = client_for(app, accounts, role)
    for url in (f"/api/models/{outside}/status", f"/models/{outside}"):
        assert c.get(url).status_code == 404
    assert c.get("/api/models/NO-SUCH-MODEL/status").status_code == 404
    assert client_for(app, accounts, "admin").get(f"/api/models/{outside}/status").status_code == 200


def test_due_list_is_scoped_and_ordered(app, accounts, db, chickens_in_a):
    in_a = set(
        db.execute(
            text(
                "SELECT code FROM livelihood_models WHERE status = 'active' AND deleted_at IS NULL "
                "AND commune_id = ANY(:ids)"
            ),
            {"ids": _units(db, accounts.commune_a)},
        ).scalars()
    )
    everywhere = set(
        db.execute(text("SELECT code FROM livelihood_models WHERE status = 'active' AND deleted_at IS NULL")).scalars()
    )
    body = client_for(app, accounts, "extension_worker").get("/api/visits/due").get_json()
    codes = [r["code"] for r in body["rows"]]
    assert set(codes) == in_a and CODE in codes  # never another commune's model
    overdue = [r["overdue_days"] for r in body["rows"]]
    assert overdue == sorted(overdue, reverse=True)
    assert all(r["never_visited"] == (r["last_visit_at"] is None) for r in body["rows"])
    assert body["overdue"] == sum(1 for d in overdue if d > 0)
    admin = client_for(app, accounts, "admin").get("/api/visits/due?limit=5000").get_json()
    assert {r["code"] for r in admin["rows"]} == everywhere and admin["never_visited"] > 0
    only = client_for(app, accounts, "admin").get("/api/visits/due?overdue=true").get_json()["rows"]
    assert only and all(r["overdue_days"] > 0 for r in only)
    page = client_for(app, accounts, "extension_worker").get("/visits/due", headers={"Accept": "text/html"})
    assert page.status_code == 200 and CODE in page.get_data(as_text=True)
    assert client_for(app, accounts, "admin").get("/api/visits/due?limit=0").status_code == 400
    assert client_for(app, accounts, "admin").get("/api/visits/due?overdue=maybe").status_code == 400


def test_models_layer_carries_the_status(app, accounts, chickens_in_a):
    feature = client_for(app, accounts, "extension_worker").get(f"/api/layers/livelihood_models/{CODE}").get_json()
    p = feature["properties"]
    assert p["flock_size"] == 125 and p["last_visit_at"] and p["next_visit_due"] and p["overdue_days"] is not None


def test_openapi_lists_the_new_endpoints(anonymous):
    paths = anonymous.get("/api/openapi.json").get_json()["paths"]
    assert "/api/models/{code}/status" in paths and "/api/visits/due" in paths


def test_a_synced_visit_counts_at_once(app, db, accounts):
    """No waiting for the nightly job: the visit's model is recomputed in the visit's transaction."""
    code = "MH-TEST-STATUS-NOW"
    today = datetime.now(ZoneInfo(PROGRAMME_TZ)).date()
    homes, version = _chicken_model(
        db, accounts.commune_a, code, "Gà thả vườn – thăm được tính ngay", age_days=200, households=1
    )
    model_status_as_of(db, today)
    db.flush()
    worker = client_for(app, accounts, "extension_worker")
    before = worker.get(f"/api/models/{code}/status").get_json()["status"]
    interval = before["interval_days"]
    assert before["last_visit_at"] is None and before["overdue_days"] == 200 - interval

    def due_row() -> dict:
        rows = worker.get("/api/visits/due?limit=5000").get_json()["rows"]
        return next(r for r in rows if r["code"] == code)

    assert due_row()["overdue_days"] == 200 - interval and due_row()["never_visited"]
    r = worker.post(
        "/api/visits",
        json={
            "id": str(uuid.uuid4()),
            "model": code,
            # 20:10 UTC is 03:10 the next morning in Vietnam: the page shows the local time
            "visited_at": f"{today - timedelta(days=2)}T20:10:00+00:00",
            "form": "free_range_chicken",
            "form_version": version,
            "location": None,
            "accuracy_m": None,
            "answers": {
                "household_code": homes[0].code,
                "flock_size": 40,
                "deaths": 0,
                "sold": 0,
                "vaccinations": ["newcastle"],
                "disease_outbreak": "no",
            },
        },
    )
    assert r.status_code == 201, r.get_json()
    after = worker.get(f"/api/models/{code}/status").get_json()["status"]
    assert after["overdue_days"] == 0 and after["visits"] == 1 and after["flock_size"] == 40
    visit_day = today - timedelta(days=1)  # the visit's day is Vietnam's day
    assert date.fromisoformat(after["next_visit_due"]) == visit_day + timedelta(days=interval)
    assert after["last_visit_by"] == accounts.name("extension_worker")
    row = due_row()
    assert row["overdue_days"] == 0 and not row["never_visited"]
    assert row["next_visit_due"] == (visit_day + timedelta(days=interval)).isoformat()
    page = worker.get(f"/models/{code}?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "days overdue" not in page
    assert f"{visit_day} 03:10" in page and f"{today - timedelta(days=2)} 20:10" not in page
    due_page = worker.get("/visits/due?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"{visit_day} 03:10" in due_page
