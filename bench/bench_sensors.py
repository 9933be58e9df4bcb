"""Sensor ingest and reads (issue #13, Speed), each beside its fastest baseline in the same run.

Set-up (timed apart): the database ``sinhke_bench_sensors`` gets the small demo (its simulated
devices included) once; a bench device with one flow datastream and a token is added.

(a) **HTTP ingest** under ``sinhke serve`` (gunicorn): ``--clients`` threads POST batches of
    ``--batch`` new observations to ``/api/sensors/observations`` for ``--duration`` seconds (the
    bodies made before the clock starts); observations/s. Beside it: a bare ``COPY`` of the same
    number of rows into the same table.
(m) **MQTT ingest** through a private Mosquitto (QoS 1): ``--mqtt-messages`` messages of
    ``--mqtt-batch`` observations to a bare subscriber that only counts them (the broker's rate),
    then through ``sinhke sensors mqtt`` until all are stored.
(b) **One month of one datastream** from a table of ``--rows`` observations (default 10,000,000:
    100 streams at 5-minute steps, written server-side by generate_series): the bare
    ``SELECT`` of the month (psycopg, prepared), ``/sta/v1.1/Datastreams(n)/Observations`` with a
    ``$filter`` on the month and ``$top=10000``, and ``/api/sensors/datastreams/n/readings``.

Results: bench/out/sensors-<time>.json and a Markdown table on stdout.

    .venv/bin/python bench/bench_sensors.py [--rows 10000000] [--duration 20] [--clients 4] [--batch 1000]
        [--mqtt-messages 2000] [--mqtt-batch 10] [--only all|ingest|mqtt|reads]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
from bench_serving import BIN, Server, _env  # noqa: F401 - the same server harness

from spatial.settings import Settings

DATABASE = "sinhke_bench_sensors"
STREAMS = 100
STEP = timedelta(minutes=5)


def setup(settings: Settings) -> dict[str, object]:
    import subprocess

    from spatial import cluster

    cluster.ensure_database(settings, DATABASE, fresh=False)
    env = _env(settings)
    subprocess.run([str(BIN / "sinhke"), "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [str(BIN / "sinhke"), "demo", "--households", "2000", "--if-empty"], env=env, check=True, capture_output=True
    )
    with common.connect(settings, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM sensor_device_tokens WHERE thing_id IN "
            "(SELECT id FROM sensor_things WHERE code LIKE 'BENCH-%')"
        )
        streams = [
            r[0]
            for r in conn.execute(
                "SELECT d.id FROM sensor_datastreams d JOIN sensor_things t "
                "ON t.id = d.thing_id WHERE t.code LIKE 'BENCH-%'"
            )
        ]
        if streams:
            conn.execute("DELETE FROM sensor_observations WHERE datastream_id = ANY(%s)", [streams])
            conn.execute("DELETE FROM sensor_datastreams WHERE id = ANY(%s)", [streams])
        conn.execute("DELETE FROM sensor_things WHERE code LIKE 'BENCH-%'")
        # the deleted readings stay in the unique index until vacuumed, and a run writes the same
        # (datastream, time) keys again: every insert would check them (the ingest and the COPY alike);
        # nor should the checkpoint that this WAL asks for run during the timed ingest
        conn.execute("VACUUM (ANALYZE) sensor_observations")
        conn.execute("CHECKPOINT")

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(BIN / "sinhke"), "sensors", *args], env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip().splitlines()[-1]

    run("add-device", "BENCH-1", "--name", "Bench meter", "--kind", "station", "--lon", "106.76", "--lat", "21.85")
    ingest = int(run("add-datastream", "BENCH-1", "--quantity", "flow", "--interval", "60", "--name", "ingest"))
    copy = int(run("add-datastream", "BENCH-1", "--quantity", "flow", "--interval", "60", "--name", "copy"))
    token = run("token", "BENCH-1")
    return {"ingest": ingest, "copy": copy, "token": token}


def http_ingest(server: Server, stream: int, token: str, clients: int, batch: int, duration: float) -> dict:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    counter = iter(range(10**9))
    lock = threading.Lock()
    done: list[int] = []
    errors: list[int] = []
    latencies: list[float] = []

    # the bodies are made before the clock starts: the clients share the server's two cores, and
    # what is timed is the server's work, not the bench's JSON (at most 400,000 observations/s)
    bodies = [
        json.dumps(
            [
                {
                    "datastream": stream,
                    "phenomenon_time": (start + timedelta(seconds=b * batch + i)).isoformat(),
                    "value": (b * batch + i) % 97 / 3,
                }
                for i in range(batch)
            ]
        )
        for b in range(int(duration * 400_000 / batch) + clients)
    ]
    stop = time.monotonic() + duration

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while time.monotonic() < stop:
            with lock:
                index = next(counter)
            if index >= len(bodies):
                break
            body = bodies[index]
            t0 = time.perf_counter()
            conn.request(
                "POST",
                "/api/sensors/observations",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            payload = json.loads(response.read())
            latencies.append(time.perf_counter() - t0)
            if response.status != 200 or payload["inserted"] != batch:
                errors.append(response.status)
            else:
                done.append(batch)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return {
        "observations": sum(done),
        "seconds": seconds,
        "per_s": sum(done) / seconds,
        "errors": len(errors),
        "batch_p50_ms": statistics.median(latencies) * 1000 if latencies else None,
    }


def bare_copy(settings: Settings, stream: int, n: int) -> dict:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    lines = "".join(f"{stream}\t{(start + timedelta(seconds=i)).isoformat()}\t{i % 97 / 3}\thttp\n" for i in range(n))
    with common.connect(settings) as conn:
        conn.execute("SELECT sinhke_sensor_partition(%s)", [start.date()])
        conn.commit()
        conn.execute("CHECKPOINT")  # the HTTP run's pages flushed first, as the set-up did for it
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY sensor_observations (datastream_id, phenomenon_time, value, channel) FROM STDIN") as cp,
        ):
            cp.write(lines)
        conn.commit()
        seconds = time.perf_counter() - t0
    return {"observations": n, "seconds": seconds, "per_s": n / seconds}


def big_table(settings: Settings, rows: int) -> tuple[int, datetime]:
    """``rows`` observations over STREAMS streams of the bench device (kept between runs)."""
    per = rows // STREAMS
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with common.connect(settings, autocommit=True) as conn:
        thing = common.scalar(conn, "SELECT id FROM sensor_things WHERE code = 'BENCH-1'")
        have = common.scalar(conn, "SELECT count(*) FROM sensor_datastreams WHERE name LIKE 'big %'")
        if not have:
            conn.execute(
                """INSERT INTO sensor_datastreams (thing_id, sensor_id, observed_property_id, name, quantity,
                              unit_name, unit_symbol, expected_interval_s, valid_min, valid_max)
                            SELECT %s, (SELECT min(id) FROM sensor_sensors), p.id, 'big ' || g, 'flow',
                                   'cubic metre per hour', 'm³/h', 300, 0, 500
                            FROM sensor_observed_properties p, generate_series(1, %s) g WHERE p.quantity = 'flow'""",
                [thing, STREAMS],
            )
        ids = [r[0] for r in conn.execute("SELECT id FROM sensor_datastreams WHERE name LIKE 'big %' ORDER BY id")]
        end = start + STEP * per
        day = start.date()
        while day <= end.date():
            conn.execute("SELECT sinhke_sensor_partition(%s)", [day])
            day += timedelta(days=28)
        conn.execute("SELECT sinhke_sensor_partition(%s)", [end.date()])
        stored = common.scalar(conn, "SELECT count(*) FROM sensor_observations WHERE datastream_id = ANY(%s)", [ids])
        if stored < per * STREAMS:
            conn.execute("DELETE FROM sensor_observations WHERE datastream_id = ANY(%s)", [ids])
            conn.execute(
                """INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
                            SELECT d, %s + g * %s, (g %% 500) / 7.0, 'demo'
                            FROM unnest(%s::int[]) d, generate_series(0, %s - 1) g""",
                [start, STEP, ids, per],
            )
        # the rows a run before deleted are dead until vacuumed, and a read of the month would step
        # over them in the index (and set hint bits) as it would not once autovacuum has passed
        conn.execute("VACUUM (ANALYZE) sensor_observations")
    return ids[len(ids) // 2], start + timedelta(days=60)


def hourly(settings: Settings, stream: int) -> None:
    """The read stream's hourly aggregates (what sensor_aggregates writes as readings arrive), so the
    readings API's answer for a month of 8,640 readings is its 720 hourly means."""
    from jobs.sensors import LOCAL_MIDNIGHT

    with common.connect(settings, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO sensor_aggregates (datastream_id, period, period_start, n, min, max, mean, sum)
               SELECT datastream_id, 'hour', date_bin('1 hour', phenomenon_time, %s), count(*), min(value),
                      max(value), avg(value), sum(value)
               FROM sensor_observations WHERE datastream_id = %s GROUP BY 1, 3
               ON CONFLICT (datastream_id, period, period_start) DO NOTHING""",
            [LOCAL_MIDNIGHT, stream],
        )


def month_reads(settings: Settings, server: Server, token: str, stream: int, month: datetime, n: int) -> list[list]:
    end = month + timedelta(days=30)
    sql = (
        "SELECT phenomenon_time, value FROM sensor_observations WHERE datastream_id = %s "
        "AND phenomenon_time >= %s AND phenomenon_time < %s ORDER BY phenomenon_time"
    )
    bare: list[float] = []
    with common.connect(settings) as conn:
        for _ in range(n):
            t0 = time.perf_counter()
            rows = conn.execute(sql, [stream, month, end], prepare=True).fetchall()
            bare.append(time.perf_counter() - t0)

    def iso(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    from urllib.parse import quote

    sta = f"/sta/v1.1/Datastreams({stream})/Observations?$top=10000&$orderby=phenomenonTime%20asc&$filter=" + quote(
        f"phenomenonTime ge {iso(month)} and phenomenonTime lt {iso(end)}"
    )
    api = f"/api/sensors/datastreams/{stream}/readings?from={quote(month.isoformat())}&to={quote(end.isoformat())}"
    out = [["bare SELECT (psycopg, prepared)", len(rows), common.summarise(bare)]]
    conn2 = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for name, path in (("SensorThings Observations", sta), ("/api/sensors/…/readings", api)):
        times: list[float] = []
        count = 0
        for _ in range(n):
            t0 = time.perf_counter()
            conn2.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn2.getresponse()
            raw = response.read()
            times.append(time.perf_counter() - t0)  # the answer, whole; the bench's own decoding is not timed
            body = json.loads(raw)
            assert response.status == 200, body
            count = len(body.get("value", body.get("points", [])))
        out.append([name, count, common.summarise(times)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--reads", type=int, default=20)
    ap.add_argument("--mqtt-messages", type=int, default=2000)
    ap.add_argument("--mqtt-batch", type=int, default=10)
    ap.add_argument("--only", choices=("all", "ingest", "mqtt", "reads"), default="all")
    args = ap.parse_args()
    settings = common.bench_settings(DATABASE)
    with common.stopwatch() as t_setup:
        ids = setup(settings)
    result: dict = {"machine": common.machine(settings), "git": common.git_info(), "setup_s": t_setup["seconds"]}
    if args.only in ("all", "mqtt"):
        mqtt = mqtt_ingest(settings, int(ids["ingest"]), str(ids["token"]), args.mqtt_messages, args.mqtt_batch)
        result["mqtt"] = mqtt
        print(
            common.table(
                ["MQTT, QoS 1", "messages", "observations", "seconds", "messages/s", "obs/s"],
                [
                    [
                        "broker only (a subscriber that counts)",
                        mqtt["messages"],
                        "",
                        mqtt["broker_only_s"],
                        mqtt["broker_only_messages_per_s"],
                        "",
                    ],
                    [
                        "through `sinhke sensors mqtt` into the table",
                        mqtt["messages"],
                        mqtt["stored"],
                        mqtt["ingest_s"],
                        mqtt["ingest_messages_per_s"],
                        mqtt["ingest_per_s"],
                    ],
                ],
            )
        )
    if args.only == "mqtt":
        common.write_json("sensors", result)
        return
    server = Server(settings, None, None, common.OUT_DIR / "sensors-serve.log")
    server.start()
    try:
        user_token = _user_token(settings)
        if args.only in ("all", "ingest"):
            ingest = http_ingest(server, int(ids["ingest"]), str(ids["token"]), args.clients, args.batch, args.duration)
            copy = bare_copy(settings, int(ids["copy"]), ingest["observations"] or args.batch)
            result |= {"ingest_http": ingest, "copy": copy}
        if args.only != "ingest":
            with common.stopwatch() as t_big:
                stream, month = big_table(settings, args.rows)
                hourly(settings, stream)
            reads = month_reads(settings, server, user_token, stream, month, args.reads)
            result |= {
                "big_table_s": t_big["seconds"],
                "rows": args.rows,
                "reads": [{"what": w, "rows": n, **s} for w, n, s in reads],
            }
    finally:
        common.stop_server(server.proc)
    common.write_json("sensors", result)
    if "ingest_http" in result:
        print(
            common.table(
                ["ingest", "observations", "seconds", "obs/s"],
                [
                    [
                        f"HTTP, {args.clients} clients × {args.batch}-row batches",
                        ingest["observations"],
                        ingest["seconds"],
                        ingest["per_s"],
                    ],
                    ["bare COPY of as many rows", copy["observations"], copy["seconds"], copy["per_s"]],
                ],
            )
        )
        print(f"HTTP / COPY: {ingest['per_s'] / copy['per_s']:.2f}×; errors {ingest['errors']}")
    if "reads" in result:
        print(
            common.table(
                ["a month of one stream", "rows", "median ms", "max ms"],
                [[w, n, s["median"] * 1000, s["max"] * 1000] for w, n, s in reads],
            )
        )


def mqtt_ingest(settings: Settings, stream: int, token: str, messages: int, batch: int) -> dict:
    """``messages`` QoS-1 messages of ``batch`` observations through a private Mosquitto: first to a
    bare paho subscriber that only counts them (the broker's own rate, the baseline), then to
    ``sinhke sensors mqtt`` until every observation is stored (the subscriber acknowledges a message
    after its transaction commits)."""
    import shutil
    import socket
    import subprocess
    import tempfile

    import paho.mqtt.client as mqtt

    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="sinhke-bench-mqtt-"))
    (folder / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\nmax_queued_messages 100000\n"
    )
    broker = subprocess.Popen([mosquitto, "-c", str(folder / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    start = datetime(2025, 3, 1, tzinfo=UTC)

    def bodies(offset: int) -> list[str]:
        return [
            json.dumps(
                {
                    "token": token,
                    "observations": [
                        {
                            "datastream": stream,
                            "phenomenon_time": (start + timedelta(seconds=offset + m * batch + i)).isoformat(),
                            "value": i % 50,
                        }
                        for i in range(batch)
                    ],
                }
            )
            for m in range(messages)
        ]

    def publish(payloads: list[str], client_id: str) -> None:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        infos = [pub.publish("sinhke/observations/BENCH-1", p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(60)
        pub.loop_stop()
        pub.disconnect()

    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        # the baseline: the broker alone, to a subscriber that only counts
        received = threading.Event()
        count = [0]

        def counted(_c: object, _u: object, _m: object) -> None:
            count[0] += 1
            if count[0] == messages:
                received.set()

        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-count")
        sub.on_message = counted
        sub.connect("127.0.0.1", port)
        sub.subscribe("sinhke/observations/+", qos=1)
        sub.loop_start()
        time.sleep(0.5)
        payloads = bodies(0)
        t0 = time.perf_counter()
        publish(payloads, "bench-pub-1")
        received.wait(120)
        bare = time.perf_counter() - t0
        sub.loop_stop()
        sub.disconnect()
        # through sinhke's subscriber into the database
        payloads = bodies(10**7)
        env = _env(settings)
        ingest = subprocess.Popen(
            [str(BIN / "sinhke"), "sensors", "mqtt", "--broker", f"127.0.0.1:{port}", "--client-id", "bench-ingest"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert ingest.stdout is not None and "subscribed" in ingest.stdout.readline()
        with common.connect(settings, autocommit=True) as conn:
            first = start + timedelta(seconds=10**7)
            conn.execute("SELECT sinhke_sensor_partition(%s)", [first.date()])
            before = common.scalar(conn, "SELECT count(*) FROM sensor_observations WHERE datastream_id = %s", [stream])
            t0 = time.perf_counter()
            publish(payloads, "bench-pub-2")
            want = before + messages * batch
            stored = before
            while time.perf_counter() - t0 < 300 and stored < want:
                time.sleep(0.05)
                stored = common.scalar(
                    conn, "SELECT count(*) FROM sensor_observations WHERE datastream_id = %s", [stream]
                )
            seconds = time.perf_counter() - t0
        ingest.terminate()
        ingest.wait(10)
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    n = messages * batch
    return {
        "messages": messages,
        "batch": batch,
        "observations": n,
        "stored": stored - before,
        "broker_only_s": bare,
        "broker_only_messages_per_s": messages / bare,
        "ingest_s": seconds,
        "ingest_per_s": (stored - before) / seconds,
        "ingest_messages_per_s": messages / seconds,
    }


def _user_token(settings: Settings) -> str:
    from spatial.accounts import get_user, issue_token
    from spatial.db import transaction

    with transaction(settings) as s:
        return issue_token(s, get_user(s, "admin"))


if __name__ == "__main__":
    main()
