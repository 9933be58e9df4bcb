"""Job runs: one row each, an advisory lock and a unique (job, scheduled_for) key.

run_job opens its own session and commits: these tests read the committed database after it."""

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from jobs import JobError, registry
from jobs.registry import Job, get_job
from jobs.runner import run_job
from spatial.db import transaction
from spatial.models import JobRun


def _slow_job(session):
    session.execute(text("SELECT pg_sleep(1.0)"))
    return 7


def _broken_job(session):
    session.execute(text("UPDATE households SET members = members + 1"))
    raise RuntimeError("boom")


@pytest.fixture
def slow_job(monkeypatch):
    job = Job("test_slow", f"{__name__}:_slow_job", "sleeps a second", {"minute": "0"})
    monkeypatch.setattr(registry, "JOBS", (*registry.JOBS, job))
    return job.name


def _runs(settings, job, slot=None):
    with transaction(settings) as s:
        q = select(func.count()).select_from(JobRun).where(JobRun.job == job)
        if slot is not None:
            q = q.where(JobRun.scheduled_for == slot)
        return s.scalar(q)


@pytest.mark.parametrize("same_slot", [True, False])
def test_two_concurrent_runners_make_one_run(demo_settings, slow_job, same_slot):
    before = _runs(demo_settings, slow_job)
    slot = datetime.now(UTC).replace(microsecond=0)
    barrier = threading.Barrier(2)
    outcomes = []

    def runner(i):
        barrier.wait()
        when = slot if same_slot else None
        outcomes.append(run_job(demo_settings, slow_job, scheduled_for=when, trigger="scheduler"))

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(o.status for o in outcomes)
    assert statuses == ["skipped", "succeeded"], outcomes
    assert _runs(demo_settings, slow_job) == before + 1


def test_same_slot_twice_in_a_row_runs_once(demo_settings, slow_job):
    slot = datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
    first = run_job(demo_settings, slow_job, scheduled_for=slot)
    second = run_job(demo_settings, slow_job, scheduled_for=slot)
    assert (first.status, second.status) == ("succeeded", "skipped")
    assert "exists" in second.reason
    assert _runs(demo_settings, slow_job, slot) == 1
    with transaction(demo_settings) as s:
        run = s.scalar(select(JobRun).where(JobRun.job == slow_job, JobRun.scheduled_for == slot))
        assert (run.status, run.rows_affected) == ("succeeded", 7)
        assert run.finished_at >= run.started_at


def test_failure_is_recorded_and_rolled_back(demo_settings, monkeypatch):
    monkeypatch.setattr(
        registry, "JOBS", (*registry.JOBS, Job("test_broken", f"{__name__}:_broken_job", "fails", {"minute": "0"}))
    )
    with transaction(demo_settings) as s:
        members = s.scalar(text("SELECT sum(members) FROM households"))
    out = run_job(demo_settings, "test_broken")
    assert out.status == "failed" and "boom" in out.error
    with transaction(demo_settings) as s:
        assert s.scalar(text("SELECT sum(members) FROM households")) == members
        run = s.get(JobRun, out.run_id)
        assert run.status == "failed" and "RuntimeError: boom" in run.error


def test_unknown_job_named():
    with pytest.raises(JobError, match="unknown job 'nope'.*classify_households"):
        get_job("nope")


def test_jobs_are_idempotent(demo_settings):
    with transaction(demo_settings) as s:
        before = s.execute(
            text(
                "SELECT md5(string_agg(concat_ws(',', unit_id, year, households, "
                "poor, near_poor, mean_income), ';' ORDER BY unit_id, year)) "
                "FROM area_indicators"
            )
        ).scalar()
    for job in ("place_households", "classify_households", "area_indicators"):
        out = run_job(demo_settings, job)
        assert out.status == "succeeded"
        if job != "area_indicators":
            assert out.rows_affected == 0, job
        time.sleep(0.01)
    with transaction(demo_settings) as s:
        after = s.execute(
            text(
                "SELECT md5(string_agg(concat_ws(',', unit_id, year, households, "
                "poor, near_poor, mean_income), ';' ORDER BY unit_id, year)) "
                "FROM area_indicators"
            )
        ).scalar()
    assert before == after
