"""Run a job once: a row in job_runs, an advisory lock, a unique (job, scheduled_for) key.

Two runners (threads, processes, machines) asked for the same job never both run it:
the advisory lock keeps a second one out while the first runs, and the unique key
keeps out a second run of the same scheduled slot after the first has finished.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jobs.progress import reporting
from jobs.registry import get_job
from spatial.db import engine_for, session_factory
from spatial.models import JobRun
from spatial.settings import Settings

#: first key of the two-int advisory lock: sinhke's namespace
LOCK_NAMESPACE = 0x51E4


@dataclass(frozen=True)
class RunOutcome:
    job: str
    status: str  # succeeded | failed | skipped
    run_id: int | None = None
    rows_affected: int | None = None
    error: str | None = None
    reason: str | None = None


def lock_key(job: str) -> int:
    return zlib.crc32(job.encode()) & 0x7FFFFFFF


def run_job(
    settings: Settings,
    name: str,
    *,
    scheduled_for: datetime | None = None,
    trigger: str = "manual",
    progress: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run the job once (see the module); ``progress`` also receives the job's progress lines."""
    job = get_job(name)
    when = scheduled_for or datetime.now(UTC)
    engine = engine_for(settings)
    factory = session_factory(settings)
    with engine.connect() as lock_conn:
        got = lock_conn.scalar(select(func.pg_try_advisory_lock(LOCK_NAMESPACE, lock_key(name))))
        lock_conn.commit()
        if not got:
            return RunOutcome(name, "skipped", reason="another runner holds this job's lock")
        try:
            with factory.begin() as s:
                run_id = s.scalar(
                    insert(JobRun)
                    .values(job=name, scheduled_for=when, trigger=trigger, status="running", host=socket.gethostname())
                    .on_conflict_do_nothing(constraint="uq_job_runs_job_scheduled_for")
                    .returning(JobRun.id)
                )
            if run_id is None:
                return RunOutcome(name, "skipped", reason=f"the run scheduled for {when.isoformat()} exists")

            def record(message: str) -> None:
                # on the lock's own connection: seen at once, whatever the job's transaction does
                lock_conn.execute(update(JobRun).where(JobRun.id == run_id).values(progress=message[:500]))
                lock_conn.commit()
                if progress is not None:
                    progress(message)

            try:
                with reporting(record), factory.begin() as s:
                    rows = job.func(s)
            except Exception as exc:  # noqa: BLE001 - recorded, then reported
                detail = "".join(traceback.format_exception_only(exc)).strip()
                with factory.begin() as s:
                    s.execute(
                        update(JobRun)
                        .where(JobRun.id == run_id)
                        .values(status="failed", finished_at=func.now(), error=detail[:4000])
                    )
                return RunOutcome(name, "failed", run_id=run_id, error=detail)
            with factory.begin() as s:
                s.execute(
                    update(JobRun)
                    .where(JobRun.id == run_id)
                    .values(status="succeeded", finished_at=func.now(), rows_affected=rows)
                )
            return RunOutcome(name, "succeeded", run_id=run_id, rows_affected=rows)
        finally:
            lock_conn.execute(select(func.pg_advisory_unlock(LOCK_NAMESPACE, lock_key(name))))
            lock_conn.commit()


def launch(settings: Settings, name: str, trigger: str = "web") -> int:
    """Start one run of the job in a process of its own (``python -m jobs.run_once``) and return its pid
    without waiting: a web request asks for the run, never does it. The run is an ordinary ``run_job``
    (its row, lock and progress), so /admin/jobs follows it as it follows a scheduled one, and it
    outlives the web worker that started it."""
    get_job(name)  # an unknown job fails here, in the request
    return spawn(settings, "jobs.run_once", name, trigger)


def spawn(settings: Settings, module: str, *args: str) -> int:
    """``python -m MODULE ARGS…`` in a process of its own, on these settings; its pid, without waiting."""
    env = {**os.environ, **settings.environment()}
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the worker's process group: a worker restart does not stop it
    )
    threading.Thread(target=process.wait, daemon=True).start()  # reaped when it ends: no zombie
    return process.pid


def running(session: Session, name: str) -> JobRun | None:
    """The job's run in progress, if any."""
    return session.scalar(
        select(JobRun).where(JobRun.job == name, JobRun.status == "running").order_by(JobRun.id.desc()).limit(1)
    )


def last_runs(session: Session) -> list[JobRun]:
    """The latest run of each job."""
    sub = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    return list(session.scalars(select(JobRun).join(sub, JobRun.id == sub.c.id).order_by(JobRun.job)))


def recent_runs(session: Session, limit: int = 100) -> list[JobRun]:
    """The latest runs of all jobs, newest first."""
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))
