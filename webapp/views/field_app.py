"""/field: the offline-first visit app for extension workers (app shell, service worker, manifest).

The app itself is static JavaScript (webapp/static/field/); its data comes from the API
(/api/me, /api/forms, /api/layers/…, POST /api/visits) and stays on the phone in
IndexedDB. The service worker is served from /field/ so that its scope is the app.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from webapp.auth import current_principal
from webapp.locales import LOCALES

bp = Blueprint("field", __name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
#: the shell the service worker keeps: (endpoint, filename) of static and vendored files
SHELL_FILES = (
    ("static", "app.css"),
    ("static", "nav.js"),
    ("static", "signout.js"),
    ("static", "favicon.svg"),
    ("static", "field/field.css"),
    ("static", "field/app.js"),
    ("static", "field/validate.js"),
    ("static", "field/offline.js"),
    ("static", "field/icon.svg"),
    ("vendor.asset", "maplibre-gl/maplibre-gl.js"),
    ("vendor.asset", "maplibre-gl/maplibre-gl.css"),
)


@cache
def _shell_version(root: str) -> str:
    """A digest of the shell files: a new release gets a new service worker and cache."""
    digest = hashlib.sha256(root.encode())
    for endpoint, name in SHELL_FILES:
        path = STATIC / name if endpoint == "static" else None
        if path is not None and path.exists():
            digest.update(path.read_bytes())
    digest.update((STATIC / "field" / "sw.js").read_bytes())
    return digest.hexdigest()[:16]


def _shell_urls() -> list[str]:
    urls = [
        url_for(endpoint, filename=name)
        if endpoint == "static"
        else url_for(endpoint, package=name.split("/")[0], filename=name.split("/")[1])
        for endpoint, name in SHELL_FILES
    ]
    return [*urls, url_for("field.manifest")]


@bp.get("/field")
def app_page() -> ResponseReturnValue:
    """The app page; the service worker asks for each language by X-Field-Locale (keeping
    a copy per language, so switching works offline) without changing the language cookie."""
    settings = current_app.config["SINHKE"]
    asked = request.headers.get("X-Field-Locale")
    with force_locale(asked) if asked in LOCALES else nullcontext():
        locale = str(get_locale())
        body = render_template(
            "field.html",
            locale=locale,
            max_accuracy_m=settings.field_max_accuracy_m,
            photo_max_kb=settings.field_photo_max_kb,
        )
    return Response(body, mimetype="text/html", headers={"Content-Language": locale, "Vary": "Cookie"})


@bp.get("/field/session")
def session_info() -> ResponseReturnValue:
    """Who is signed in and a fresh CSRF token for the app's POSTs (never cached by the worker)."""
    who = current_principal()
    response = jsonify(
        {
            "name": who.name if who else None,
            "role": who.role if who else None,
            "read_only": who.read_only if who else None,
            "locale": str(get_locale()),
            "csrf_token": generate_csrf(),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/field/sw.js")
def service_worker() -> ResponseReturnValue:
    root = request.script_root
    source = (STATIC / "field" / "sw.js").read_text(encoding="utf-8")
    # the placeholders are bare identifiers in the source: each becomes a JSON literal
    body = (
        source.replace("__VERSION__", json.dumps(_shell_version(root)))
        .replace("__ROOT__", json.dumps(root))
        .replace("__SHELL__", json.dumps(_shell_urls()))
    )
    return Response(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": f"{root}/field"},
    )


ICON_SIZES = (192, 512)


@cache
def _icon_png(size: int) -> bytes:
    """The app icon as a PNG (installable apps want raster icons): a white pin on green."""
    import struct
    import zlib

    import numpy as np

    y, x = np.mgrid[0:size, 0:size] / size
    head = (x - 0.5) ** 2 + (y - 0.42) ** 2 <= 0.22**2
    tail = (y >= 0.42) & (y <= 0.82) & (np.abs(x - 0.5) <= 0.22 * (0.82 - y) / 0.40)
    hole = (x - 0.5) ** 2 + (y - 0.42) ** 2 <= 0.085**2
    white = (head | tail) & ~hole
    rgb = np.empty((size, size, 3), dtype=np.uint8)
    rgb[:] = (15, 95, 79)
    rgb[white] = (255, 255, 255)
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


@bp.get("/field/icon-<int:size>.png")
def icon(size: int) -> ResponseReturnValue:
    if size not in ICON_SIZES:
        abort(404)
    return Response(_icon_png(size), mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/field/manifest.webmanifest")
def manifest() -> ResponseReturnValue:
    root = request.script_root
    body = {
        "name": _("sinhke field visits"),
        "short_name": "sinhke",
        "description": _("Log visits to livelihood models, works and water schemes, also without a network."),
        "start_url": f"{root}/field",
        "scope": f"{root}/field",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0f5f4f",
        "lang": str(get_locale()),
        "icons": [
            *[
                {"src": url_for("field.icon", size=n), "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any"}
                for n in ICON_SIZES
            ],
            {
                "src": url_for("static", filename="field/icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            },
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
