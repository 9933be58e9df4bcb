"""POST /api/sensors/observations: device tokens (401, 403), per-row answers, the batch limit (413)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from ingest.sensors import BATCH_LIMIT
from spatial.sensors import revoke_device_tokens
from tests.sensor_setup import make_devices

URL = "/api/sensors/observations"


@pytest.fixture
def devices(db, accounts):
    d = make_devices(db, accounts.commune_a)
    db.flush()
    return d


def _rows(stream: int, n: int, value: float = 5.0) -> list[dict]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    return [
        {"datastream": stream, "phenomenon_time": (start + timedelta(minutes=15 * i)).isoformat(), "value": value}
        for i in range(n)
    ]


def _post(app, token: str | None, body):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post(URL, json=body, headers=headers)


def test_a_device_batch_is_written_once_and_bad_rows_answered(app, db, devices):
    rows = _rows(devices.flow, 4) + [
        {"datastream": devices.flow, "phenomenon_time": "2026-07-01T10:00:00", "value": 1},
        {"datastream": devices.pressure, "phenomenon_time": "2026-07-01T10:00:00Z", "value": "high"},
    ]
    r = _post(app, devices.token, rows)
    assert r.status_code == 200, r.json
    assert r.json["inserted"] == 4
    assert [(x["row"], x["datastream"]) for x in r.json["rejected"]] == [(4, devices.flow), (5, devices.pressure)]
    assert "no time zone" in r.json["rejected"][0]["reason"]
    assert "not a number" in r.json["rejected"][1]["reason"]
    again = _post(app, devices.token, {"observations": rows[:4]})
    assert (again.json["inserted"], again.json["unchanged"]) == (0, 4)
    stored = db.execute(
        text("SELECT count(*), min(channel) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.flow}
    ).one()
    assert tuple(stored) == (4, "http")
    # the audit of corrections names the device
    _post(app, devices.token, [dict(rows[0], value=6.0)])
    assert (
        db.scalar(text("SELECT corrected_by FROM sensor_corrections WHERE datastream_id = :d"), {"d": devices.flow})
        == f"device:{devices.meter}"
    )


def test_tokens_decide_who_may_write_what(app, db, devices, accounts):
    assert _post(app, None, _rows(devices.flow, 1)).status_code == 401
    assert _post(app, "shd_forged", _rows(devices.flow, 1)).status_code == 401
    # a user's API token is not a device's
    assert _post(app, accounts.tokens["admin"], _rows(devices.flow, 1)).status_code == 401
    other = _post(app, devices.other_token, _rows(devices.flow, 2))
    assert other.status_code == 403
    assert f"datastream {devices.flow} belongs to another device" in other.json["error"]["message"]
    assert (
        db.scalar(text("SELECT count(*) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.flow}) == 0
    )
    revoke_device_tokens(db, devices.meter)
    db.flush()
    revoked = _post(app, devices.token, _rows(devices.flow, 1))
    assert revoked.status_code == 401 and "revoked" in revoked.json["error"]["message"]


def test_a_batch_over_the_limit_is_413_and_a_body_that_is_no_batch_400(app, db, devices):
    big = _rows(devices.flow, BATCH_LIMIT + 1)
    r = _post(app, devices.token, big)
    assert r.status_code == 413
    assert f"{BATCH_LIMIT + 1} observations in one batch; the limit is {BATCH_LIMIT}" in r.json["error"]["message"]
    assert (
        db.scalar(text("SELECT count(*) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.flow}) == 0
    )
    assert _post(app, devices.token, {"rows": []}).status_code == 400
    bad = app.test_client().post(
        URL, data=b"not json", headers={"Authorization": f"Bearer {devices.token}", "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
