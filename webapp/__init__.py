"""The sinhke web app, built by ``create_app``; nothing is created at import time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_babel import Babel
from flask_compress import Compress

from spatial.localtime import to_local
from spatial.settings import Settings
from webapp.json_provider import OrjsonProvider
from webapp.locales import LOCALES

if TYPE_CHECKING:
    from webapp.db import SessionSource

#: what is compressed (brotli, else gzip) when the client accepts it: text and vector tiles, not
#: PNG tiles, photos or downloads (GeoPackage, XLSX and zips are compressed already)
COMPRESSED_MIMETYPES = [
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "application/vnd.mapbox-vector-tile",
    "application/javascript",
    "text/javascript",
    "text/css",
    "text/html",
    "image/svg+xml",
    "application/manifest+json",
]


class ClosingCompress(Compress):
    """Flask-Compress that closes what it streams from: when it compresses a streamed file it
    replaces the response's iterable, so the server would never close the file behind it."""

    def after_request(self, response: Response | None) -> Response:
        original = response.response if response is not None else None
        response = super().after_request(response)
        if original is not None and response.response is not original and hasattr(original, "close"):
            response.call_on_close(original.close)
        return response


def content_security_policy(basemap_style_url: str | None = None) -> str:
    """Nothing leaves 'self' but MapLibre's blob: workers and, when one is configured, the
    basemap's origin (its style, tiles, glyphs and sprites)."""
    extra = ""
    if basemap_style_url:
        parts = urlsplit(basemap_style_url)
        extra = f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; "
        "worker-src 'self' blob:; child-src blob:; manifest-src 'self'; "
        f"connect-src 'self'{extra}; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )


def _select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LOCALES:
        return lang
    from flask import current_app

    return request.accept_languages.best_match(LOCALES) or current_app.config["SINHKE"].default_locale


def create_app(settings: Settings | None = None, session_factory: SessionSource | None = None) -> Flask:
    """The app for ``settings`` (default: from the environment). ``session_factory`` makes each
    request's session; the tests pass one bound to a connection they roll back."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SINHKE=settings,
        SECRET_KEY=settings.signing_key(),
        JSON_SORT_KEYS=False,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_NAME="sinhke_session",
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        COMPRESS_MIMETYPES=COMPRESSED_MIMETYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=4,  # brotli 4 compresses better than gzip 6 in less time
        # files (static, vendor) are streamed: compressed as they stream, brotli (gzip cannot stream
        # here, deflate can), with their ETag and 304
        COMPRESS_ALGORITHM_STREAMING=["br", "deflate"],
        COMPRESS_STREAMING_ENDPOINT_CONDITIONAL=["static", "vendor.asset"],
    )
    app.json = OrjsonProvider(app)  # keys in order, Vietnamese names as they are, fast
    Babel(app, locale_selector=_select_locale)
    if settings.trusted_proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    # first: its after_request hook runs last, on the finished response
    ClosingCompress(app)

    from webapp import auth, db, errors, labels, numbers, validation
    from webapp.views import (
        admin,
        api,
        areas,
        field,
        field_app,
        health,
        imports,
        ledger,
        models,
        ogc,
        pages,
        planning,
        sensor_manage,
        sensors,
        sensors_api,
        siting,
        sta,
        submissions,
        tiles,
        vendor,
    )
    from webapp.views import auth as auth_views

    errors.init_app(app)
    auth.init_app(app)
    validation.init_app(app)
    labels.init_app(app)
    numbers.init_app(app)
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
        submissions.bp,
        tiles.bp,
        ogc.bp,
        imports.bp,
        siting.bp,
        planning.bp,
        sensors.bp,
        sensor_manage.bp,
        sensors_api.bp,
        sta.bp,
    ):
        app.register_blueprint(bp)

    @app.template_filter("localtime")
    def localtime(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """An instant as the programme's wall-clock time (settings.timezone); '–' for none."""
        if value is None or value == "":
            return "–"
        return to_local(value, settings.timezone).strftime(fmt)

    @app.context_processor
    def template_locale() -> dict[str, str]:
        from flask_babel import get_locale

        return {"locale": str(get_locale())}

    csp = content_security_policy(settings.basemap_style_url)

    @app.after_request
    def headers(response: Response) -> Response:
        lang = request.args.get("lang")
        if lang in LOCALES:
            response.set_cookie("lang", lang, max_age=3600 * 24 * 365, samesite="Lax", httponly=True)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", csp)
        return response

    db.init_app(app, session_factory)  # last: the request commits before the other hooks run
    return app
