"""``/api/sensors``: devices send their readings here with their own token."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ingest.sensors import ingest_observations
from spatial.accounts import Principal, apply_scope
from spatial.sensors import SensorError, device_for_token
from webapp.db import get_session

bp = Blueprint("sensors_api", __name__, url_prefix="/api/sensors")


@bp.post("/observations")
def observations() -> ResponseReturnValue:
    """A batch of ``{datastream, phenomenon_time, value}`` (a JSON list, or ``{"observations": [...]}``)
    from the device whose token is the Bearer; every row not taken is answered with its reason."""
    session = get_session()
    header = request.headers.get("Authorization", "")
    device = device_for_token(session, header[7:].strip() if header.startswith("Bearer ") else None)
    body = request.get_json(silent=True)
    rows = body.get("observations") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise SensorError('the body must be a JSON list of observations, or {"observations": [...]}')
    # the device writes as itself (audit: device:CODE); which streams it may write, the ingest checks
    apply_scope(session, Principal(user_id=0, name=f"device:{device.code}", role="admin"))
    result = ingest_observations(session, rows, channel="http", device_id=device.thing_id, digest=device.digest)
    return jsonify(result.as_json())
