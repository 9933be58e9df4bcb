"""The pool pings a connection only after it sat idle, and replaces one the server closed meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from spatial import db
from spatial.settings import Settings


def test_a_connection_closed_while_idle_is_replaced_before_use(
    empty_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = db.engine_for(empty_settings, on_connect="SELECT 'pool test'")  # an engine of its own
    pings: list[int] = []
    monkeypatch.setattr(eng.dialect, "do_ping", lambda c, real=eng.dialect.do_ping: pings.append(1) or real(c))
    try:
        with eng.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with eng.connect() as conn:  # back in the pool a moment ago: no ping, the same connection
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == first
        assert pings == []
        with db.engine_for(empty_settings).connect() as conn:  # the server ends it while idle in the pool
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
            conn.commit()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        connects: list[int] = []
        event.listen(eng, "connect", lambda *_: connects.append(1))
        with eng.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != first
        assert pings and connects  # pinged, found closed, replaced: the caller saw no error
    finally:
        eng.dispose()
