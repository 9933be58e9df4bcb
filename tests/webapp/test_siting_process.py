"""A siting handed off by the page runs in a process of its own (``jobs.siting_run``), its progress in the
scenario row; a run whose process dies is marked failed, never left running.

The background runs commit (the process reads the scenario on its own connection): they use
``committed_app`` and delete the scenarios they made when they end."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.siting_run import start
from spatial.accounts import apply_scope, get_user, principal
from spatial.db import engine_for, transaction
from spatial.scenarios import ABANDONED, mark_abandoned, start_scenario
from spatial.siting import params_from_json, run_siting
from tests.conftest import client_for


def _body(commune: str, **over):  # type: ignore[no-untyped-def]
    body = {"name": "process run", "communes": [commune], "radius": 2000, "k": 2, "candidates": {"grid": 2000}}
    body.update(over)
    return body


def _wait(client, scenario_id: int, until, seconds: float = 90):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        answer = client.get(f"/api/siting/{scenario_id}").get_json()
        if until(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.fixture
def made(demo_settings):  # type: ignore[no-untyped-def]
    """Scenario ids a test committed: deleted when it ends (they would otherwise stay in the demo)."""
    ids: list[int] = []
    yield ids
    with transaction(demo_settings) as s:
        s.execute(text("DELETE FROM siting_scenarios WHERE id = ANY(:ids)"), {"ids": ids})


def test_a_background_run_is_a_process_whose_progress_the_page_polls(committed_app, accounts, demo_settings, made):
    planner = client_for(committed_app, accounts, "planner")
    started = time.monotonic()
    r = planner.post("/api/siting", json=_body(accounts.commune_a, background=True))
    assert r.status_code == 202, r.get_json()
    assert time.monotonic() - started < 10  # the request does not wait for the solve
    queued = r.get_json()
    made.append(queued["id"])
    assert queued["status"] == "running" and queued["progress"] == "queued" and queued["result"] is None
    done = _wait(planner, queued["id"], lambda s: s["status"] != "running")
    assert done["status"] == "succeeded", done
    assert done["progress"] == "done"
    # the process solved the same model as a run in this process would
    with Session(engine_for(demo_settings)) as s:
        apply_scope(s, principal(get_user(s, accounts.name("planner"))))
        params, _ = params_from_json(s, _body(accounts.commune_a))
        here = run_siting(s, params, demo_settings.raster_store)
        s.rollback()
    assert done["result"]["objective"] == pytest.approx(here.objective)
    assert [x["candidate"] for x in done["result"]["sites"]] == [x.candidate for x in here.sites]


def test_a_killed_run_is_marked_failed(committed_app, accounts, demo_settings, made):
    planner = client_for(committed_app, accounts, "planner")
    engine = engine_for(demo_settings)
    with Session(engine) as s, s.begin():
        user = get_user(s, accounts.name("planner"))
        apply_scope(s, principal(user))
        params, ids = params_from_json(s, _body(accounts.commune_a))
        scenario_id = start_scenario(s, "to be killed", params, ids, queued=True).id
        user_id = user.id
    made.append(scenario_id)
    # the run's demand query waits behind this lock, so the process is surely still running when killed
    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE survey_rounds IN ACCESS EXCLUSIVE MODE"))
        pid = start(demo_settings, scenario_id, user_id)
        running = _wait(planner, scenario_id, lambda s: s["progress"] not in ("queued", "started"), seconds=60)
        assert running["status"] == "running" and running["progress"].startswith("demand")
        # while its process holds the scenario's lock, the row is left running
        assert planner.get(f"/api/siting/{scenario_id}").get_json()["status"] == "running"
        os.kill(pid, signal.SIGKILL)
        blocker.rollback()  # the killed client's server process finds its client gone, and its lock goes
    failed = _wait(planner, scenario_id, lambda s: s["status"] != "running", seconds=30)
    assert failed["status"] == "failed" and failed["error"] == ABANDONED and failed["error_code"] == "abandoned"
    listed = {s["id"]: s["status"] for s in planner.get("/api/siting").get_json()["scenarios"]}
    assert listed[scenario_id] == "failed"


def test_a_queued_run_gets_time_to_start(db, accounts):
    who = principal(get_user(db, accounts.name("planner")))
    apply_scope(db, who)
    params, ids = params_from_json(db, _body(accounts.commune_a))
    queued = start_scenario(db, "queued", params, ids, queued=True)
    stopped = start_scenario(db, "stopped", params, ids)  # a run that started, then lost its process
    db.flush()
    assert mark_abandoned(db) == 1
    status = dict(
        db.execute(
            text("SELECT id, status FROM siting_scenarios WHERE id IN (:a, :b)"), {"a": queued.id, "b": stopped.id}
        ).all()
    )
    assert status == {queued.id: "running", stopped.id: "failed"}
    # a queued run whose process never came: failed after the grace period
    db.execute(
        text("UPDATE siting_scenarios SET created_at = now() - interval '3 minutes' WHERE id = :i"), {"i": queued.id}
    )
    assert mark_abandoned(db, queued.id) == 1
    assert db.scalar(text("SELECT error FROM siting_scenarios WHERE id = :i"), {"i": queued.id}) == ABANDONED
