"""/admin/jobs and /healthz show what a running job is doing, while it runs."""

from __future__ import annotations

import threading

from jobs import progress
from jobs.registry import JOBS, register
from jobs.runner import run_job


def test_progress_of_a_running_job_is_visible(app, client, demo_settings):
    reached, release = threading.Event(), threading.Event()

    @register("t_slow", "a test job that waits")
    def slow(session):  # type: ignore[no-untyped-def]
        progress.report("step 2/3: waiting for the test")
        reached.set()
        assert release.wait(30)
        return 7

    lines: list[str] = []
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(run_job(demo_settings, "t_slow", progress=lines.append)))
    try:
        worker.start()
        assert reached.wait(30)
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
        release.set()
        worker.join(30)
        JOBS.pop("t_slow", None)
    assert outcome[0].status == "succeeded" and outcome[0].rows_affected == 7
    assert lines == ["step 2/3: waiting for the test"]
    html = client.get("/admin/jobs", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'data-job="t_slow" data-status="succeeded"' in html and 'http-equiv="refresh"' not in html


def test_jobs_page_is_for_admins(app, accounts):
    from tests.conftest import client_for

    assert client_for(app, accounts, "planner").get("/admin/jobs").status_code == 403


def test_nightly_order_follows_what_each_job_reads(client):
    """Jobs that read another job's results are scheduled after it (the scheduler runs them by time)."""
    from jobs.registry import load_all

    jobs = load_all()
    reads = {
        "classify_households": ["place_households"],
        "area_indicators": ["classify_households"],
        "income_change": ["classify_households"],
        "fallback_risk": ["income_change", "exposure"],
        "evaluate_models": ["place_households"],
        "model_status": ["pass_on"],
    }
    for job, before in reads.items():
        for earlier in before:
            assert jobs[earlier].schedule < jobs[job].schedule or jobs[earlier].schedule.startswith("minute="), (
                job,
                earlier,
            )
    html = client.get("/admin/jobs", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<td>01:45</td>" in html  # exposure, as people read a time
