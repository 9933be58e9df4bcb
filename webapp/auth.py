"""Who is asking, and may they: Flask-Login sessions, Bearer tokens, CSRF, default deny.

Every route is private unless listed in PUBLIC; an unsafe method from a read-only role
is refused unless the route is the user's own account; admin pages need the admin
role. Area scope is not checked here: PostgreSQL applies it to every query of the
request (``spatial.accounts.apply_scope``), so a new endpoint is scoped by default.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, abort, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from spatial.accounts import Principal, apply_scope, principal, session_user, token_principal
from webapp.db import get_session

#: endpoints anyone may call
PUBLIC = frozenset(
    {
        "static",
        "vendor.asset",
        "auth.login",
        "health.healthz",
        "api.openapi",
        "pages.index",
        "field.service_worker",
        "field.manifest",
        "field.icon",
    }
)
#: endpoints a device calls with its own token (``spatial.sensors.device_for_token``), not a user's
DEVICE_ENDPOINTS = frozenset({"sensors_api.observations"})
#: unsafe methods a read-only role may still use: its own account
SELF_SERVICE = frozenset({"auth.logout", "auth.password"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

login_manager = LoginManager()
csrf = CSRFProtect()


class LoginUser(UserMixin):
    """Flask-Login's view of a user: its id is the browser session's secret."""

    def __init__(self, who: Principal, secret: str | None):
        self.principal = who
        self.secret = secret

    def get_id(self) -> str | None:
        return self.secret


@login_manager.user_loader
def _load_from_session(secret: str) -> LoginUser | None:
    user = session_user(get_session(), secret)
    return LoginUser(principal(user), secret) if user else None


@login_manager.unauthorized_handler
def _unauthorized() -> NoReturn:
    abort(401)


def current_principal() -> Principal | None:
    return g.get("principal")


def signed_in() -> Principal:
    """The caller of a private route (authorise() has let no anonymous request through)."""
    who = current_principal()
    if who is None:
        abort(401, "sign in, or send Authorization: Bearer <token>")
    return who


def _is_api(path: str) -> bool:
    return path.startswith(("/api", "/ogc", "/tiles", "/sta"))


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, after auth
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # bound to the session instead
    login_manager.init_app(app)
    csrf.init_app(app)

    @app.before_request
    def authorise() -> ResponseReturnValue | None:
        endpoint = request.endpoint
        if endpoint is None:
            return None  # 404 follows
        if endpoint in DEVICE_ENDPOINTS:
            # anonymous, as every web connection is until scoped; the view checks the device's token
            g.principal = None
            return None
        header = request.headers.get("Authorization", "")
        bearer = header.startswith("Bearer ")
        if bearer:
            # a token request is the token's alone: a session cookie beside it counts for nothing,
            # so it can neither lend the request a user nor spare it the CSRF check
            who = token_principal(get_session(), header[7:].strip())  # the lookup also scopes the transaction
            if who is None:
                abort(401, "the API token is not valid (revoked, unknown, or its user is disabled)")
        else:
            who = current_user.principal if current_user.is_authenticated else None
            apply_scope(get_session(), who)
        g.principal = who
        if who is None and endpoint not in PUBLIC:
            if _is_api(request.path) or request.method not in SAFE_METHODS:
                abort(401, "sign in, or send Authorization: Bearer <token>")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if request.method not in SAFE_METHODS and not bearer and app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        if endpoint in PUBLIC or who is None:
            return None
        if endpoint.startswith("admin.") and who.role != "admin":
            abort(403, "this page is for administrators")
        if request.method not in SAFE_METHODS and who.read_only and endpoint not in SELF_SERVICE:
            abort(403, f"the {who.role} role can read but not change data")
        return None

    @app.context_processor
    def who_is_here() -> dict[str, object]:
        return {"principal": g.get("principal")}
