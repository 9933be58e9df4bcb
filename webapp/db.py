"""One database session per request, on ``g``: committed before the response leaves, closed at teardown.

The commit runs in an ``after_request`` hook, so a commit that fails (a deferred constraint,
a lost connection) still becomes the client's 500 instead of an error after a 200 was sent.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, g
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from spatial.accounts import apply_scope, request_sessions

#: where ``create_app`` keeps a session factory handed in by the caller (the tests)
SESSIONS = "sinhke.sessions"
#: set when those sessions are ``request_sessions``: their connections start every transaction anonymous
ANONYMOUS_CONNECTIONS = "sinhke.anonymous-connections"

SessionSource = Callable[[], Session]


def get_session() -> Session:
    """The request's session: it runs as the application role, scoped to the caller
    (anonymous until authentication has run; see webapp.auth)."""
    if "db" not in g:
        make: SessionSource | None = current_app.extensions.get(SESSIONS)
        if make is None:  # the first request of this process (after gunicorn's fork): one factory from now on
            make = current_app.extensions[SESSIONS] = request_sessions(current_app.config["SINHKE"])
            current_app.extensions[ANONYMOUS_CONNECTIONS] = True
        g.db = make()
        if not current_app.extensions.get(ANONYMOUS_CONNECTIONS):  # sessions handed in (the tests')
            apply_scope(g.db, None)
    return g.db


def _commit(response: Response) -> Response:
    """Commit what the request changed unless it failed (``g.commit_on_error`` keeps a 4xx's writes)."""
    session: Session | None = g.get("db")
    if session is None or not session.in_transaction():
        return response
    if response.status_code >= 400 and not g.get("commit_on_error", False):
        session.rollback()  # an error response writes nothing
        return response
    from webapp.errors import internal_error, unavailable

    try:
        session.commit()
    except OperationalError as exc:  # the database went away: nothing was committed, retry
        session.rollback()
        current_app.logger.warning("commit: database unavailable: %s", str(exc.orig).strip().splitlines()[:1])
        return unavailable()
    except Exception:
        session.rollback()
        current_app.logger.exception("the request's changes could not be committed")
        return internal_error()
    return response


def _close(exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.rollback()  # nothing left after _commit, unless the request ended in an exception
        session.close()


def init_app(app: Flask, sessions: SessionSource | None = None) -> None:
    """Sessions come from ``sessions`` when given, else from the settings' engine (made on first use,
    after a fork). Register this last: its ``after_request`` then runs first, and the other hooks
    (security headers) also dress a 500 made from a failed commit."""
    if sessions is not None:
        app.extensions[SESSIONS] = sessions
    app.after_request(_commit)
    app.teardown_appcontext(_close)
