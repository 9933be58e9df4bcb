"""The ``sinhke`` command line: database, demo, jobs, scheduler and web server."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click

from spatial import SinhkeError
from spatial.settings import Settings


def _friendly(func):
    """Errors sinhke knows become one readable line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SinhkeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:  # database unreachable and the like: no traceback
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):
                click.echo(
                    f"error: the database is not reachable ({str(exc.orig).strip().splitlines()[0]}). "
                    "Start it with `sinhke db up`.",
                    err=True,
                )
                sys.exit(1)
            raise

    return wrapper


@click.group(help="sinhke: a poverty-reduction programme on the map.")
@click.pass_context
def main(ctx: click.Context) -> None:
    ctx.obj = Settings.from_env()


# ---------------------------------------------------------------------------- db
@main.group(help="The database: the private cluster under var/pg, or SINHKE_DATABASE_URL.")
def db() -> None:
    pass


@db.command("up", help="Initialise (first time) and start the database; create it and PostGIS.")
@click.pass_obj
@_friendly
def db_up(settings: Settings) -> None:
    from spatial import cluster

    url = cluster.up(settings)
    where = (
        ("private cluster in " + str(settings.data_dir / "pg"))
        if settings.uses_private_cluster
        else "SINHKE_DATABASE_URL"
    )
    click.echo(f"database ready ({where}): {url}")


@db.command("down", help="Stop the private cluster.")
@click.pass_obj
@_friendly
def db_down(settings: Settings) -> None:
    from spatial.cluster import PrivateCluster

    if not settings.uses_private_cluster:
        click.echo("SINHKE_DATABASE_URL is set: that server is not ours to stop.")
        return
    stopped = PrivateCluster(settings).stop()
    click.echo("stopped" if stopped else "not running")


@db.command("status", help="Is the database up, and at which migration?")
@click.pass_obj
@_friendly
def db_status(settings: Settings) -> None:
    from spatial.cluster import PrivateCluster, database_url

    if settings.uses_private_cluster:
        c = PrivateCluster(settings)
        state = "running" if c.running() else ("stopped" if c.initialised else "not initialised")
        click.echo(f"private cluster {c.datadir}: {state} (port {c.port})")
        if state != "running":
            sys.exit(3)
    from sqlalchemy import text

    from spatial.db import engine_for
    from spatial.migrate import current_revision, heads

    eng = engine_for(settings)
    with eng.connect() as conn:
        pg, postgis = conn.execute(
            text(
                "SELECT current_setting('server_version'), "
                "(SELECT extversion FROM pg_extension WHERE extname = 'postgis')"
            )
        ).one()
    rev = current_revision(eng)
    head = heads(settings)
    click.echo(f"database {database_url(settings)}: PostgreSQL {pg}, PostGIS {postgis or 'missing'}")
    click.echo(
        f"migration {rev or 'none'} (head {', '.join(head)})" + ("" if rev in head else " — run `sinhke db migrate`")
    )


@db.command("url", help="Print the database URL.")
@click.pass_obj
def db_url(settings: Settings) -> None:
    from spatial.cluster import database_url

    click.echo(database_url(settings))


@db.command("migrate", help="Apply Alembic migrations up to the head.")
@click.pass_obj
@_friendly
def db_migrate(settings: Settings) -> None:
    from spatial import migrate

    migrate.upgrade(settings)
    click.echo(f"migrated to {', '.join(migrate.heads(settings))}")


# ---------------------------------------------------------------------------- demo
@main.command(help="Load the Lạng Sơn demo (real units, synthetic programme data).")
@click.option("--households", type=click.IntRange(100, 5_000_000), default=20_000, show_default=True)
@click.option("--seed", type=int, default=2025, show_default=True)
@click.option("--reset", is_flag=True, help="Delete all loaded data first and rebuild.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data are already loaded.")
@click.pass_obj
@_friendly
def demo(settings: Settings, households: int, seed: int, reset: bool, if_empty: bool) -> None:
    from ingest import demo as demo_mod
    from spatial.db import transaction

    with transaction(settings) as session:
        if demo_mod.is_loaded(session):
            if if_empty and not reset:
                click.echo("demo data already loaded; leaving them (use --reset to rebuild)")
                demo_mod.demo_users(session, only_missing=True)
                from ingest.demo_rasters import load_demo_rasters

                load_demo_rasters(
                    session, settings, seed, progress=lambda m: click.echo(m, err=True), only_missing=True
                )
                demo_mod.demo_forms(session)
                click.echo(demo_mod.describe_logins(session))
                return
            if reset:
                click.echo("removing loaded data (--reset)")
                demo_mod.reset(session)
        summary = demo_mod.load_demo(
            session,
            demo_mod.DemoOptions(households=households, seed=seed),
            progress=lambda m: click.echo(m, err=True),
            settings=settings,
        )
    click.echo(demo_mod.describe(summary))


# ---------------------------------------------------------------------------- jobs
@main.group(help="Scheduled computations.")
def jobs() -> None:
    pass


@jobs.command("list", help="Jobs, their schedule and last run.")
@click.pass_obj
@_friendly
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


@jobs.command("run", help="Run one job now (NAME), or every job in order (all).")
@click.argument("name")
@click.pass_obj
@_friendly
def jobs_run(settings: Settings, name: str) -> None:
    import time

    from jobs.registry import get_job, load_all
    from jobs.runner import run_job

    names = list(load_all()) if name == "all" else [get_job(name).name]
    failed = False
    for n in names:
        t = time.monotonic()
        click.echo(f"{n}: running …", err=True)

        def progress(message: str, n: str = n, t: float = t) -> None:
            click.echo(f"{n}: [{time.monotonic() - t:6.1f} s] {message}", err=True)

        out = run_job(settings, n, progress=progress)
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


@main.command(help="Run the job scheduler (its own process; Ctrl-C stops it).")
@click.pass_obj
@_friendly
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


# ---------------------------------------------------------------------------- users
@main.group(help="Users, roles, areas and API tokens.")
def users() -> None:
    pass


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "cli"


@contextmanager
def _as_cli_user(settings: Settings) -> Iterator[Any]:
    """One transaction whose changes the audit trail attributes to the CLI's operator."""
    from spatial.accounts import act_as
    from spatial.db import transaction

    with transaction(settings) as s:
        act_as(s, _cli_actor())
        yield s


def _read_password(from_stdin: bool, confirm: bool = True) -> str | None:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise click.UsageError("--password-stdin: no password on standard input")
        return line
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=confirm)
    return None


@users.command("add", help="Add a user; prints a generated password unless one is given.")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "planner", "extension_worker", "evaluator"]), required=True)
@click.option("--area", "areas", multiple=True, help="province or 2025 commune code (repeatable)")
@click.option("--display-name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.pass_obj
@_friendly
def users_add(
    settings: Settings, name: str, role: str, areas: tuple[str, ...], display_name: str | None, password_stdin: bool
) -> None:
    import secrets

    from spatial.accounts import create_user, user_areas

    password = _read_password(password_stdin) if password_stdin else None
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    with _as_cli_user(settings) as s:
        user = create_user(s, name, role, password=password, areas=list(areas), display_name=display_name)
        where = ", ".join(f"{a.name} ({a.code})" for a in user_areas(s, user.id)) or "no area yet"
    click.echo(f"added {name} ({role}; {where})")
    if generated:
        click.echo(f"password: {password}")


@users.command("assign", help="Replace a user's areas.")
@click.argument("name")
@click.option("--area", "areas", multiple=True, required=True)
@click.pass_obj
@_friendly
def users_assign(settings: Settings, name: str, areas: tuple[str, ...]) -> None:
    from spatial.accounts import assign_areas, get_user

    with _as_cli_user(settings) as s:
        units = assign_areas(s, get_user(s, name), list(areas))
        click.echo(f"{name}: " + ", ".join(f"{u.name} ({u.code})" for u in units))


@users.command("list", help="Users, roles, areas and status.")
@click.pass_obj
@_friendly
def users_list(settings: Settings) -> None:
    from sqlalchemy import select

    from spatial.accounts import user_areas
    from spatial.db import transaction
    from spatial.models import User

    with transaction(settings) as s:
        for u in s.scalars(select(User).order_by(User.name)):
            areas = ", ".join(a.code for a in user_areas(s, u.id)) or "-"
            state = "disabled" if u.disabled_at else "active"
            click.echo(f"{u.name:<20} {u.role:<17} {state:<9} {areas}")


@users.command("passwd", help="Set a user's password (ends their sessions).")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@click.pass_obj
@_friendly
def users_passwd(settings: Settings, name: str, password_stdin: bool) -> None:
    from spatial.accounts import get_user, set_password

    password = _read_password(password_stdin)
    if password is None:
        raise click.UsageError("no terminal to ask for the password: use --password-stdin")
    with _as_cli_user(settings) as s:
        set_password(s, get_user(s, name), password)
    click.echo(f"password of {name} changed; their sessions have ended")


@users.command("disable", help="Disable a user: sessions end, tokens are revoked.")
@click.argument("name")
@click.pass_obj
@_friendly
def users_disable(settings: Settings, name: str) -> None:
    from spatial.accounts import disable_user, get_user

    with _as_cli_user(settings) as s:
        disable_user(s, get_user(s, name))
    click.echo(f"{name} disabled")


@users.command("token", help="Print a new API token for the user (stored hashed).")
@click.argument("name")
@click.pass_obj
@_friendly
def users_token(settings: Settings, name: str) -> None:
    from spatial.accounts import get_user, issue_token

    with _as_cli_user(settings) as s:
        token = issue_token(s, get_user(s, name))
    click.echo(token)


# ---------------------------------------------------------------------------- import
@main.group("import", help="Bring data in: climate-risk rasters.")
def import_() -> None:
    pass


@import_.command("raster", help="Catalogue a GeoTIFF (any CRS, VN-2000 included) as a Cloud-Optimized GeoTIFF.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--hazard", type=click.Choice(["flood_depth", "drought_index", "landslide", "rainfall", "other"]), required=True
)
@click.option("--unit", help="unit of the values (default: m, sd, class or mm by hazard)")
@click.option("--return-period", type=click.IntRange(1, 100_000), help="years, e.g. 10 or 100")
@click.option("--scenario", help="climate scenario, e.g. historical, ssp245")
@click.option("--epoch", type=click.Choice(["baseline", "2030", "2050", "2080"]), default="baseline", show_default=True)
@click.option("--source", help="where the data come from")
@click.option("--licence", help="the data's licence")
@click.option("--name", help="name in the catalogue (default: the file name)")
@click.option("--json", "as_json", is_flag=True, help="print the catalogue entry as one JSON object")
@click.pass_obj
@_friendly
def import_raster(
    settings: Settings,
    file: Path,
    hazard: str,
    unit: str | None,
    return_period: int | None,
    scenario: str | None,
    epoch: str,
    source: str | None,
    licence: str | None,
    name: str | None,
    as_json: bool,
) -> None:
    import json

    from ingest.raster import RasterMetadata, ingest_raster
    from spatial.raster_catalogue import catalogue_entry

    meta = RasterMetadata(
        hazard=hazard,
        unit=unit,
        return_period=return_period,
        scenario=scenario,
        epoch=epoch,
        source=source,
        licence=licence,
        name=name,
    )
    click.echo(f"{file.name}: checking and converting to a Cloud-Optimized GeoTIFF …", err=True)
    with _as_cli_user(settings) as s:
        row, new = ingest_raster(s, file, file.name, meta, _cli_actor(), settings=settings, progress=sys.stderr)
        entry = catalogue_entry(s, row.id)
    if as_json:
        click.echo(json.dumps({**entry, "new": new}, ensure_ascii=False))
    elif new:
        click.echo(
            f"catalogued raster {row.id}: {row.hazard} {row.width} x {row.height} {row.dtype}, "
            f"{row.crs}, values {row.value_min:g} to {row.value_max:g}"
        )
    else:
        click.echo(f"already catalogued as raster {row.id} (same checksum): nothing to do")


# ---------------------------------------------------------------------------- web
# ---------------------------------------------------------------------------- forms
@main.group(help="Field forms: XLSForm files, versioned in the database.")
def forms() -> None:
    pass


@forms.command(
    "load",
    help="Load every XLSForm (*.xlsx) in DIR (default: the shipped forms/); "
    "a form becomes a new version only when it changed.",
)
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@click.pass_obj
@_friendly
def forms_load(settings: Settings, directory: str | None) -> None:
    from pathlib import Path

    from ingest.forms import FORMS_DIR, load_forms

    with _as_cli_user(settings) as s:
        outcomes = load_forms(s, Path(directory) if directory else FORMS_DIR)
    for o in outcomes:
        click.echo(f"{o.form_id:<22} {o.version:<12} {o.status:<10} {o.source_name}")


@forms.command("list", help="The current version of every form.")
@click.pass_obj
@_friendly
def forms_list(settings: Settings) -> None:
    from spatial.db import transaction
    from spatial.field import current_forms

    with transaction(settings) as s:
        for f in current_forms(s):
            types = " ".join(f["target_types"])
            click.echo(f"{f['form']:<22} {f['version']:<12} {f['target']}:{types:<28} {f['title']['vi']}")


@main.command(help="Serve the web app (gunicorn; --dev for Flask's reloading server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=2, type=int, show_default=True)
@click.option("--dev", is_flag=True)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, dev: bool) -> None:
    if dev or not shutil.which("gunicorn", path=os.path.dirname(sys.executable)):
        from webapp import create_app

        create_app(settings).run(host=host, port=port, debug=dev)
        return
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    assert gunicorn is not None  # found just above
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


from webapp.cli_evaluate import evaluate  # noqa: E402  (registers `sinhke evaluate …`)

main.add_command(evaluate)

if __name__ == "__main__":
    main()
