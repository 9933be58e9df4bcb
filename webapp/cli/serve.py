"""``sinhke serve``: the web app under gunicorn, or Flask's reloading server with --dev."""

from __future__ import annotations

import os
import shutil
import sys

import click

from spatial import SinhkeError
from spatial.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command(help="Serve the web app (gunicorn; --dev for Flask's reloading server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=2, type=int, show_default=True)
@click.option("--dev", is_flag=True)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, dev: bool) -> None:
    if settings.secret_key is None and host not in LOOPBACK:
        raise SinhkeError(
            f"serving on {host} needs SINHKE_SECRET_KEY: without it, cookies are signed with a key kept in "
            f"{settings.data_dir / 'secret_key'}, meant for one machine's demo (generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if dev or gunicorn is None:
        from webapp import create_app

        create_app(settings).run(host=host, port=port, debug=dev)
        return
    os.execv(
        gunicorn,
        [
            gunicorn,
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            # each server its own control socket (gunicorn's default is one in the home directory,
            # which a second server on the machine, a test's or a benchmark's, would take over)
            "--control-socket",
            str(settings.data_dir / f"gunicorn-{port}.ctl"),
            "webapp:create_app()",
        ],
    )
