"""``/api/sensors``: devices send their readings here with their own token."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ingest.sensors import ingest_observations
from spatial.sensors import SensorError, device_for_token
from webapp.db import get_session

bp = Blueprint("sensors_api", __name__, url_prefix="/api/sensors")


@bp.post("/observations")
def observations() -> ResponseReturnValue:
    """A batch of ``{datastream, phenomenon_time, value}`` (a JSON list, or ``{"observations": [...]}``)
    from the device whose token is the Bearer; every row not taken is answered with its reason."""
    session = get_session()
    header = request.headers.get("Authorization", "")
    # the device writes as itself (audit: device:CODE), by definer functions that check its token
    device = device_for_token(session, header[7:].strip() if header.startswith("Bearer ") else None, act=True)
    body = request.get_json(silent=True)
    rows = body.get("observations") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise SensorError('the body must be a JSON list of observations, or {"observations": [...]}')
    result = ingest_observations(session, rows, channel="http", device_id=device.thing_id, digest=device.digest)
    return jsonify(result.as_json())
