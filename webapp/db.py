"""One database session per request, on ``g``, closed at teardown."""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from spatial.db import session_factory


def get_session() -> Session:
    """The request's session: it runs as the application role, scoped to the caller
    (anonymous until authentication has run; see webapp.auth)."""
    if "db" not in g:
        from spatial.accounts import apply_scope

        g.db = session_factory(current_app.config["SINHKE"])()
        apply_scope(g.db, None)
    return g.db


def _close(exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        ok = exc is None and (g.get("status", 200) < 400 or g.get("commit_on_error", False))
        if ok and session.in_transaction():
            session.commit()
        else:
            session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    @app.after_request
    def remember_status(response: Response) -> Response:
        g.status = response.status_code  # an error response writes nothing
        return response

    app.teardown_appcontext(_close)
