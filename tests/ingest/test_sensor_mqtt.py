"""MQTT end to end: the CLI makes a gauge and its token, a real Mosquitto on a private port, the
``sinhke sensors mqtt`` subscriber as a process, and a broker restart in the middle of a QoS 1 stream."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from ingest.sensor_mqtt import handle_messages
from spatial.cluster import database_url
from spatial.db import transaction
from webapp.cli import main

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto is installed by scripts/system-deps.sh")
CODE = "t-mqtt-gauge"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(settings, *args: str) -> str:
    r = CliRunner().invoke(main, list(args), obj=settings, env={"SINHKE_DATABASE_URL": database_url(settings)})
    assert r.exit_code == 0, r.output
    return r.output


class Broker:
    def __init__(self, folder: Path, port: int):
        self.port = port
        self.config = folder / "mosquitto.conf"
        (folder / "data").mkdir()
        self.config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder / 'data'}/\nuser {getpass.getuser()}\nlog_dest stderr\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # a graceful stop: the broker writes its persistence file
            self.process.wait(10)
            self.process = None


@pytest.fixture
def gauge(demo_settings, accounts) -> Iterator[tuple[int, str]]:
    """A rain gauge made by the CLI (committed: the subscriber is another process), removed afterwards."""
    with transaction(demo_settings) as s:
        lon, lat = s.execute(
            text("SELECT ST_X(centroid), ST_Y(centroid) FROM admin_units WHERE code = :c AND boundary = 'current'"),
            {"c": accounts.commune_a},
        ).one()
    _cli(
        demo_settings,
        "sensors",
        "add-device",
        CODE,
        "--name",
        "MQTT gauge",
        "--kind",
        "station",
        "--lon",
        str(lon),
        "--lat",
        str(lat),
    )
    stream = int(
        _cli(demo_settings, "sensors", "add-datastream", CODE, "--quantity", "rainfall", "--interval", "600")
        .strip()
        .splitlines()[-1]
    )
    token = _cli(demo_settings, "sensors", "token", CODE).strip().splitlines()[-1]
    listing = _cli(demo_settings, "sensors", "devices")
    assert CODE in listing and f"datastream {stream}\trainfall (mm)" in listing
    yield stream, token
    # committed above for the subscriber's own connections; removed so the demo stays as built
    with transaction(demo_settings) as s:
        for sql in (
            "DELETE FROM sensor_observations WHERE datastream_id = :d",
            "DELETE FROM sensor_corrections WHERE datastream_id = :d",
            "DELETE FROM sensor_datastreams WHERE id = :d",
        ):
            s.execute(text(sql), {"d": stream})
        s.execute(
            text("DELETE FROM sensor_device_tokens WHERE thing_id = (SELECT id FROM sensor_things WHERE code = :c)"),
            {"c": CODE},
        )
        s.execute(text("DELETE FROM sensor_things WHERE code = :c"), {"c": CODE})


def test_a_qos1_stream_survives_a_broker_restart_with_nothing_lost(demo_settings, gauge, tmp_path):
    stream, token = gauge
    broker = Broker(tmp_path, _free_port())
    broker.start()
    env = {**os.environ, "SINHKE_DATABASE_URL": database_url(demo_settings)}
    subscriber = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "webapp.cli",
            "sensors",
            "mqtt",
            "--broker",
            f"127.0.0.1:{broker.port}",
            "--client-id",
            f"t-ingest-{os.getpid()}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-pub-{os.getpid()}", clean_session=False)
    publisher.reconnect_delay_set(min_delay=1, max_delay=1)
    results: list[dict] = []
    publisher.on_message = lambda _c, _u, msg: results.append(json.loads(msg.payload))
    try:
        assert subscriber.stdout is not None
        assert "subscribed to sinhke/observations/+" in subscriber.stdout.readline()
        publisher.connect("127.0.0.1", broker.port)
        publisher.subscribe(f"sinhke/results/{CODE}", qos=1)
        publisher.loop_start()
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=40)
        sent = []
        for i in range(30):
            when = (start + timedelta(hours=i)).isoformat()
            body = {"token": token, "observations": [{"datastream": stream, "phenomenon_time": when, "value": i / 2}]}
            sent.append(publisher.publish(f"sinhke/observations/{CODE}", json.dumps(body), qos=1))
            if i == 12:
                broker.stop()  # the middle of the stream: 17 messages go out while the broker is down
                time.sleep(0.5)
            if i == 20:
                broker.start()
        # a forged token's message is answered, not written
        publisher.publish(f"sinhke/observations/{CODE}", json.dumps({"token": "shd_x", "observations": []}), qos=1)
        deadline = time.monotonic() + 40
        stored = 0
        while time.monotonic() < deadline:
            with transaction(demo_settings) as s:
                stored = s.scalar(
                    text("SELECT count(*) FROM sensor_observations WHERE datastream_id = :d"), {"d": stream}
                )
            if stored == 30 and any("error" in r for r in results):
                break
            time.sleep(0.3)
        assert stored == 30
        with transaction(demo_settings) as s:
            values = s.scalars(
                text("SELECT value FROM sensor_observations WHERE datastream_id = :d ORDER BY phenomenon_time"),
                {"d": stream},
            ).all()
            channels = s.scalars(
                text("SELECT DISTINCT channel FROM sensor_observations WHERE datastream_id = :d"), {"d": stream}
            ).all()
        assert values == [i / 2 for i in range(30)] and channels == ["mqtt"]
        assert any(r.get("error") == "unknown device token" for r in results)
        assert all(r.get("rejected") == [] for r in results if "error" not in r)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        subscriber.terminate()
        subscriber.wait(10)
        if subscriber.stdout is not None:
            subscriber.stdout.close()
        broker.stop()


def test_messages_that_arrive_together_share_a_transaction_and_each_gets_its_own_answer(demo_settings, gauge):
    stream, token = gauge
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=10)

    def body(i: int, **change: object) -> bytes:
        obs = {"datastream": stream, "phenomenon_time": (start + timedelta(hours=i)).isoformat(), "value": i}
        return json.dumps({"token": token, "observations": [obs], **change}).encode()

    topic = f"sinhke/observations/{CODE}"
    answers = handle_messages(
        demo_settings,
        [
            (topic, body(0)),
            (topic, b"not json"),
            (topic, body(1, token="shd_forged")),
            ("sinhke/observations/SOMEONE-ELSE", body(2)),
            (topic, body(3, observations=[{"datastream": 987654321, "phenomenon_time": "x", "value": 1}])),
            (topic, body(4)),
            (topic, body(0)),  # a redelivery of the first: harmless
        ],
    )
    assert [a.get("inserted") for a in answers] == [1, None, None, None, 0, 1, 0]
    assert answers[1]["error"].startswith("the message is not JSON")
    assert answers[2]["error"] == "unknown device token"
    assert answers[3]["error"] == f"the token is device {CODE}'s, not SOMEONE-ELSE's"
    assert answers[4]["rejected"][0]["row"] == 0 and answers[6]["unchanged"] == 1
    with transaction(demo_settings) as s:
        stored = s.scalars(
            text("SELECT value FROM sensor_observations WHERE datastream_id = :d ORDER BY phenomenon_time"),
            {"d": stream},
        ).all()
    assert stored == [0.0, 4.0]
