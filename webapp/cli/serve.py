"""``sinhke serve``: the web app under gunicorn, or Flask's reloading server with --dev."""

from __future__ import annotations

import os
import shutil
import sys

import click

from spatial.settings import Settings


@click.command(help="Serve the web app (gunicorn; --dev for Flask's reloading server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=2, type=int, show_default=True)
@click.option("--dev", is_flag=True)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, dev: bool) -> None:
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
            "webapp:create_app()",
        ],
    )
