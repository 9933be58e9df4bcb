"""``sinhke db``: the private cluster under var/pg, or the server SINHKE_DATABASE_URL names."""

from __future__ import annotations

import sys

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup


@click.group(cls=SinhkeGroup, help="The database: the private cluster under var/pg, or SINHKE_DATABASE_URL.")
def db() -> None:
    pass


@db.command("up", help="Initialise (first time) and start the database; create it and PostGIS.")
@click.pass_obj
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
def db_down(settings: Settings) -> None:
    from spatial.cluster import PrivateCluster

    if not settings.uses_private_cluster:
        click.echo("SINHKE_DATABASE_URL is set: that server is not ours to stop.")
        return
    stopped = PrivateCluster(settings).stop()
    click.echo("stopped" if stopped else "not running")


@db.command("status", help="Is the database up, and at which migration?")
@click.pass_obj
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
def db_migrate(settings: Settings) -> None:
    from spatial import migrate

    migrate.upgrade(settings)
    click.echo(f"migrated to {', '.join(migrate.heads(settings))}")
