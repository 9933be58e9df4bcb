"""/admin/jobs and /healthz show what a running job is doing, while it runs."""

from __future__ import annotations

import threading
from datetime import datetime

from jobs import progress, registry
from jobs.registry import Job
from jobs.runner import run_job

_reached, _release = threading.Event(), threading.Event()


def _slow(session):  # type: ignore[no-untyped-def]
    progress.report("step 2/3: waiting for the test")
    _reached.set()
    assert _release.wait(30)
    return 7


def test_progress_of_a_running_job_is_visible(app, client, demo_settings, monkeypatch):
    _reached.clear()
    _release.clear()
    monkeypatch.setattr(
        registry, "JOBS", (*registry.JOBS, Job("t_slow", f"{__name__}:_slow", "a test job that waits", {"minute": "0"}))
    )
    lines: list[str] = []
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(run_job(demo_settings, "t_slow", progress=lines.append)))
    try:
        worker.start()
        assert _reached.wait(30)
        page = client.get("/admin/jobs", headers={"Accept": "text/html"})
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert 'data-job="t_slow" data-status="running"' in html
        assert "step 2/3: waiting for the test" in html
        assert 'http-equiv="refresh"' in html  # the page follows a running job
        health = client.get("/healthz").get_json()
        assert health["jobs"]["t_slow"]["status"] == "running"
        assert health["jobs"]["t_slow"]["progress"] == "step 2/3: waiting for the test"
    finally:
        _release.set()
        worker.join(30)
    assert outcome[0].status == "succeeded" and outcome[0].rows_affected == 7
    assert lines == ["step 2/3: waiting for the test"]
    html = client.get("/admin/jobs", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'data-job="t_slow" data-status="succeeded"' in html and 'http-equiv="refresh"' not in html


def test_jobs_page_is_for_admins(app, accounts):
    from tests.conftest import client_for

    assert client_for(app, accounts, "planner").get("/admin/jobs").status_code == 403


def test_schedules_read_as_times(client):
    html = client.get("/admin/jobs?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<td>01:45</td>" in html  # exposure, as people read a time
    assert "<td>every 30 minutes</td>" in html  # place_households, every half hour


def test_next_runs_come_from_the_schedule_in_vietnams_time():
    from zoneinfo import ZoneInfo

    from jobs.registry import load_all
    from jobs.scheduler import next_runs

    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    upcoming = next_runs("Asia/Ho_Chi_Minh", now=datetime(2026, 12, 2, 0, 40, tzinfo=vn))
    assert set(upcoming) == set(load_all())
    assert upcoming["classify_households"] == datetime(2026, 12, 2, 1, 0, tzinfo=vn)  # 01:00 in Vietnam
    assert upcoming["place_households"] == datetime(2026, 12, 2, 1, 0, tzinfo=vn)  # every 30 minutes
    assert all(when > datetime(2026, 12, 2, 0, 40, tzinfo=vn) for when in upcoming.values())
