"""Sensor pages: device page and its readings API, CSV export, logger upload, scheme history, alerts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from ingest.sensors import ingest_observations
from jobs import sensors as sensor_jobs
from tests.conftest import client_for
from tests.sensor_setup import make_devices, without_demo_rain

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def devices(db, accounts):
    d = make_devices(db, accounts.commune_a)
    without_demo_rain(db)
    rows = [
        {"datastream": d.flow, "phenomenon_time": (NOW - timedelta(minutes=15 * i)).isoformat(), "value": i % 7}
        for i in range(4 * 24 * 5)
    ]  # five days every 15 minutes
    ingest_observations(db, rows, channel="demo")
    ingest_observations(db, [dict(rows[0], value=3.5)], channel="csv")  # one correction
    rain = [
        {"datastream": d.rain, "phenomenon_time": (NOW - timedelta(hours=i)).isoformat(), "value": 9.0}
        for i in range(24)
    ]
    ingest_observations(db, rain, channel="demo")
    sensor_jobs.sensor_aggregates(db)
    sensor_jobs.rainfall_alerts(db, now=NOW)
    sensor_jobs.scheme_functionality(db, now=NOW)
    db.flush()
    return d


def test_device_page_readings_and_csv(app, accounts, devices):
    planner = client_for(app, accounts, "planner")
    page = planner.get(f"/sensors/devices/{devices.meter}")
    assert page.status_code == 200 and f'id="chart-{devices.flow}"'.encode() in page.data
    assert devices.meter.encode() in planner.get("/sensors").data
    raw = planner.get(f"/api/sensors/datastreams/{devices.flow}/readings").json
    assert raw["resolution"] == "raw" and raw["count"] == 480 and len(raw["points"]) == 480
    day = (NOW - timedelta(days=1)).isoformat()
    some = planner.get(
        f"/api/sensors/datastreams/{devices.flow}/readings", query_string={"from": day, "to": NOW.isoformat()}
    ).json
    assert some["count"] == 96
    bad = planner.get(f"/api/sensors/datastreams/{devices.flow}/readings", query_string={"from": "yesterday"})
    assert bad.status_code == 400 and bad.json["error"]["parameter"] == "from/to"
    export = planner.get(f"/sensors/datastreams/{devices.flow}/readings.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert len(table) == 480 and table[-1]["corrections"] == "1" and table[-1]["value"] == "3.5"
    assert table[0]["phenomenon_time"].endswith("+07:00")
    assert planner.get("/sensors/datastreams/987654/readings.csv").status_code == 404


def test_a_long_range_is_drawn_from_hourly_means(db, devices):
    from spatial.sensor_views import parse_range, readings

    hourly = readings(db, devices.flow, parse_range({}), max_points=100)
    assert hourly["resolution"] == "hour" and hourly["count"] == 480
    assert 120 <= len(hourly["points"]) <= 121  # five days of hours (the first may be partial)


def test_a_logger_file_uploaded_on_the_device_page(app, db, accounts, devices):
    worker = client_for(app, accounts, "extension_worker")
    data = f"datastream,phenomenon_time,value\n{devices.pressure},{NOW.isoformat()},2.5\n{devices.flow},{NOW.isoformat()},x\n"
    r = worker.post(
        f"/sensors/devices/{devices.meter}/upload",
        data={"file": (io.BytesIO(data.encode()), "logger.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    assert b"1 readings accepted" in r.data or b"1 readings accepted" in r.data or b'id="upload-summary"' in r.data
    assert b"value 'x' is not a number" in r.data.replace(b"&#39;", b"'")
    assert (
        db.scalar(text("SELECT count(*) FROM sensor_observations WHERE datastream_id = :d"), {"d": devices.pressure})
        == 1
    )
    wrong = worker.post(
        f"/sensors/devices/{devices.meter}/upload",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "logger.csv")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400 and b"a logger file has exactly datastream, phenomenon_time, value" in wrong.data
    evaluator = client_for(app, accounts, "evaluator")
    assert evaluator.post(f"/sensors/devices/{devices.meter}/upload", data={}).status_code == 403


def test_scheme_history_and_alerts(app, db, accounts, devices):
    planner = client_for(app, accounts, "planner")
    scheme_id = db.scalar(text("SELECT id FROM water_schemes WHERE code = :c"), {"c": devices.scheme_code})
    page = planner.get(f"/sensors/schemes/{scheme_id}")
    assert page.status_code == 200 and b'id="scheme-history"' in page.data and devices.meter.encode() in page.data
    # the meters' status is the scheme's, with the day it was set (the flow runs: functional, no reason)
    reported = db.scalar(text("SELECT status_reported_on FROM water_schemes WHERE id = :s"), {"s": scheme_id})
    en = planner.get(f"/sensors/schemes/{scheme_id}?lang=en").get_data(as_text=True)
    assert f"<strong>functional</strong> ({reported})</p>" in en
    assert "because of this scheme (at the last classification): 0" in en
    alerts = planner.get("/sensors/alerts?lang=en")  # English decimals; Vietnamese writes 216,0
    assert alerts.status_code == 200 and b"216.0" in alerts.data  # 24 x 9 mm
    layer = planner.get("/api/sensors/alerts").json
    mine = [f for f in layer["features"] if f["properties"]["code"] == accounts.commune_a]
    assert mine and mine[0]["properties"]["band"] == 2 and mine[0]["geometry"]["type"].endswith("Polygon")


def test_a_schemes_reasons_are_in_the_readers_language(app, db, accounts, devices):
    """What the meters found, with its numbers, in Vietnamese (its decimals too) and in English: the
    scheme's recorded reason and the day's row of its history."""
    low = [
        {"datastream": devices.pressure, "phenomenon_time": (NOW - timedelta(hours=i)).isoformat(), "value": 0.2}
        for i in range(13)
    ]
    fine = [
        {"datastream": devices.pressure, "phenomenon_time": (NOW - timedelta(hours=i)).isoformat(), "value": 2.0}
        for i in range(13, 24)
    ]
    ingest_observations(db, low + fine, channel="demo")
    sensor_jobs.scheme_functionality(db, now=NOW)
    scheme = db.execute(
        text("SELECT id, status, status_reason FROM water_schemes WHERE code = :c"), {"c": devices.scheme_code}
    ).one()
    rules = sensor_jobs.RULES
    english = (
        f"pressure outside {rules.pressure_min_bar:g}–{rules.pressure_max_bar:g} bar "
        "in 13 of 24 readings of the last day"
    )
    assert (scheme.status, scheme.status_reason) == ("partially_functional", english)
    planner = client_for(app, accounts, "planner")
    vi = planner.get(f"/sensors/schemes/{scheme.id}").get_data(as_text=True)  # Vietnamese by default
    worded = (
        f"áp lực ngoài khoảng {str(rules.pressure_min_bar).replace('.', ',')}–{rules.pressure_max_bar:g} bar "
        "ở 13/24 lần đo trong ngày qua"
    )
    assert rules.pressure_min_bar == 0.5 and "0,5–" in worded  # a decimal, written the Vietnamese way
    status_line = vi[vi.index('id="scheme-status"') :].split("</p>")[0]
    assert f": {worded}" in status_line and "<strong>hoạt động một phần</strong>" in status_line
    history = vi[vi.index('id="scheme-history"') :]
    assert f'<small class="reason-detail">({worded})</small>' in history
    assert english not in vi
    en = planner.get(f"/sensors/schemes/{scheme.id}?lang=en").get_data(as_text=True)
    assert en.count(english) == 2 and f'<small class="reason-detail">({english})</small>' in en
    assert worded not in en


def test_the_demo_pages_show_what_the_sensor_jobs_made_of_the_demo(app, db, accounts):
    """The test demo runs the sensor jobs once (tests/conftest.py): its failing scheme is not functional
    on its page, with the reason, and its storm is on the alerts page, without a test running a job."""
    admin = client_for(app, accounts, "admin")
    failing = db.execute(
        text(
            "SELECT w.id, w.status, w.status_reason FROM water_schemes w JOIN sensor_things t ON t.scheme_id = w.id "
            "WHERE t.code LIKE 'DEMO-%' ORDER BY w.id LIMIT 1"  # ingest/demo_sensors.py: the first scheme fails
        )
    ).one()
    assert failing.status == "not_functional" and "no flow" in failing.status_reason
    page = admin.get(f"/sensors/schemes/{failing.id}?lang=en").get_data(as_text=True)
    assert "<strong>not functional</strong>" in page and failing.status_reason in page
    history = db.scalar(text("SELECT count(*) FROM sensor_scheme_status WHERE scheme_id = :s"), {"s": failing.id})
    assert history >= 1 and 'class="status-not_functional"' in page
    vi = admin.get(f"/sensors/schemes/{failing.id}?lang=vi").get_data(as_text=True)
    assert '<span class="reason">không có dòng chảy</span>' in vi  # the reason in the reader's language
    days = db.scalar(
        text(
            "SELECT detail_messages -> 0 -> 'args' ->> 'days' FROM water_schemes w JOIN sensor_scheme_status s "
            "ON s.scheme_id = w.id WHERE w.id = :s ORDER BY s.assessed_on DESC LIMIT 1"
        ),
        {"s": failing.id},
    )
    assert f"không có lưu lượng trong {days} ngày" in vi and f"no flow for {days} days" in failing.status_reason
    top = db.execute(text("SELECT max(risk_level), count(*) FROM sensor_rain_alerts")).one()
    assert top[0] >= 1 and top[1] > 0
    alerts = admin.get("/sensors/alerts").get_data(as_text=True)
    assert alerts.count("<tr") > 1


def test_the_audit_trail_says_a_schemes_new_reason_in_the_readers_language(app, db, accounts, devices):
    """The job's change of a scheme's status is audited; its reason reads as the page's language,
    once (the English text beside the messages is not shown again)."""
    scheme_id = db.scalar(text("SELECT id FROM water_schemes WHERE code = :c"), {"c": devices.scheme_code})
    flow = [
        {"datastream": devices.flow, "phenomenon_time": (NOW + timedelta(hours=i)).isoformat(), "value": 0.0}
        for i in range(1, 3 * 24 + 1)
    ]
    ingest_observations(db, flow, channel="demo", now=NOW + timedelta(days=3))
    sensor_jobs.scheme_functionality(db, now=NOW + timedelta(days=3))
    days = sensor_jobs.RULES.no_flow_days
    admin = client_for(app, accounts, "admin")
    pages = {
        lang: admin.get(f"/admin/audit?table=water_schemes&row_id={scheme_id}&lang={lang}").get_data(as_text=True)
        for lang in ("vi", "en")
    }
    # the fixture's run and this one, newest first (one transaction: one time, either order)
    entries = {
        lang: [e.split("</tr>", 1)[0] for e in page.split('class="audit-entry"')[1:]] for lang, page in pages.items()
    }
    down = {
        lang: [e for e in found if "<ins>" + ("không hoạt động" if lang == "vi" else "not functional") in e]
        for lang, found in entries.items()
    }
    assert len(down["vi"]) == len(down["en"]) == 1
    assert f"<ins>không có lưu lượng trong {days} ngày</ins>" in down["vi"][0]
    assert f"<ins>no flow for {days} days</ins>" in down["en"][0]
    for entry in down["vi"] + down["en"]:
        assert entry.count('data-field="status_reason') == 1 and "msgid" not in entry
