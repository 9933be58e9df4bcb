"""Engines and sessions. One engine per process, made on first use (after fork)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import CursorResult, Engine, Result, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from spatial.cluster import database_url
from spatial.settings import Settings

_engines: dict[tuple[int, str], Engine] = {}


def engine_for(settings: Settings) -> Engine:
    """The process's engine for these settings; a forked child gets its own."""
    url = database_url(settings)
    key = (os.getpid(), url)
    eng = _engines.get(key)
    if eng is None:
        eng = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            connect_args={"application_name": "sinhke"},
        )
        _engines[key] = eng
    return eng


def session_factory(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(settings), expire_on_commit=False)


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back otherwise."""
    with session_factory(settings).begin() as session:
        yield session


def dispose_all() -> None:
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()


def server_versions(session: Session) -> dict[str, str | None]:
    row = session.execute(text("SELECT current_setting('server_version'), postgis_lib_version()")).one()
    return {"postgresql": row[0], "postgis": row[1]}


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's transaction (for COPY), in that same transaction."""
    conn = session.connection().connection.driver_connection
    if not isinstance(conn, psycopg.Connection):
        raise TypeError(f"sinhke runs on psycopg 3, not {type(conn).__name__}")
    return conn


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE touched (its result is a CursorResult)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rowcount of a statement that returns rows")
    return result.rowcount


def without_jit(session: Session) -> None:
    """No JIT compilation for the rest of the transaction: row-level-security functions make the
    planner's cost estimates huge, and compiling then costs far more (≈ 200 ms) than the query."""
    session.execute(text("SET LOCAL jit = off"))
