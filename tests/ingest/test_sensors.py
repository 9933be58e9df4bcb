"""The one ingest path: idempotency, corrections kept with history, per-row rejections, logger CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from ingest.sensors import ingest_logger_csv, ingest_observations
from spatial.sensors import (
    BatchTooLarge,
    DeviceForbidden,
    DeviceUnauthorized,
    SensorError,
    device_for_token,
    revoke_device_tokens,
)
from tests.sensor_setup import make_devices

T0 = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.fixture
def devices(db, accounts):
    return make_devices(db, accounts.commune_a)


def test_resend_is_harmless_and_a_new_value_is_a_correction_with_history(db, devices):
    batch = [
        {"datastream": devices.flow, "phenomenon_time": _iso(T0 + timedelta(minutes=15 * i)), "value": 10 + i}
        for i in range(8)  # 23:00 .. 00:45: across a month boundary, so two partitions
    ]
    first = ingest_observations(db, batch, channel="http", device_id=None)
    assert (first.inserted, first.corrected, first.unchanged, first.rejected) == (8, 0, 0, [])
    again = ingest_observations(db, batch, channel="http")
    assert (again.inserted, again.corrected, again.unchanged) == (0, 0, 8)
    changed = [dict(batch[2], value=99.5)]
    fixed = ingest_observations(db, changed, channel="csv")
    assert (fixed.inserted, fixed.corrected) == (0, 1)
    count, value = db.execute(
        text(
            "SELECT count(*), max(value) FILTER (WHERE phenomenon_time = :t) FROM sensor_observations "
            "WHERE datastream_id = :d"
        ),
        {"d": devices.flow, "t": T0 + timedelta(minutes=30)},
    ).one()
    assert (count, value) == (8, 99.5)
    history = db.execute(
        text("SELECT old_value, new_value, channel FROM sensor_corrections WHERE datastream_id = :d"),
        {"d": devices.flow},
    ).all()
    assert [tuple(h) for h in history] == [(12.0, 99.5, "csv")]
    partitions = (
        db.execute(
            text(
                "SELECT DISTINCT tableoid::regclass::text FROM sensor_observations WHERE datastream_id = :d ORDER BY 1"
            ),
            {"d": devices.flow},
        )
        .scalars()
        .all()
    )
    assert partitions == ["sensor_observations_2026_06", "sensor_observations_2026_07"]


def test_bad_rows_are_rejected_with_their_reason_and_the_rest_accepted(db, devices):
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        {"datastream": devices.flow, "phenomenon_time": _iso(now - timedelta(hours=1)), "value": 12.5},
        {"datastream": devices.flow, "phenomenon_time": _iso(now - timedelta(hours=2)), "value": 9000},
        {"datastream": 987654321, "phenomenon_time": _iso(now - timedelta(hours=1)), "value": 1},
        {"datastream": devices.flow, "phenomenon_time": _iso(now + timedelta(hours=2)), "value": 1},
        {"datastream": devices.flow, "phenomenon_time": _iso(now - timedelta(hours=3)), "value": "a lot"},
        {"datastream": devices.flow, "phenomenon_time": "2026-07-01T10:00:00", "value": 1},
        {"datastream": devices.pressure, "phenomenon_time": _iso(now - timedelta(hours=1)), "value": "2.5"},
        {"datastream": devices.flow, "phenomenon_time": _iso(now - timedelta(hours=1)), "value": 13},
        {"datastream": devices.flow, "value": 1},
    ]
    result = ingest_observations(db, rows, channel="http", device_id=None)
    assert result.inserted == 2
    reasons = {r.row: r.reason for r in result.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5, 7, 8}
    assert "outside the valid range 0 to 500" in reasons[1]
    assert reasons[2] == "unknown datastream 987654321"
    assert "in the future" in reasons[3]
    assert "is not a number" in reasons[4]
    assert "has no time zone" in reasons[5]
    assert "row 0 of this batch gives another value" in reasons[7]
    assert reasons[8] == "missing phenomenon_time"


def test_another_devices_stream_refuses_the_batch_and_the_limit_holds(db, devices):
    meter = device_for_token(db, devices.token)
    rows = [
        {"datastream": devices.flow, "phenomenon_time": "2026-07-01T00:00:00Z", "value": 1},
        {"datastream": devices.other_flow, "phenomenon_time": "2026-07-01T00:00:00Z", "value": 1},
    ]
    with pytest.raises(DeviceForbidden, match=f"datastream {devices.other_flow} belongs to another device"):
        ingest_observations(db, rows, channel="http", device_id=meter.thing_id)
    assert (
        db.scalar(text("SELECT count(*) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.flow}) == 0
    )
    with pytest.raises(BatchTooLarge, match="3 observations in one batch; the limit is 2"):
        ingest_observations(db, rows + rows[:1], channel="http", limit=2)
    revoke_device_tokens(db, devices.meter)
    with pytest.raises(DeviceUnauthorized, match="revoked"):
        device_for_token(db, devices.token)
    with pytest.raises(DeviceUnauthorized, match="unknown"):
        device_for_token(db, "shd_nope")


def test_a_logger_file_names_its_lines_and_wrong_columns_are_refused(db, devices):
    data = (
        "datastream,phenomenon_time,value\n"
        f"{devices.rain},2026-07-02T00:00:00+07:00,3.5\n"
        "\n"
        f"{devices.rain},2026-07-02T01:00:00+07:00,-4\n"
        f"{devices.rain},2026-07-02T02:00:00+07:00\n"
        f"{devices.rain},2026-07-02T03:00:00+07:00,0\n"
    ).encode()
    result = ingest_logger_csv(db, data, name="gauge.csv")
    assert result.inserted == 2
    assert [(r.row, r.reason) for r in result.rejected] == [
        (4, "value -4 is outside the valid range 0 to 300"),
        (5, "missing value"),
    ]
    # the +07:00 reading is stored as its instant
    assert db.scalar(
        text("SELECT min(phenomenon_time) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.rain}
    ) == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
    with pytest.raises(SensorError, match="gauge.csv, line 1: the columns are time, mm; a logger file has exactly"):
        ingest_logger_csv(db, b"time,mm\n2026-07-02T00:00:00Z,3\n", name="gauge.csv")
