"""One database session per request, on ``g``, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from spatial.db import session_factory


def get_session() -> Session:
    if "db" not in g:
        g.db = session_factory(current_app.config["SINHKE"])()
    return g.db


def _close(exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        if exc is None and session.in_transaction():
            session.commit()
        else:
            session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
