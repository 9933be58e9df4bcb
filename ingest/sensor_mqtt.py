"""The MQTT way in: a subscriber (paho-mqtt) that hands every message to ``ingest_observations``.

A device publishes to ``sinhke/observations/<device code>`` at QoS 1 a JSON object
``{"token": "shd_…", "observations": [{datastream, phenomenon_time, value}, …]}``. The subscriber
keeps a persistent session (clean session off, a fixed client id), so the broker queues what
arrives while it is away, and acknowledges a message only after its transaction has committed:
a broker or subscriber restart redelivers what was not yet written, and the idempotent ingest makes
the redelivery harmless. The outcome goes back to ``sinhke/results/<device code>``.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.exc import OperationalError

from ingest.sensors import ingest_observations
from spatial import ParameterError, SinhkeError
from spatial.accounts import act_as
from spatial.db import session_factory
from spatial.sensors import SensorError, device_for_token
from spatial.settings import Settings

RESULTS = "sinhke/results/{code}"


def parse_broker(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ParameterError("--broker", f"{value!r} is not HOST:PORT")
    return host, int(port)


def handle_message(settings: Settings, topic: str, payload: bytes | bytearray) -> dict[str, Any]:
    """One message in one transaction: what to answer the device (the ingest's result or the error)."""
    code = topic.rsplit("/", 1)[-1]
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"error": f"the message is not JSON ({exc})"}
    if not isinstance(body, dict) or not isinstance(body.get("observations"), list):
        return {"error": 'the message must be {"token": …, "observations": [...]}'}
    try:
        with session_factory(settings).begin() as session:
            device = device_for_token(session, body.get("token"))
            if device.code != code:
                return {"error": f"the token is device {device.code}'s, not {code}'s"}
            act_as(session, f"device:{device.code}")
            result = ingest_observations(
                session, body["observations"], channel="mqtt", device_id=device.thing_id, digest=device.digest
            )
            return result.as_json()
    except SensorError as exc:
        return {"error": str(exc)}


def run_subscriber(
    settings: Settings,
    host: str,
    port: int,
    *,
    topic: str = "sinhke/observations/+",
    client_id: str = "sinhke-ingest",
    echo: Callable[[str], None] = print,
) -> None:
    """Subscribe and ingest until SIGTERM or SIGINT; reconnects by itself when the broker goes away."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
    )
    client.manual_ack_set(True)
    client.reconnect_delay_set(min_delay=1, max_delay=5)

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            echo(f"mqtt: {host}:{port} refused the connection ({reason})")
            return
        c.subscribe(topic, qos=1)  # again after every reconnect: a restarted broker may have lost the session
        echo(f"subscribed to {topic} at {host}:{port}")

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        while True:
            try:
                answer = handle_message(settings, msg.topic, msg.payload)
                break
            except OperationalError as exc:  # the database is away: keep the message, try again
                echo(f"mqtt: database unavailable ({str(exc.orig).strip().splitlines()[:1]}); retrying")
                time.sleep(2)
            except SinhkeError as exc:
                answer = {"error": str(exc)}
                break
        code = msg.topic.rsplit("/", 1)[-1]
        c.publish(RESULTS.format(code=code), json.dumps(answer), qos=1)
        c.ack(msg.mid, msg.qos)  # only now: written (or refused for good)
        if "error" in answer:
            echo(f"mqtt: {msg.topic}: {answer['error']}")

    client.on_connect = on_connect
    client.on_message = on_message

    def stop(_sig: int, _frame: Any) -> None:
        client.disconnect()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.connect_async(host, port, keepalive=30)
    client.loop_forever(retry_first_connection=True)
