"""``sinhke scheduler``: APScheduler 3 in its own process, never inside web workers.

Each fire runs through ``run_job`` with the fire time (to the minute) as the run's
``scheduled_for``, so several scheduler processes or machines firing the same slot
produce one run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs.registry import load_all
from jobs.runner import run_job
from spatial.settings import Settings

log = logging.getLogger("sinhke.scheduler")


def _fire(settings: Settings, name: str) -> None:
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    outcome = run_job(settings, name, scheduled_for=slot, trigger="scheduler")
    log.info("%s %s: %s", name, slot.isoformat(), outcome.status)


def next_runs(timezone: str, now: datetime | None = None) -> dict[str, datetime]:
    """When each job fires next on its schedule (cron fields in ``timezone``), after ``now``."""
    zone = ZoneInfo(timezone)
    now = now or datetime.now(zone)
    out = {}
    for job in load_all().values():
        fire = CronTrigger(timezone=zone, **job.cron).get_next_fire_time(None, now)
        if fire is not None:
            out[job.name] = fire
    return out


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=settings.timezone)
    for job in load_all().values():
        scheduler.add_job(
            _fire,
            CronTrigger(timezone=settings.timezone, **job.cron),
            args=[settings, job.name],
            id=job.name,
            name=job.description,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            replace_existing=True,
        )
    return scheduler
