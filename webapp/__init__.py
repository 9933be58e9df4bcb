"""The sinhke web app, built by ``create_app``; nothing is created at import time."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from spatial.settings import Settings

LOCALES = ("vi", "en")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "worker-src 'self' blob:; child-src blob:; manifest-src 'self'; "
    "connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def _select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LOCALES:
        return lang
    from flask import current_app

    return request.accept_languages.best_match(LOCALES) or current_app.config["SINHKE"].default_locale


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SINHKE=settings,
        SECRET_KEY=settings.secret_key,
        JSON_SORT_KEYS=False,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_NAME="sinhke_session",
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Vietnamese names stay readable
    Babel(app, locale_selector=_select_locale)

    from webapp import auth, db, errors
    from webapp.views import admin, api, areas, field, field_app, health, ledger, models, ogc, pages, tiles, vendor
    from webapp.views import auth as auth_views

    db.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    for bp in (
        pages.bp,
        api.bp,
        field.bp,
        health.bp,
        vendor.bp,
        auth_views.bp,
        admin.bp,
        field_app.bp,
        ledger.bp,
        areas.bp,
        models.bp,
        tiles.bp,
        ogc.bp,
    ):
        app.register_blueprint(bp)

    @app.context_processor
    def template_locale() -> dict[str, str]:
        from flask_babel import get_locale

        return {"locale": str(get_locale())}

    @app.after_request
    def headers(response):  # type: ignore[no-untyped-def]
        lang = request.args.get("lang")
        if lang in LOCALES:
            response.set_cookie("lang", lang, max_age=3600 * 24 * 365, samesite="Lax", httponly=True)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # MapLibre needs blob: workers; nothing else leaves 'self'
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    return app
