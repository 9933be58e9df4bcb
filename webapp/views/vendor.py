"""Browser libraries installed from npm, served by the app (no CDN at run time)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

#: package -> files of its dist/ folder that pages may load
ALLOWED = {"maplibre-gl": {"maplibre-gl.js", "maplibre-gl.css", "maplibre-gl.js.map"}}


@bp.get("/<package>/<filename>")
def asset(package: str, filename: str) -> ResponseReturnValue:
    if filename not in ALLOWED.get(package, set()):
        abort(404)
    folder = current_app.config["SINHKE"].node_modules / package / "dist"
    if not (folder / filename).exists():
        abort(404, f"{package} is not installed; run `npm ci` (make does it)")
    return send_from_directory(folder, filename, max_age=3600)
