"""Engines and sessions. One engine per process, made on first use (after fork)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import psycopg
from sqlalchemy import CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from spatial.cluster import database_url
from spatial.settings import Settings

_engines: dict[tuple[int, str, str | None], Engine] = {}


def engine_for(settings: Settings, *, on_connect: str | None = None) -> Engine:
    """The process's engine for these settings; a forked child gets its own. ``on_connect`` is SQL
    every new connection runs (and commits) once, for session-level settings; it keys an engine
    of its own. The pool holds ``settings.db_pool_size`` connections, as many again in overflow."""
    url = database_url(settings)
    key = (os.getpid(), url, on_connect)
    eng = _engines.get(key)
    if eng is None:
        eng = create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            connect_args={"application_name": "sinhke"},
        )
        event.listen(eng, "checkin", _note_idle)
        event.listen(eng, "checkout", partial(_ping_if_idle, eng))
        if on_connect is not None:
            event.listen(eng, "connect", partial(_run_on_connect, on_connect))
        _engines[key] = eng
    return eng


#: a pooled connection idle for longer is pinged before it is handed out (one round trip), so one
#: the database closed meanwhile (a restart, an idle timeout) is replaced before a request meets it;
#: one in steady use is not pinged: under load that round trip was a tenth of a small request
PING_AFTER_IDLE_S = 10.0


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(eng: Engine, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
        return  # just connected, or back in the pool a moment ago
    try:
        eng.dialect.do_ping(dbapi_connection)
    except psycopg.Error as exc:  # the pool replaces the connection and checks out another
        raise DisconnectionError(f"a pooled connection was closed while idle: {exc}") from exc


def _run_on_connect(sql: str, dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cur:
        cur.execute(sql)
    dbapi_connection.commit()


def session_factory(settings: Settings, *, on_connect: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(settings, on_connect=on_connect), expire_on_commit=False)


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


def without_parallel_workers(session: Session) -> None:
    """No parallel workers for the rest of the transaction: for a statement that skips many rows to
    hand on a few (a page at a large offset), where gathering every skipped row from the workers
    costs more than one process reading them (an items page at offset 500,000: 121 ms against 49)."""
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def without_jit(session: Session) -> None:
    """No JIT compilation for the rest of the transaction: row-level-security functions make the
    planner's cost estimates huge, and compiling then costs far more (≈ 200 ms) than the query."""
    session.execute(text("SET LOCAL jit = off"))
