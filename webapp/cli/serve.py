"""``sinhke serve``: the web app under gunicorn, or Flask's reloading server with --dev;
``--with-scheduler`` runs ``sinhke scheduler`` beside it as a second process, as production does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

import click

from spatial import SinhkeError
from spatial.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


#: gunicorn's gthread workers: one process per core, each serving THREADS requests at once (while one
#: waits for PostgreSQL another runs); measured in bench/bench_serving.py
CORES = os.cpu_count() or 1
THREADS = 4


@click.command(help="Serve the web app (gunicorn; --dev for Flask's reloading server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=CORES, type=click.IntRange(1, 64), show_default="one per core")
@click.option("--threads", default=THREADS, type=click.IntRange(1, 64), show_default=True, help="per worker")
@click.option("--dev", is_flag=True)
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run `sinhke scheduler` as a child process; Ctrl-C (or SIGTERM) stops both.",
)
@click.pass_obj
def serve(
    settings: Settings, host: str, port: int, workers: int, threads: int, dev: bool, with_scheduler: bool
) -> None:
    if settings.secret_key is None and host not in LOOPBACK:
        raise SinhkeError(
            f"serving on {host} needs SINHKE_SECRET_KEY: without it, cookies are signed with a key kept in "
            f"{settings.data_dir / 'secret_key'}, meant for one machine's demo (generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if dev or gunicorn is None:
        web = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "webapp:create_app()",
            "run",
            "--host",
            host,
            "--port",
            str(port),
        ]
        if dev:
            web += ["--debug"]
    else:
        web = [
            gunicorn,
            # every thread of a worker holds one connection while it serves: the pool never makes one wait
            "--env",
            f"SINHKE_DB_POOL_SIZE={max(settings.db_pool_size, threads)}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            # each server its own control socket (gunicorn's default is one in the home directory,
            # which a second server on the machine, a test's or a benchmark's, would take over)
            "--control-socket",
            str(settings.data_dir / f"gunicorn-{port}.ctl"),
            "webapp:create_app()",
        ]
    if not with_scheduler:
        os.execv(web[0], web)
        return  # not reached: execv replaces this process
    sys.exit(run_together(web, [sys.executable, "-m", "webapp.cli", "scheduler"]))


def run_together(*commands: list[str], grace_s: float = 10.0) -> int:
    """Run the commands as child processes until one ends or this process is told to stop
    (Ctrl-C, SIGTERM); then stop the others (SIGTERM, SIGKILL after ``grace_s``). Returns the
    first non-zero exit status, else 0."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    children = [subprocess.Popen(command) for command in commands]
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + grace_s
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return next((c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)), 0)
