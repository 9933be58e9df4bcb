"""``sinhke jobs`` and ``sinhke scheduler``: the scheduled computations, now or on their schedule."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup


@click.group(cls=SinhkeGroup, help="Scheduled computations.")
def jobs() -> None:
    pass


@jobs.command("list", help="Jobs, their schedule and last run.")
@click.pass_obj
def jobs_list(settings: Settings) -> None:
    from jobs.registry import load_all
    from jobs.runner import last_runs
    from spatial.db import transaction

    with transaction(settings) as session:
        last = {r.job: r for r in last_runs(session)}
    for job in load_all().values():
        run = last.get(job.name)
        when = job.schedule
        state = f"{run.status} at {run.started_at:%Y-%m-%d %H:%M}" if run else "never run"
        click.echo(f"{job.name:<22} {when:<18} {state:<32} {job.description}")


def _progress(name: str, started: float) -> Callable[[str], None]:
    """A job's progress lines on stderr, with the seconds since it started."""
    return lambda message: click.echo(f"{name}: [{time.monotonic() - started:6.1f} s] {message}", err=True)


@jobs.command("run", help="Run one job now (NAME), or every job in order (all).")
@click.argument("name")
@click.pass_obj
def jobs_run(settings: Settings, name: str) -> None:
    from jobs.registry import get_job, load_all
    from jobs.runner import run_job

    names = list(load_all()) if name == "all" else [get_job(name).name]
    failed = False
    for n in names:
        t = time.monotonic()
        click.echo(f"{n}: running …", err=True)
        out = run_job(settings, n, progress=_progress(n, t))
        took = time.monotonic() - t
        if out.status == "succeeded":
            click.echo(f"{n}: succeeded, {out.rows_affected:,} rows, {took:.1f} s")
        elif out.status == "skipped":
            click.echo(f"{n}: skipped ({out.reason})")
        else:
            failed = True
            click.echo(f"{n}: FAILED: {out.error}", err=True)
    if failed:
        sys.exit(1)


@click.command(help="Run the job scheduler (its own process; Ctrl-C stops it).")
@click.pass_obj
def scheduler(settings: Settings) -> None:
    import logging

    from jobs.scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sched = build_scheduler(settings)
    for job in sched.get_jobs():
        click.echo(f"scheduled {job.id}: {job.trigger}")
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
