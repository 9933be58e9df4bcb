"""The job table: every target loads, and the order follows what each job reads."""

from __future__ import annotations

import pytest

from jobs import JobError
from jobs.registry import JOBS, Job, load_all
from spatial.models import Base


def test_every_job_loads_under_its_name():
    jobs = load_all()
    assert list(jobs) == [job.name for job in JOBS]
    assert len(set(jobs)) == len(JOBS)
    for job in jobs.values():
        assert callable(job.func), job.name
        assert job.description and job.cron, job.name


def test_a_wrong_target_names_the_job():
    job = Job("t_missing", "jobs.placement:no_such_function", "missing", {"minute": "0"})
    with pytest.raises(JobError, match="job t_missing: cannot load jobs.placement:no_such_function"):
        _ = job.func


def test_reads_and_writes_name_tables_and_each_table_has_one_writer():
    tables = set(Base.metadata.tables)
    for job in JOBS:
        assert set(job.reads) | set(job.writes) <= tables, (job.name, (set(job.reads) | set(job.writes)) - tables)
    writes = [table for job in JOBS for table in job.writes]
    assert len(writes) == len(set(writes)), writes


def test_a_job_runs_after_the_jobs_that_write_what_it_reads():
    """In a full refresh (table order) and at night (the scheduler runs them by time)."""
    position = {job.name: i for i, job in enumerate(JOBS)}
    writer = {table: job for job in JOBS for table in job.writes}
    checked = 0
    for job in JOBS:
        for table in job.reads:
            earlier = writer.get(table)
            if earlier is None or earlier is job:
                continue
            checked += 1
            assert position[earlier.name] < position[job.name], (job.name, table, earlier.name)
            assert earlier.schedule < job.schedule or earlier.schedule.startswith("minute="), (
                job.name,
                table,
                earlier.name,
            )
    assert checked >= 10  # the table declares the dependencies this test is about


def test_the_scheduler_fires_every_job_on_its_schedule():
    from jobs.scheduler import build_scheduler
    from spatial.settings import Settings

    scheduled = {j.id: j for j in build_scheduler(Settings.from_env()).get_jobs()}
    assert list(scheduled) == [job.name for job in JOBS]
    for job in JOBS:
        fields = {f.name: str(f) for f in scheduled[job.name].trigger.fields if not f.is_default}
        assert fields == dict(job.cron), job.name
        assert scheduled[job.name].name == job.description
