"""Alembic driven from code: one head, URL from settings."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from spatial.cluster import database_url
from spatial.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Compare only our tables: PostGIS's own (spatial_ref_sys, topology, tiger) are not ours."""
    from geoalchemy2 import alembic_helpers

    if type_ == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(settings).replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def heads(settings: Settings) -> list[str]:
    """The migration heads of the installed code (read once per process: the scripts do not change
    while it runs, and reading them compiles every migration)."""
    return list(_heads())


@functools.cache
def _heads() -> tuple[str, ...]:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return tuple(ScriptDirectory.from_config(cfg).get_heads())


def current_revision(bind: Engine | Connection) -> str | None:
    """The database's migration; on a Connection, inside its transaction (no second connection)."""
    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def recorded_revision(connection: Connection) -> str | None:
    """The migration ``alembic_version`` records, in one statement (``current_revision`` first asks
    the catalogue whether the table exists): for a caller that has seen the table once already."""
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"the database records several migration heads: {rows}")
    return rows[0] if rows else None
