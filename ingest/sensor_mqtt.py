"""The MQTT way in: a subscriber (paho-mqtt) that hands every message to ``ingest_observations``.

A device publishes to ``sinhke/observations/<device code>`` at QoS 1 a JSON object
``{"token": "shd_…", "observations": [{datastream, phenomenon_time, value}, …]}``. The subscriber
keeps a persistent session (clean session off, a fixed client id), so the broker queues what
arrives while it is away, and acknowledges a message only after its transaction has committed
(the messages that arrive together share one transaction, each in its own savepoint):
a broker or subscriber restart redelivers what was not yet written, and the idempotent ingest makes
the redelivery harmless. The outcome goes back to ``sinhke/results/<device code>``.
"""

from __future__ import annotations

import json
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from ingest.sensors import ingest_observations
from spatial import ParameterError, SinhkeError
from spatial.accounts import act_as
from spatial.db import session_factory
from spatial.sensors import device_for_token
from spatial.settings import Settings

RESULTS = "sinhke/results/{code}"
#: at most this many messages share a transaction (one commit, one WAL flush)
GROUP_MESSAGES = 200
#: once a message is in, how long to wait for more to write with it
GROUP_WAIT_S = 0.05


def parse_broker(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ParameterError("--broker", f"{value!r} is not HOST:PORT")
    return host, int(port)


def handle_message(settings: Settings, topic: str, payload: bytes | bytearray) -> dict[str, Any]:
    """One message in its own transaction: what to answer the device (the ingest's result or the error)."""
    return handle_messages(settings, [(topic, payload)])[0]


def handle_messages(settings: Settings, messages: Sequence[tuple[str, bytes | bytearray]]) -> list[dict[str, Any]]:
    """Messages in one transaction, each in its own savepoint, so one refused (or failing in the
    database) leaves the others written: what to answer each device. OperationalError (the database
    away) escapes, and nothing of the group is written."""
    answers: list[dict[str, Any]] = []
    with session_factory(settings).begin() as session:
        for topic, payload in messages:
            try:
                with session.begin_nested():
                    answers.append(_ingest_message(session, topic, payload))
            except SinhkeError as exc:  # the device's token, the batch's size or streams
                answers.append({"error": str(exc)})
            except DBAPIError as exc:
                if isinstance(exc, OperationalError):
                    raise
                answers.append({"error": f"the database refused the message ({str(exc.orig).strip().splitlines()[0]})"})
    return answers


def _ingest_message(session: Session, topic: str, payload: bytes | bytearray) -> dict[str, Any]:
    code = topic.rsplit("/", 1)[-1]
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"error": f"the message is not JSON ({exc})"}
    if not isinstance(body, dict) or not isinstance(body.get("observations"), list):
        return {"error": 'the message must be {"token": …, "observations": [...]}'}
    device = device_for_token(session, body.get("token"))
    if device.code != code:
        return {"error": f"the token is device {device.code}'s, not {code}'s"}
    act_as(session, f"device:{device.code}")
    result = ingest_observations(
        session, body["observations"], channel="mqtt", device_id=device.thing_id, digest=device.digest
    )
    return result.as_json()


def run_subscriber(
    settings: Settings,
    host: str,
    port: int,
    *,
    topic: str = "sinhke/observations/+",
    client_id: str = "sinhke-ingest",
    echo: Callable[[str], None] = print,
    group: int = GROUP_MESSAGES,
    wait: float = GROUP_WAIT_S,
) -> None:
    """Subscribe and ingest until SIGTERM or SIGINT; reconnects by itself when the broker goes away.

    The network thread only queues what arrives; this thread takes what is queued (up to ``group``
    messages, waiting at most ``wait`` seconds for more once one is there), writes it in one
    transaction, and only then publishes the answers and acknowledges the messages. A message
    received before a reconnect is not acknowledged on the new connection (its packet id belongs to
    the old one): the broker sends it again, and the idempotent ingest makes that harmless."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
    )
    client.manual_ack_set(True)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    inbox: queue.Queue[tuple[int, mqtt.MQTTMessage]] = queue.Queue()
    connection = [0]  # counts connections: a message is acknowledged only on the one it came by
    stopping = threading.Event()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            echo(f"mqtt: {host}:{port} refused the connection ({reason})")
            return
        connection[0] += 1
        c.subscribe(topic, qos=1)  # again after every reconnect: a restarted broker may have lost the session

    def on_subscribe(_c: mqtt.Client, _u: Any, _mid: int, granted: list[Any], _p: Any) -> None:
        # said only once the broker has the subscription (its SUBACK), not when it was asked for:
        # a broker stopped in between never had it, and what is published before it is not queued for us
        if any(code.is_failure for code in granted):
            echo(f"mqtt: {host}:{port} refused the subscription to {topic} ({granted[0]})")
        else:
            echo(f"subscribed to {topic} at {host}:{port}")

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        inbox.put((connection[0], msg))

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message

    def stop(_sig: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.connect_async(host, port, keepalive=30)
    client.loop_start()
    try:
        while not stopping.is_set():
            batch = _take(inbox, group, wait)
            if batch:
                _write_and_acknowledge(settings, client, batch, connection, echo)
    finally:
        client.disconnect()
        client.loop_stop()


def _take(
    inbox: queue.Queue[tuple[int, mqtt.MQTTMessage]], group: int, wait: float
) -> list[tuple[int, mqtt.MQTTMessage]]:
    """What is queued, up to ``group`` messages: waits up to half a second for a first one, then at
    most ``wait`` seconds for more."""
    try:
        batch = [inbox.get(timeout=0.5)]
    except queue.Empty:
        return []
    until = time.monotonic() + wait
    while len(batch) < group:
        left = until - time.monotonic()
        try:
            batch.append(inbox.get_nowait() if left <= 0 else inbox.get(timeout=left))
        except queue.Empty:
            break
    return batch


def _write_and_acknowledge(
    settings: Settings,
    client: mqtt.Client,
    batch: list[tuple[int, mqtt.MQTTMessage]],
    connection: list[int],
    echo: Callable[[str], None],
) -> None:
    while True:
        try:
            answers = handle_messages(settings, [(m.topic, m.payload) for _, m in batch])
            break
        except OperationalError as exc:  # the database is away: keep the messages, try again
            echo(f"mqtt: database unavailable ({str(exc.orig).strip().splitlines()[:1]}); retrying")
            time.sleep(2)
    for (came_by, msg), answer in zip(batch, answers, strict=True):
        code = msg.topic.rsplit("/", 1)[-1]
        client.publish(RESULTS.format(code=code), json.dumps(answer), qos=1)
        if came_by == connection[0]:
            client.ack(msg.mid, msg.qos)  # only now: written (or refused for good)
        if "error" in answer:
            echo(f"mqtt: {msg.topic}: {answer['error']}")
