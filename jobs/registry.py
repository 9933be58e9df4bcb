"""The jobs sinhke knows, under fixed ids, in the order a full refresh runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from jobs import JobError


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Session], int]
    description: str
    #: cron fields for the scheduler (Asia/Ho_Chi_Minh)
    cron: dict[str, str]

    @property
    def schedule(self) -> str:
        """The cron fields for people: "01:45" for a daily time, else the fields as given."""
        hour, minute = self.cron.get("hour", "*"), self.cron.get("minute", "0")
        if hour.isdigit() and minute.isdigit() and set(self.cron) <= {"hour", "minute"}:
            return f"{int(hour):02d}:{int(minute):02d}"
        return " ".join(f"{k}={v}" for k, v in self.cron.items())


JOBS: dict[str, Job] = {}
#: a full refresh runs jobs in this order (each reads what the one before wrote)
RUN_ORDER = (
    "place_households",
    "classify_households",
    "area_indicators",
    "income_change",
    "exposure",
    "fallback_risk",
    "evaluate_models",
    "duplicates",
    "pass_on",
    "model_status",
)


JobFunc = Callable[[Session], int]


def register(name: str, description: str, **cron: str) -> Callable[[JobFunc], JobFunc]:
    def wrap(func: JobFunc) -> JobFunc:
        JOBS[name] = Job(name=name, func=func, description=description, cron=cron)
        return func

    return wrap


def get_job(name: str) -> Job:
    load_all()
    try:
        return JOBS[name]
    except KeyError:
        raise JobError(f"unknown job {name!r}; known jobs: {', '.join(JOBS)}") from None


def load_all() -> dict[str, Job]:
    """Import the job modules (registration happens at import)."""
    from jobs import (  # noqa: F401
        area_indicators,
        classify,
        duplicates,
        evaluate,
        exposure,
        fallback_risk,
        income_change,
        model_status,
        pass_on,
        placement,
    )

    order = [n for n in RUN_ORDER if n in JOBS] + [n for n in JOBS if n not in RUN_ORDER]
    return {n: JOBS[n] for n in order}
