"""Notifications once per event, by e-mail to a real SMTP server (aiosmtpd) and by a signed webhook."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from ingest.sensors import ingest_observations
from jobs import sensors as sensor_jobs
from jobs.notify import SIGNATURE_HEADER, notify_events
from tests.sensor_setup import make_devices

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET = "test-webhook-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[dict, bytes]]]]:
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_a_storm_and_a_dead_scheme_are_sent_once_to_whoever_asked(db, demo_settings, accounts, smtp, webhook):
    port, inbox = smtp
    url, hooks = webhook
    settings = replace(demo_settings, smtp_host="127.0.0.1", smtp_port=port, webhook_url=url, webhook_secret=SECRET)
    d = make_devices(db, accounts.commune_a)
    # the demo's own alerts and statuses (its storm, its failing scheme) are not this test's events
    db.execute(
        text("DELETE FROM sensor_rain_alerts; DELETE FROM sensor_scheme_status; DELETE FROM notification_events")
    )
    db.execute(
        text(
            "DELETE FROM sensor_observations o USING sensor_datastreams ds, sensor_things t "
            "WHERE ds.id = o.datastream_id AND t.id = ds.thing_id AND t.code LIKE 'DEMO-%'"
        )
    )
    planner = db.scalar(text("SELECT id FROM users WHERE name = 't_planner'"))
    worker = db.scalar(text("SELECT id FROM users WHERE name = 't_extension_worker'"))
    commune = db.scalar(
        text("SELECT id FROM admin_units WHERE code = :c AND boundary = 'current'"), {"c": accounts.commune_a}
    )
    db.execute(
        text(
            "INSERT INTO notification_settings (user_id, commune_id, email, phone) "
            "VALUES (:p, :c, 'planner@example.org', '+84900000001')"
        ),
        {"p": planner, "c": commune},
    )
    # the extension worker wants scheme news only, and no e-mail address: the webhook's SMS
    db.execute(
        text("INSERT INTO notification_settings (user_id, phone, kinds) VALUES (:w, '+84900000002', '{scheme_down}')"),
        {"w": worker},
    )

    def rain(total: float, end: datetime) -> None:
        rows = [
            {"datastream": d.rain, "phenomenon_time": (end - timedelta(hours=i)).isoformat(), "value": total / 24}
            for i in range(24)
        ]
        ingest_observations(db, rows, channel="demo", now=end)

    rain(250.0, NOW)
    flow = [
        {"datastream": d.flow, "phenomenon_time": (NOW - timedelta(hours=i)).isoformat(), "value": 0} for i in range(72)
    ]
    ingest_observations(db, flow, channel="demo", now=NOW)
    sensor_jobs.rainfall_alerts(db, now=NOW)
    sensor_jobs.scheme_functionality(db, now=NOW)

    first = notify_events(db, settings)
    assert first.events >= 2 and first.failed == 0
    # more readings of the same storm an hour later, and the jobs again: no new event, nothing sent
    rain(250.0, NOW + timedelta(hours=1))
    sensor_jobs.rainfall_alerts(db, now=NOW + timedelta(hours=1))
    sensor_jobs.scheme_functionality(db, now=NOW + timedelta(hours=1))
    again = notify_events(db, settings)
    assert (again.events, again.sent) == (0, 0)

    # users have no language: subject and text in Vietnamese, then in English
    alert = db.execute(
        text(
            "SELECT a.*, c.name FROM sensor_rain_alerts a JOIN admin_units c ON c.id = a.commune_id "
            "WHERE a.commune_id = :c ORDER BY a.computed_for DESC LIMIT 1"
        ),
        {"c": commune},
    ).one()
    scheme_id, scheme = db.execute(
        text("SELECT id, name FROM water_schemes WHERE code = :c"), {"c": d.scheme_code}
    ).one()
    assert alert.band == 2 and alert.risk_level >= 1
    sus_vi, sus_en = (
        ("chưa rõ mức độ nguy cơ sạt lở đất", "landslide susceptibility unknown")
        if alert.susceptibility is None
        else (f"mức độ nguy cơ sạt lở đất {alert.susceptibility}", f"landslide susceptibility {alert.susceptibility}")
    )
    texts = {
        f"[sinhke] Rủi ro thiên tai do mưa lớn cấp độ {alert.risk_level} / Rainfall risk level {alert.risk_level}: "
        f"{alert.name}": (
            f"250,0 mm trong 24 giờ, 250,0 mm trong 72 giờ (ngưỡng 2 theo Quyết định 18/2021/QĐ-TTg); {sus_vi}. "
            f"Trong xã: {alert.models} mô hình sinh kế, {alert.schemes} công trình cấp nước, {alert.households} hộ."
            "\n\n"
            f"250.0 mm in 24 h, 250.0 mm in 72 h (band 2 of Decision 18/2021/QĐ-TTg); {sus_en}. "
            f"Inside: {alert.models} models, {alert.schemes} water schemes, {alert.households} households."
        ),
        f"[sinhke] Công trình cấp nước không hoạt động / Water scheme not working: {scheme}": (
            "không có lưu lượng trong 3 ngày\n\nno flow for 3 days"
        ),
    }
    mails = [
        email.message_from_bytes(body.encode(), policy=email.policy.default)  # an 8bit body: parsed as bytes
        for to, body in inbox.messages
        if to == ["planner@example.org"]
    ]
    assert len(mails) == 2
    # the commune, the text, the link
    links = {
        "rain_alert": f"{settings.public_url}/sensors/alerts",
        "scheme_down": f"{settings.public_url}/sensors/schemes/{scheme_id}",
    }
    assert {m["Subject"]: m.get_content().splitlines() for m in mails} == {
        subject: [alert.name, "", *body.splitlines(), "", links[kind]]
        for (subject, body), kind in zip(texts.items(), links, strict=True)
    }
    # the events' keys are as before: one a commune's level on its day, one a scheme's first day down
    keys = set(db.scalars(text("SELECT event_key FROM notification_events")))
    day = (NOW.astimezone(ZoneInfo(demo_settings.timezone))).date()
    assert {f"rain_alert:{commune}:{day}:{alert.risk_level}", f"scheme_down:{scheme_id}:{day}"} <= keys
    communes_at_risk = db.scalars(text("SELECT commune_id FROM sensor_rain_alerts WHERE risk_level >= 1")).all()
    assert {k for k in keys if k.startswith("rain_alert:")} == {
        f"rain_alert:{c}:{day}:{level}"
        for c, level in db.execute(
            text("SELECT commune_id, risk_level FROM sensor_rain_alerts WHERE commune_id = ANY(:c)"),
            {"c": communes_at_risk},
        )
    }
    payloads = []
    for headers, body in hooks:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers[SIGNATURE_HEADER] == expected
        payloads.append(json.loads(body))
    by_phone = {(p["recipient"]["phone"], p["kind"]) for p in payloads}
    assert ("+84900000001", "rain_alert") in by_phone and ("+84900000001", "scheme_down") in by_phone
    assert ("+84900000002", "scheme_down") in by_phone and ("+84900000002", "rain_alert") not in by_phone
    scheme_hooks = [p for p in payloads if p["kind"] == "scheme_down" and p["recipient"]["phone"] == "+84900000002"]
    assert len(scheme_hooks) == 1 and scheme_hooks[0]["link"].startswith(settings.public_url)
    # an SMS or Zalo gateway gets the same texts
    hooked = {(p["subject"], p["text"]) for p in payloads}
    assert hooked == {(subject.removeprefix("[sinhke] "), body) for subject, body in texts.items()}


def test_stored_messages_are_worded_in_vietnamese_and_english():
    """The catalogue's wording with the values, decimals the language's way; a text of its own as written."""
    from jobs.notify import languages, worded

    tank = {"text": "tank below 1250.5 % for 6 hours", "msgid": "tank below {level} for {hours} hours"}
    stored = [{**tank, "args": {"level": "1250.5 %", "hours": "6"}}, {"text": "checked by hand", "msgid": ""}]
    assert languages() == ("vi", "en")  # the compiled catalogue is there (make translations)
    assert worded(stored, "vi") == "bể chứa dưới 1.250,5 % trong 6 giờ; checked by hand"
    assert worded(stored, "en") == "tank below 1250.5 % for 6 hours; checked by hand"
    # values a translation does not take: the English text rather than a broken sentence
    assert worded([{**tank, "args": {"level": "5 %"}}], "vi") == tank["text"]
