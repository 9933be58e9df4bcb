"""Progress of a long job: ``report("raster 2/4: communes")`` from inside a job body.

The runner decides where it goes (the job-run row, seen on /admin/jobs and /healthz while
the job runs, and the CLI's stderr); outside a run it goes nowhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_sink: ContextVar[Callable[[str], None] | None] = ContextVar("sinhke_job_progress", default=None)


def report(message: str) -> None:
    sink = _sink.get()
    if sink is not None:
        sink(message)


@contextmanager
def reporting(sink: Callable[[str], None]) -> Iterator[None]:
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
