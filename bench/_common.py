"""Shared helpers for the benchmarks: the bench database, timing, RSS, machine facts, output."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from spatial.cluster import database_url
from spatial.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_DATABASE = "sinhke_bench"


def bench_settings(database: str = DEFAULT_DATABASE) -> Settings:
    """The project's settings pointed at the benchmark database (never sinhke / sinhke_test)."""
    if database in ("sinhke", "sinhke_test"):
        raise SystemExit(f"refusing to benchmark in {database!r}: it is the app's or the tests'")
    return Settings.from_env().with_database(database)


def libpq_url(settings: Settings) -> str:
    """A plain libpq URL (for psycopg.connect) of the settings' database."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url(settings)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def connect(settings: Settings, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(libpq_url(settings), application_name="sinhke-bench", **kwargs)


def scalar(conn: psycopg.Connection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The first column of the first row (None without rows)."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def peak_rss_mib() -> float:
    """Peak resident set size of this Python process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - t0


def summarise(times: Sequence[float]) -> dict[str, float]:
    return {
        "runs": len(times),
        "min": min(times),
        "median": statistics.median(times),
        "max": max(times),
    }


def _cmd(args: list[str]) -> str:
    if not shutil.which(args[0]):
        return ""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_info() -> dict[str, Any]:
    """The commit under test, and uncommitted changes to the code the benchmarks time."""
    root = str(BENCH_DIR.parent)
    return {
        "git_commit": _cmd(["git", "-C", root, "rev-parse", "--short", "HEAD"]),
        "git_dirty": _cmd(["git", "-C", root, "status", "--porcelain", "--", "spatial", "ingest", "jobs"]).splitlines(),
    }


def machine(settings: Settings) -> dict[str, Any]:
    """The facts a reader needs to compare figures: cores, memory, CPU, server versions."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "nproc": _cmd(["nproc"]) or str(os.cpu_count()),
        "memory": _cmd(["free", "-h"]).splitlines()[1:2],
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        **git_info(),
    }
    with connect(settings, autocommit=True) as conn:
        info["postgresql"] = scalar(conn, "SHOW server_version")
        info["postgis"] = scalar(conn, "SELECT postgis_lib_version()")
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit"):
            info[name] = scalar(conn, f"SHOW {name}")
    return info


def loadavg() -> list[float]:
    """1, 5 and 15-minute load averages: other work on the machine skews the timings."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def cpu_busy(sample: float = 1.0) -> float:
    """Share of all cores busy over ``sample`` seconds (while this benchmark itself waits)."""
    try:
        b0, t0 = _cpu_times()
        time.sleep(sample)
        b1, t1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (b1 - b0) / max(t1 - t0, 1)


def wait_quiet(max_wait: float, threshold: float = 0.2) -> float:
    """Wait (up to ``max_wait`` s) until other work leaves the cores idle; returns the busy share.

    Timings on a 2-core machine shared with test runs are otherwise skewed upwards.
    """
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return busy


def write_json(name: str, payload: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT_DIR / f"{name}-{stamp}.json"
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    (OUT_DIR / f"{name}-latest.json").write_text(text + "\n", encoding="utf-8")
    return path


def write_text(name: str, text: str) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    path.write_text(text, encoding="utf-8")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pastes straight into bench/README.md)."""
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(vals: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"

    out = [line(list(headers)), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a server this benchmark started (SIGTERM to its pid, then SIGKILL after 30 s)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def say(message: str) -> None:
    print(message, flush=True)


Progress = Callable[[str], None]
