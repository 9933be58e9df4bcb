"""Notifications once per event, by e-mail to a real SMTP server (aiosmtpd) and by a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

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

    mine = [(to, body) for to, body in inbox.messages if to == ["planner@example.org"]]
    subjects = sorted(line for _, body in mine for line in body.splitlines() if line.startswith("Subject:"))
    assert len(mine) == 2 and "Rainfall risk level" in subjects[0] and "Water scheme not working" in subjects[1]
    assert "250.0 mm in 24 h" in next(body for _, body in mine if "Rainfall" in body)
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
