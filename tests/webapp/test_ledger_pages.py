"""The chain page and the due list, as pages and JSON, scoped to the caller's communes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.demo_ledger import LEDGER_AS_OF
from spatial.db import engine_for
from spatial.ledger import receive_animal, record_birth, record_pass_on, refresh_pass_on_status
from spatial.models import Animal
from tests.conftest import client_for, model_in_commune

CODE = "MH-TEST-LEDGER"


@pytest.fixture
def chain_in_a(db, accounts):
    """A cow bank in commune A (the demo has none there): one overdue, one due, one handed on."""
    model, homes = model_in_commune(
        db,
        accounts.commune_a,
        CODE,
        "cow_bank",
        "Ngân hàng bò – thử nghiệm sổ luân chuyển",
        start_date=date(2023, 1, 10),
        budget_vnd=100_000_000,
        households=4,
        participants=3,
    )
    late = receive_animal(db, model, homes[0].id, "A-1", date(2023, 1, 10))
    record_birth(db, db.get(Animal, late.source_animal_id), date(2024, 6, 1), "female")
    due = receive_animal(db, model, homes[1].id, "A-2", date(2023, 1, 10))
    record_birth(db, db.get(Animal, due.source_animal_id), date(2025, 2, 1), "female")
    given = receive_animal(db, model, homes[2].id, "A-3", date(2023, 1, 10))
    calf = record_birth(db, db.get(Animal, given.source_animal_id), date(2024, 3, 1), "female")
    record_pass_on(db, calf, homes[3].id, date(2024, 10, 1))
    refresh_pass_on_status(db, LEDGER_AS_OF)  # the demo's own statuses are as of that day already
    db.flush()
    return [h.head_name for h in homes]


@pytest.fixture(scope="module")
def outside(demo_settings):
    """A demo cow bank or buffalo loan (none lies in commune A)."""
    with Session(engine_for(demo_settings)) as s:  # reads the committed demo, once for the module
        return s.scalar(
            text(
                "SELECT m.code FROM livelihood_models m JOIN pass_on_obligations o ON o.model_id = m.id "
                "WHERE m.code <> :c ORDER BY m.code LIMIT 1"
            ),
            {"c": CODE},
        )


def test_chain_api_is_a_tree_with_generations(client, chain_in_a):
    body = client.get(f"/api/models/{CODE}/chain").get_json()
    assert body["code"] == CODE and body["rule"]["calf_number"] == 1 and body["generations"] == 2
    roots = {n["source_tag"]: n for n in body["chain"]}
    assert set(roots) == {"A-1", "A-2", "A-3"}
    assert (roots["A-1"]["status"], roots["A-1"]["due_from"], roots["A-1"]["due_by"]) == (
        "overdue",
        "2024-12-01",
        "2025-06-01",
    )
    assert roots["A-2"]["status"] == "due"
    handed = roots["A-3"]
    assert handed["status"] == "delivered" and handed["downstream_households"] == 1
    [child] = handed["children"]
    assert (child["generation"], child["giver_name"], child["status"]) == (2, chain_in_a[3], "owed")
    assert child["giver_code"] == handed["receiver_code"]
    assert body["households"] == 4 and body["status_counts"] == {"overdue": 1, "due": 1, "delivered": 1, "owed": 1}


def test_chain_page_in_both_languages(client, chain_in_a):
    vi = client.get(f"/models/{CODE}/chain?lang=vi", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Thế hệ 2" in vi and "quá hạn" in vi and chain_in_a[0] in vi  # Vietnamese names intact
    en = client.get(f"/models/{CODE}/chain?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Generation 2" in en and "overdue" in en and "<script>" not in en  # no inline script (nav.js is a file)


def test_worker_sees_its_communes_only(app, accounts, chain_in_a, outside):
    worker = client_for(app, accounts, "extension_worker")
    assert worker.get(f"/api/models/{CODE}/chain").status_code == 200
    r = worker.get(f"/api/models/{outside}/chain")
    missing = worker.get("/api/models/NO-SUCH-MODEL/chain")
    assert r.status_code == missing.status_code == 404
    assert set(r.get_json()["error"]) == set(missing.get_json()["error"])  # no existence leak
    assert worker.get(f"/models/{outside}/chain").status_code == 404
    assert client_for(app, accounts, "admin").get(f"/api/models/{outside}/chain").status_code == 200


def test_due_list_is_scoped(app, accounts, db, chain_in_a):
    worker = client_for(app, accounts, "extension_worker")
    rows = worker.get("/api/pass-on").get_json()["rows"]
    assert {r["model_code"] for r in rows} == {CODE}
    assert sorted(r["status"] for r in rows) == ["due", "overdue"]
    overdue = worker.get("/api/pass-on?status=overdue").get_json()["rows"]
    assert [(r["giver_name"], r["due_by"]) for r in overdue] == [(chain_in_a[0], "2025-06-01")]
    everywhere = db.scalar(text("SELECT count(*) FROM pass_on_obligations WHERE status IN ('due', 'overdue')"))
    admin_rows = client_for(app, accounts, "admin").get("/api/pass-on").get_json()["rows"]
    assert len(admin_rows) == everywhere > len(rows)
    page = worker.get("/pass-on?lang=vi", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert CODE in page and not any(r["model_code"] in page for r in admin_rows if r["model_code"] != CODE)
    bad = worker.get("/api/pass-on?status=late")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "status"


def test_read_only_role_reads_the_ledger(app, accounts, chain_in_a):
    evaluator = client_for(app, accounts, "evaluator")
    assert evaluator.get(f"/api/models/{CODE}/chain").status_code == 200
    assert evaluator.get("/pass-on").status_code == 200


def test_openapi_lists_the_ledger(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/models/{code}/chain", "/api/pass-on"} <= set(paths)
