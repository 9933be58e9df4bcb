"""Sign in, sign out, change one's password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from spatial.accounts import (
    AccountError,
    authenticate,
    end_session,
    principal,
    set_password,
    start_session,
)
from webapp.auth import LoginUser
from webapp.db import get_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # only local paths: never redirect to another site after login
    if not target or urlsplit(target).netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.map_page")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    if request.method == "POST":
        name = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        db = get_session()
        g.commit_on_error = True  # failed attempts must be counted even on 4xx
        user = authenticate(db, name, password, request.remote_addr or "?")
        if user is None:
            error = _("Wrong user name or password, or the account is disabled.")
            return render_template("login.html", error=error, username=name), 401
        secret = start_session(db, user, request.remote_addr)
        session.clear()
        login_user(LoginUser(principal(user), secret))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error, username="")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated and current_user.secret:
        end_session(get_session(), current_user.secret)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    if request.method == "POST":
        db = get_session()
        g.commit_on_error = True  # a wrong current password counts towards the login limit, as at sign-in
        user = authenticate(db, g.principal.name, request.form.get("current", ""), request.remote_addr or "?")
        if user is None:
            return render_template("password.html", error=_("The current password is wrong.")), 403
        new = request.form.get("new", "")
        if new != request.form.get("confirm", ""):
            return render_template("password.html", error=_("The new passwords differ.")), 400
        try:
            set_password(db, user, new)
        except AccountError as exc:
            return render_template("password.html", error=str(exc)), 400
        logout_user()
        session.clear()
        flash(_("Password changed. Please sign in again."))
        return redirect(url_for("auth.login"))
    return render_template("password.html", error=None)
