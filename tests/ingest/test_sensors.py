"""The one ingest path: idempotency, corrections kept with history, per-row rejections, logger CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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


def test_a_batch_mixing_new_stored_and_changed_times_counts_each_and_keeps_the_microseconds(db, devices):
    t = T0 - timedelta(days=3) + timedelta(microseconds=123457)
    first = ingest_observations(
        db, [{"datastream": devices.flow, "phenomenon_time": _iso(t), "value": 5.0}], channel="http"
    )
    assert first.inserted == 1
    local = (t + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=7))).isoformat()  # +07:00, not Z
    rows = [
        {"datastream": devices.flow, "phenomenon_time": _iso(t), "value": 5},  # stored, same value (an int now)
        {"datastream": devices.flow, "phenomenon_time": _iso(t + timedelta(minutes=1)), "value": 6.25},  # new
        {"datastream": devices.flow, "phenomenon_time": local, "value": 6.25},  # the same instant again
        {"datastream": devices.flow, "phenomenon_time": _iso(t + timedelta(minutes=2)), "value": True},
        {"datastream": str(devices.flow), "phenomenon_time": f" {_iso(t + timedelta(minutes=3))} ", "value": "7"},
        {"datastream": devices.flow, "phenomenon_time": _iso(t + timedelta(minutes=4)), "value": 1e308},
    ]
    result = ingest_observations(db, rows, channel="http")
    assert (result.inserted, result.corrected, result.unchanged) == (2, 0, 2)
    assert [(r.row, r.reason) for r in result.rejected] == [
        (3, "value must be a number, not true/false"),
        (5, "value 1e+308 is outside the valid range 0 to 500"),
    ]
    changed = ingest_observations(
        db,
        [{"datastream": devices.flow, "phenomenon_time": _iso(t), "value": 5.5}, rows[1]],
        channel="mqtt",
    )
    assert (changed.inserted, changed.corrected, changed.unchanged) == (0, 1, 1)
    stored = db.execute(
        text(
            "SELECT phenomenon_time, value FROM sensor_observations WHERE datastream_id = :d ORDER BY phenomenon_time"
        ),
        {"d": devices.flow},
    ).all()
    assert [(s.phenomenon_time, s.value) for s in stored] == [
        (t, 5.5),
        (t + timedelta(minutes=1), 6.25),
        (t + timedelta(minutes=3), 7.0),
    ]


def test_a_devices_batch_is_written_by_its_token_and_only_into_its_own_streams(db, devices):
    meter = device_for_token(db, devices.token)
    t = datetime(2026, 5, 1, tzinfo=UTC)
    rows = [
        {"datastream": devices.flow, "phenomenon_time": _iso(t + timedelta(minutes=i)), "value": i} for i in range(3)
    ]
    first = ingest_observations(db, rows, channel="http", device_id=meter.thing_id, digest=meter.digest)
    assert (first.inserted, first.corrected, first.unchanged) == (3, 0, 0)
    rows[1] = dict(rows[1], value=42)
    again = ingest_observations(db, rows, channel="http", device_id=meter.thing_id, digest=meter.digest)
    assert (again.inserted, again.corrected, again.unchanged) == (0, 1, 2)
    assert db.execute(
        text("SELECT old_value, new_value FROM sensor_corrections WHERE datastream_id = :d"), {"d": devices.flow}
    ).one() == (1.0, 42.0)
    other = device_for_token(db, devices.other_token)

    def write(digest: str, stream: int) -> None:
        with db.begin_nested():
            db.execute(
                text("SELECT sinhke_device_write(:g, ARRAY[:d], ARRAY[1.75e9::float8], ARRAY[1::float8], 'http')"),
                {"g": digest, "d": stream},
            )

    # the definer function itself refuses another device's stream and a token that is not live
    with pytest.raises(Exception, match="not the device's"):
        write(other.digest, devices.flow)
    revoke_device_tokens(db, devices.meter)
    with pytest.raises(Exception, match="not a live device token"):
        write(meter.digest, devices.flow)
    assert (
        db.scalar(text("SELECT count(*) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.flow}) == 3
    )
