"""``/sta/v1.1``: the OGC SensorThings API (read), scoped to the caller's communes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from spatial.sta import read_json, root
from webapp.db import get_session

bp = Blueprint("sta", __name__, url_prefix="/sta/v1.1")


def _base() -> str:
    return request.host_url.rstrip("/") + bp.url_prefix  # type: ignore[operator]


@bp.get("")
@bp.get("/")
def index() -> ResponseReturnValue:
    return jsonify(root(_base()))


@bp.get("/<path:resource>")
def resource(resource: str) -> ResponseReturnValue:
    body = read_json(get_session(), resource, request.args.to_dict(), _base())
    return Response(body, mimetype="application/json")
