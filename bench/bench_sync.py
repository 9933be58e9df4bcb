"""Visit sync under dropped responses: 50 phones sync 200 visits each, twice, through a faulty link.

Issue #6's reliability goal: 50 simulated extension workers each sync 200 visits twice
while 10 % of responses are lost after the server committed; the database must end with
exactly 10,000 visits, none twice and none lost, and the throughput is reported.

Set-up (timed apart): the database ``sinhke_bench_sync`` is dropped, recreated and
migrated; a small demo is loaded (its forms included); 50 extension-worker accounts are
created, each scoped to a 2025 commune that holds livelihood models (spread over those
communes), each with an API token. The real app is served by gunicorn on 127.0.0.1 (a
port the kernel picks). Each phone reads its models from ``/api/layers/livelihood_models``
with its own token and the general form's version from ``/api/forms``, then builds an
outbox of 200 valid visits (seeded UUIDs, answers valid for the general form, a GPS fix
near the model).

The run: every phone posts its outbox twice (the second time as a phone that lost track
of what it sent would), through ``DroppingProxy``: it forwards each request to gunicorn,
reads the whole response (so the server has committed) and then, for a deterministic
pseudo-random share of responses, closes the phone's connection instead of answering. A
phone re-sends a visit whose response it did not get until it gets 200 or 201, as the
field app's outbox does (``webapp/static/field/app.js``). Afterwards the database is
checked: exactly phones x visits rows from these accounts, no id twice, no two rows with
the same content, every generated id stored with the body that was sent. The exit status
is 1 when an invariant fails. Results: bench/out/sync-<mode>-<time>.json and a Markdown
table on stdout.

    .venv/bin/python bench/bench_sync.py [--phones 50] [--visits 200] [--drop 0.10]
        [--mode single|batch|both] [--workers CORES --threads 4] [--households 20000]
"""

from __future__ import annotations

import time

PROCESS_START = time.perf_counter()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import socketserver  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    OUT_DIR,
    _cpu_times,
    bench_settings,
    connect,
    git_info,
    loadavg,
    machine,
    say,
    stop_server,
    table,
    wait_quiet,
    write_json,
)

from spatial.settings import Settings  # noqa: E402

DEFAULT_DATABASE = "sinhke_bench_sync"
ROOT = Path(__file__).resolve().parent.parent
#: visits per batch request in ``--mode batch`` (the API takes up to 500)
BATCH_SIZE = 50
#: a visit (or batch) is given up after this many attempts; at 10 % drops that never happens
MAX_ATTEMPTS = 30
HEADER_LIMIT = 65536
ICT = timezone(timedelta(hours=7))
#: visits are dated from here on, one minute apart per phone and visit, so no two have the same content
FIRST_VISIT = datetime(2025, 9, 1, 7, 0, tzinfo=ICT)
PROBLEMS = (
    "Thiếu thức ăn cho gia súc mùa đông",
    "Hộ tham gia đi làm ăn xa",
    "Dịch bệnh trên đàn gà",
    "Giá bán thấp, khó tiêu thụ",
    "Chậm giải ngân vốn hỗ trợ",
)


# ----------------------------------------------------------------------------- the faulty link
def _read_head(reader: Any) -> list[bytes] | None:
    """The start line and header lines of one HTTP message; None at a clean end of stream."""
    lines: list[bytes] = []
    while True:
        line = reader.readline(HEADER_LIMIT + 1)
        if not line:
            if lines:
                raise ConnectionError("the stream ended inside a header")
            return None
        if len(line) > HEADER_LIMIT:
            raise ValueError("header line too long")
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # tolerate stray blank lines between messages
            return lines
        lines.append(line.rstrip(b"\r\n"))


def _headers(lines: list[bytes]) -> list[tuple[str, bytes]]:
    out = []
    for line in lines:
        name, _, value = line.partition(b":")
        out.append((name.decode("latin-1").strip().lower(), value.strip()))
    return out


#: hop-by-hop headers the proxy sets itself on each side
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}


class DroppingProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 that loses a share of the responses after the server answered.

    Each phone connection has one keep-alive connection to the upstream server (as a reverse
    proxy keeps its upstream connections; one connection per request cost both the proxy and
    gunicorn a TCP set-up and tear-down per request), and the whole response is read before
    anything is decided, so the server has finished (committed) the request. Then the response
    is either returned
    on the phone's keep-alive connection or, for a pseudo-random ``drop_rate`` of
    responses, the phone's connection is closed without a byte. The choice depends only on
    the seed, the request body and how many times that same body was seen, so a run drops
    the same responses whatever the threads' timing.
    """

    def __init__(self, upstream: tuple[str, int], drop_rate: float, seed: int = 0, idle_timeout: float = 60.0):
        if not 0 <= drop_rate < 1:
            raise ValueError("drop_rate is a share in [0, 1)")
        self.upstream, self.drop_rate, self.seed, self.idle_timeout = upstream, drop_rate, seed, idle_timeout
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self.requests = 0
        self.dropped = 0
        self.returned = 0
        self.upstream_errors = 0
        self.client_errors = 0
        self.upstream_status: Counter[int] = Counter()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    # -- decisions
    def should_drop(self, body: bytes) -> bool:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            n = self._seen[digest] = self._seen.get(digest, 0) + 1
        draw = hashlib.sha256(f"{self.seed}:{digest}:{n}".encode()).digest()
        return int.from_bytes(draw[:8], "big") / 2**64 < self.drop_rate

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "responses_dropped": self.dropped,
                "responses_returned": self.returned,
                "upstream_errors": self.upstream_errors,
                "client_errors": self.client_errors,
                "upstream_status": {str(k): v for k, v in sorted(self.upstream_status.items())},
                "drop_rate": self.drop_rate,
                "seed": self.seed,
            }

    # -- life cycle
    def start(self) -> int:
        """Listen on a free loopback port (returned) and serve in a background thread."""
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve_connection(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = False  # joined at stop(): every handler ends when its phone hangs up
            request_queue_size = 256

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="dropping-proxy", daemon=True
        )
        self._thread.start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the connection threads
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> DroppingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one phone connection: requests one after another (keep-alive)
    def _serve_connection(self, sock: socket.socket) -> None:
        sock.settimeout(self.idle_timeout)
        reader = sock.makefile("rb")
        upstream = _Upstream(self.upstream)
        try:
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                request_line, headers = head[0], _headers(head[1:])
                fields = dict(headers)
                if b"chunked" in fields.get("transfer-encoding", b"").lower():
                    sock.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                length = int(fields.get("content-length", b"0") or 0)
                body = reader.read(length) if length else b""
                if len(body) != length:
                    raise ConnectionError("the stream ended inside a body")
                keep_alive = fields.get("connection", b"").lower() != b"close" and not request_line.endswith(
                    b"HTTP/1.0"
                )
                with self._lock:
                    self.requests += 1
                response = self._forward(upstream, request_line, headers, body, keep_alive)
                if self.should_drop(body):
                    with self._lock:
                        self.dropped += 1
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # closed with a reset: the phone never sees the answer
                sock.sendall(response)
                with self._lock:
                    self.returned += 1
                if not keep_alive:
                    return
        except (OSError, ValueError, IndexError):
            with self._lock:
                self.client_errors += 1
        finally:
            reader.close()
            upstream.close()

    def _forward(
        self, upstream: _Upstream, request_line: bytes, headers: list[tuple[str, bytes]], body: bytes, keep_alive: bool
    ) -> bytes:
        """The upstream's whole response, re-framed for the phone's connection."""
        out = [request_line]
        out += [
            f"{name}: ".encode() + value
            for name, value in headers
            if name not in HOP_BY_HOP and name != "content-length"
        ]
        out += [f"Content-Length: {len(body)}".encode(), b"Connection: keep-alive", b"", b""]
        try:
            lines, content, framed = upstream.exchange(b"\r\n".join(out) + body)
        except (OSError, ValueError):
            with self._lock:
                self.upstream_errors += 1
            return b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        status = int(lines[0].split(b" ", 2)[1]) if len(lines[0].split(b" ")) > 1 else 502
        with self._lock:
            self.upstream_status[status] += 1
        kept = _headers(lines[1:])
        reply = [lines[0]] + [f"{name}: ".encode() + value for name, value in kept if name not in HOP_BY_HOP]
        reply.append(b"Connection: keep-alive" if keep_alive and framed else b"Connection: close")
        return b"\r\n".join(reply) + b"\r\n\r\n" + content


class _Upstream:
    """The proxy's keep-alive connection to the server for one phone connection."""

    def __init__(self, address: tuple[str, int]):
        self.address = address
        self.sock: socket.socket | None = None
        self.reader: Any = None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def exchange(self, message: bytes) -> tuple[list[bytes], bytes, bool]:
        """Send one request; its response's start and header lines, body, and whether a length framed
        it. A connection the server closed while idle (no byte of an answer) is opened again once:
        the request did not reach the server; a visit is idempotent anyway."""
        for attempt in (1, 2):
            reused = self.sock is not None
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=120)
                self.reader = self.sock.makefile("rb")
            try:
                self.sock.sendall(message)
                head = _read_head(self.reader)
            except OSError:
                head = None
            if head is None:
                self.close()
                if reused and attempt == 1:
                    continue
                raise ConnectionError("the server closed the connection without an answer")
            fields = dict(_headers(head[1:]))
            length = fields.get("content-length")
            status = head[0].split(b" ", 2)[1] if len(head[0].split(b" ")) > 1 else b""
            if status in (b"204", b"304") or status.startswith(b"1"):
                length = b"0"  # no body, whatever the headers say
            if length is not None:
                content = self.reader.read(int(length))
                framed = len(content) == int(length)
            else:  # read to the end: the server closes
                content, framed = self.reader.read(), False
            if not framed or fields.get("connection", b"").lower() == b"close":
                self.close()
            return head, content, framed
        raise ConnectionError("unreachable")


# ----------------------------------------------------------------------------- the phones
def make_outbox(
    seed: str, models: list[dict[str, Any]], form_version: str, count: int, first_minute: int
) -> list[dict[str, Any]]:
    """``count`` valid general-form visits to ``models`` (code, lon, lat), reproducible from ``seed``.

    Visit k is dated ``first_minute + k`` minutes after FIRST_VISIT: give each phone its own
    range and no two visits anywhere have the same content.
    """
    rng = random.Random(seed)
    visits = []
    for k in range(count):
        model = models[k % len(models)] if k < len(models) else rng.choice(models)
        progress = rng.choice(("on_track", "on_track", "on_track", "delayed", "stopped"))
        answers: dict[str, Any] = {
            "participants_present": rng.randint(1, 40),
            "progress": progress,
            "income_vnd": rng.randrange(0, 5_000_000, 1000),
            "notes": f"Lần thăm {k + 1} ({seed})",
        }
        if progress != "on_track":
            answers["problems"] = rng.choice(PROBLEMS)
        location = None
        if model.get("lon") is not None:
            location = {
                "type": "Point",
                "coordinates": [
                    round(model["lon"] + rng.uniform(-5e-4, 5e-4), 6),
                    round(model["lat"] + rng.uniform(-5e-4, 5e-4), 6),
                ],
            }
        visits.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "model": model["code"],
                "visited_at": (FIRST_VISIT + timedelta(minutes=first_minute + k)).isoformat(),
                "form": "general",
                "form_version": form_version,
                "location": location,
                "accuracy_m": round(rng.uniform(3, 15), 1) if location else None,
                "answers": answers,
            }
        )
    return visits


@dataclass
class PhoneLog:
    """What one phone saw: every request's fate, and each visit's acknowledgement."""

    name: str
    requests: int = 0
    dropped: int = 0  # the connection closed (or timed out) before a response
    timeouts: int = 0
    retries: int = 0  # re-sends of a visit (or batch) after an attempt without 200/201
    http_status: Counter[int] = field(default_factory=Counter)
    #: per visit, per pass: the status that acknowledged it (201 created, 200 already there)
    acknowledged: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # each request that got a response, s
    ack_latencies: list[float] = field(default_factory=list)  # first attempt to acknowledgement, s
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Phone:
    """A field app's outbox over one keep-alive HTTP connection (reopened after a drop)."""

    def __init__(self, name: str, token: str, host: str, port: int, timeout: float = 60.0):
        self.log = PhoneLog(name)
        self.token = token
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def close(self) -> None:
        self.conn.close()

    def _post(self, path: str, payload: bytes) -> tuple[int | None, bytes]:
        log = self.log
        log.requests += 1
        t0 = time.perf_counter()
        try:
            self.conn.request(
                "POST",
                path,
                body=payload,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            )
            with self.conn.getresponse() as response:
                data = response.read()
                status = response.status
        except (http.client.HTTPException, OSError) as exc:
            self.conn.close()  # the next request opens a new connection
            log.dropped += 1
            if isinstance(exc, TimeoutError):
                log.timeouts += 1
            return None, b""
        log.latencies.append(time.perf_counter() - t0)
        log.http_status[status] += 1
        return status, data

    def _until_acknowledged(self, path: str, payload: bytes) -> tuple[int | None, bytes]:
        """Post until a response that is not a drop or a server error; gives up after MAX_ATTEMPTS."""
        status, data = None, b""
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self.log.retries += 1
            status, data = self._post(path, payload)
            if status is not None and status < 500:
                return status, data
            if status is not None:
                time.sleep(0.05 * attempt)  # the outbox backs off from a failing server
        return status, data

    def sync_single(self, outbox: list[dict[str, Any]], label: str) -> None:
        for body in outbox:
            payload = json.dumps(body, ensure_ascii=False).encode()
            t0 = time.perf_counter()
            status, data = self._until_acknowledged("/api/visits", payload)
            if status in (200, 201):
                self.log.acknowledged[f"{label}:{status}"] += 1
                self.log.ack_latencies.append(time.perf_counter() - t0)
            else:
                self.log.failures.append(f"{body['id']}: {status} {data[:300].decode(errors='replace')}")

    def sync_batches(self, outbox: list[dict[str, Any]], label: str, size: int = BATCH_SIZE) -> None:
        for start in range(0, len(outbox), size):
            chunk = outbox[start : start + size]
            payload = json.dumps({"visits": chunk}, ensure_ascii=False).encode()
            t0 = time.perf_counter()
            status, data = self._until_acknowledged("/api/visits/batch", payload)
            if status != 200:
                self.log.failures.append(f"batch at {start}: {status} {data[:300].decode(errors='replace')}")
                continue
            elapsed = time.perf_counter() - t0
            results = json.loads(data)["results"]
            for sent, result in zip(chunk, results, strict=True):
                if result["id"] == sent["id"] and result["status"] in (200, 201):
                    self.log.acknowledged[f"{label}:{result['status']}"] += 1
                    self.log.ack_latencies.append(elapsed)
                else:
                    self.log.failures.append(f"{sent['id']}: {json.dumps(result)[:300]}")


def run_phones(
    phones: list[tuple[Phone, list[dict[str, Any]]]], mode: str, passes: int = 2, batch_size: int = BATCH_SIZE
) -> float:
    """Every phone syncs its outbox ``passes`` times, all at once; returns the wall time in s."""
    start = threading.Barrier(len(phones) + 1)
    crashes: list[str] = []

    def go(phone: Phone, outbox: list[dict[str, Any]]) -> None:
        start.wait()
        t0 = time.perf_counter()
        try:
            for n in range(1, passes + 1):
                if mode == "batch":
                    phone.sync_batches(outbox, f"pass{n}", batch_size)
                else:
                    phone.sync_single(outbox, f"pass{n}")
        except Exception as exc:  # noqa: BLE001 - reported as a failure of this phone
            crashes.append(f"{phone.log.name}: {exc!r}")
            phone.log.failures.append(f"crashed: {exc!r}")
        finally:
            phone.log.seconds = time.perf_counter() - t0
            phone.close()

    threads = [threading.Thread(target=go, args=pair, name=f"phone-{i}") for i, pair in enumerate(phones)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- the invariants
def check_database(conn: Any, outboxes: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Compare what the phones generated with what the database holds from their accounts.

    ``outboxes`` maps each phone's user name to its visits. ``conn`` is a psycopg
    connection as the database owner (row-level security does not hide rows from it).
    """
    from ingest.visits import body_sha256

    names = list(outboxes)
    sent = {body["id"]: (name, body) for name, bodies in outboxes.items() for body in bodies}
    expected = sum(len(b) for b in outboxes.values())
    rows = conn.execute(
        "SELECT id::text, submitted_by, body_sha256, answers FROM visits WHERE submitted_by = ANY(%s)", (names,)
    ).fetchall()
    stored: dict[str, list[tuple[str, str, dict]]] = {}
    for vid, who, digest, answers in rows:
        stored.setdefault(vid, []).append((who, digest, answers))
    lost = [vid for vid in sent if vid not in stored]
    unexpected = [vid for vid in stored if vid not in sent]
    changed = [
        vid
        for vid, (name, body) in sent.items()
        if vid in stored and stored[vid][0] != (name, body_sha256(body), body["answers"])
    ]
    duplicate_ids = sum(len(v) - 1 for v in stored.values())
    duplicate_bodies = conn.execute(
        """
        SELECT coalesce(sum(n - 1), 0) FROM (
          SELECT count(*) AS n FROM visits WHERE submitted_by = ANY(%s)
          GROUP BY submitted_by, model_id, work_id, scheme_id, visited_at, form_id, form_version, answers,
                   ST_AsEWKB(geom), accuracy_m
          HAVING count(*) > 1) d""",
        (names,),
    ).fetchone()[0]
    per_phone = dict(
        conn.execute(
            "SELECT submitted_by, count(*) FROM visits WHERE submitted_by = ANY(%s) GROUP BY 1", (names,)
        ).fetchall()
    )
    uneven = {n: per_phone.get(n, 0) for n in names if per_phone.get(n, 0) != len(outboxes[n])}
    result = {
        "expected": expected,
        "stored": len(rows),
        "distinct_ids": len(stored),
        "duplicate_ids": duplicate_ids,
        "duplicate_bodies": int(duplicate_bodies),
        "lost": len(lost),
        "unexpected": len(unexpected),
        "body_differs": len(changed),
        "phones_with_wrong_count": len(uneven),
        "examples": {
            "lost": lost[:5],
            "unexpected": unexpected[:5],
            "body_differs": changed[:5],
            "wrong_count": dict(list(uneven.items())[:5]),
        },
    }
    result["ok"] = (
        len(rows) == expected
        and duplicate_ids == 0
        and result["duplicate_bodies"] == 0
        and not lost
        and not unexpected
        and not changed
        and not uneven
    )
    return result


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds (nearest rank)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))] * 1000

    return {
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
        "n": len(ordered),
    }


def summarise_logs(logs: list[PhoneLog]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    http_status: Counter[int] = Counter()
    for log in logs:
        total.update(log.acknowledged)
        http_status.update(log.http_status)
    return {
        "requests": sum(x.requests for x in logs),
        "dropped_seen": sum(x.dropped for x in logs),
        "timeouts": sum(x.timeouts for x in logs),
        "retries": sum(x.retries for x in logs),
        "http_status": {str(k): v for k, v in sorted(http_status.items())},
        "acknowledged": dict(sorted(total.items())),
        "failures": sum(len(x.failures) for x in logs),
        "failure_examples": [f for x in logs for f in x.failures][:10],
        "latency_ms": percentiles([t for x in logs for t in x.latencies]),
        "ack_latency_ms": percentiles([t for x in logs for t in x.ack_latencies]),
        "phone_seconds": percentiles([x.seconds for x in logs]),
    }


# ----------------------------------------------------------------------------- set-up and server
def get_json(base: str, path: str, token: str) -> Any:
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - our own loopback server
        return json.load(response)


def phone_models(base: str, token: str) -> list[dict[str, Any]]:
    """The livelihood models a worker's token can see (as the field app lists them), with their points."""
    fc = get_json(base, "/api/layers/livelihood_models?limit=10000", token)
    out = []
    for f in fc["features"]:
        lon, lat = _a_point(f.get("geometry") or {})
        out.append({"code": f["properties"]["code"], "lon": lon, "lat": lat})
    return out


def _a_point(geometry: dict[str, Any]) -> tuple[float | None, float | None]:
    """Where a phone at the model would be: the point, or the mean vertex of a plot's outer ring."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point" and coords:
        return coords[0], coords[1]
    ring = coords[0] if kind == "Polygon" and coords else coords[0][0] if kind == "MultiPolygon" and coords else None
    if not ring:
        return None, None
    ring = ring[:-1] or ring
    return sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring)


def general_form_version(base: str, token: str) -> str:
    forms = get_json(base, "/api/forms", token)["forms"]
    return next(f["version"] for f in forms if f["form"] == "general")


#: 2025 communes that hold livelihood models (through the crosswalk), most models first
COMMUNES_WITH_MODELS = """
    SELECT n.code FROM livelihood_models m JOIN admin_crosswalk x ON x.old_unit_id = m.commune_id
    JOIN admin_units n ON n.id = x.new_unit_id AND n.boundary = 'current' AND n.level = 'commune'
    WHERE m.deleted_at IS NULL GROUP BY n.code ORDER BY count(*) DESC, n.code"""


def create_workers(settings: Settings, names: list[str]) -> list[tuple[str, str, str]]:
    """Extension workers (name, token, commune), round-robin over the communes with models."""
    from sqlalchemy import text

    from spatial.accounts import create_user, issue_token
    from spatial.db import transaction

    out = []
    with transaction(settings) as s:
        communes = s.execute(text(COMMUNES_WITH_MODELS)).scalars().all()
        if not communes:
            raise SystemExit("the database has no livelihood models")
        for i, name in enumerate(names):
            commune = communes[i % len(communes)]
            user = create_user(s, name, "extension_worker", areas=[commune])
            out.append((name, issue_token(s, user), commune))
    return out


class Gunicorn:
    """The real app under gunicorn on 127.0.0.1, on a port the kernel picks; stopped with SIGTERM."""

    def __init__(self, settings: Settings, workers: int, threads: int, log_path: Path):
        self.settings, self.workers, self.threads, self.log_path = settings, workers, threads, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, wait: float = 60.0) -> str:
        env = dict(os.environ)
        if self.settings.database_url:
            env["SINHKE_DATABASE_URL"] = self.settings.database_url
        else:
            env["SINHKE_DATABASE_NAME"] = self.settings.database_name
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "--worker-class",
                    "gthread",
                    "--env",
                    f"SINHKE_DB_POOL_SIZE={max(self.threads, self.settings.db_pool_size)}",
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                    "--bind",
                    "127.0.0.1:0",
                    "--timeout",
                    "120",
                    "--graceful-timeout",
                    "10",
                    # its own control socket: gunicorn's default in the home directory is the demo's too
                    "--control-socket",
                    str(self.log_path.with_suffix(".ctl")),
                    "webapp:create_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + wait
        while not self.port:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {self.log_path}")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.log_path.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
            else:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{self.port}"
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=10) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        return base
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn does not answer /healthz; see {self.log_path}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        stop_server(self.proc)


def build_database(settings: Settings, households: int, seed: int) -> dict[str, Any]:
    from ingest.demo import DemoOptions, load_demo
    from spatial.cluster import ensure_database
    from spatial.db import dispose_all, session_factory
    from spatial.migrate import upgrade

    dispose_all()
    ensure_database(settings, fresh=True)
    upgrade(settings)
    with session_factory(settings).begin() as session:
        summary = load_demo(session, DemoOptions(households=households, seed=seed))
    return summary.counts


# ----------------------------------------------------------------------------- one run
def run(
    settings: Settings,
    base: str,
    accounts: list[tuple[str, str, str]],
    mode: str,
    visits: int,
    drop: float,
    seed: int,
    first_minute: int,
) -> dict[str, Any]:
    host_port = base.rsplit(":", 1)
    upstream = (host_port[0].removeprefix("http://"), int(host_port[1]))
    version = general_form_version(base, accounts[0][1])
    outboxes: dict[str, list[dict[str, Any]]] = {}
    for i, (name, token, _commune) in enumerate(accounts):
        models = phone_models(base, token)
        if not models:
            raise SystemExit(f"{name} sees no livelihood models")
        outboxes[name] = make_outbox(f"{seed}:{name}", models, version, visits, first_minute + i * visits)
    with connect(settings) as conn:
        before = conn.execute("SELECT count(*) FROM visits").fetchone()[0]

    with DroppingProxy(upstream, drop, seed) as proxy:
        port = proxy.start()
        phones = [(Phone(name, token, "127.0.0.1", port), outboxes[name]) for name, token, _ in accounts]
        cpu0, busy0, self0 = _cpu_times(), loadavg(), resource.getrusage(resource.RUSAGE_SELF)
        wall = run_phones(phones, mode)
        cpu1, self1 = _cpu_times(), resource.getrusage(resource.RUSAGE_SELF)
        proxy_stats = proxy.stats()
    with connect(settings) as conn:
        check = check_database(conn, outboxes)
        after = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    check["table_grew_by"] = after - before
    check["ok"] = check["ok"] and after - before == check["expected"]
    logs = summarise_logs([p.log for p, _ in phones])
    created = proxy_stats["upstream_status"].get("201", 0)
    if mode == "single":  # the server said "created" exactly once per visit
        check["server_201"] = created
        check["ok"] = check["ok"] and created == check["expected"]
    check["ok"] = check["ok"] and logs["failures"] == 0 and logs["dropped_seen"] == proxy_stats["responses_dropped"]
    cores = os.cpu_count() or 1
    return {
        "mode": mode,
        "phones": len(accounts),
        "visits_per_phone": visits,
        "passes": 2,
        "drop_rate": drop,
        "seed": seed,
        "wall_seconds": wall,
        "visits_per_second": check["expected"] / wall,
        "syncs_per_second": 2 * check["expected"] / wall,
        "requests_per_second": logs["requests"] / wall,
        "machine_busy_during": (cpu1[0] - cpu0[0]) / max(cpu1[1] - cpu0[1], 1),
        "loadavg_before": busy0,
        "loadavg_after": loadavg(),
        "bench_process_cpu_seconds": (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime),
        "cores": cores,
        "proxy": proxy_stats,
        "phones_saw": logs,
        "database": check,
    }


def report(result: dict[str, Any]) -> str:
    logs, proxy, db = result["phones_saw"], result["proxy"], result["database"]
    ack = logs["acknowledged"]
    lat, ack_lat = logs["latency_ms"], logs["ack_latency_ms"]
    rows = [
        ("visits stored / expected", f"{db['stored']:,} / {db['expected']:,}"),
        ("duplicate ids / duplicate bodies", f"{db['duplicate_ids']} / {db['duplicate_bodies']}"),
        ("lost / stored with another body / unexpected", f"{db['lost']} / {db['body_differs']} / {db['unexpected']}"),
        ("requests sent (all attempts)", f"{logs['requests']:,}"),
        ("responses dropped by the proxy (phones saw)", f"{proxy['responses_dropped']:,} ({logs['dropped_seen']:,})"),
        ("retries", f"{logs['retries']:,}"),
        ("HTTP status seen by phones", ", ".join(f"{k}: {v:,}" for k, v in logs["http_status"].items())),
        ("visits acknowledged, pass 1 (201 / 200)", f"{ack.get('pass1:201', 0):,} / {ack.get('pass1:200', 0):,}"),
        ("visits acknowledged, pass 2 (201 / 200)", f"{ack.get('pass2:201', 0):,} / {ack.get('pass2:200', 0):,}"),
        ("upstream status (server)", ", ".join(f"{k}: {v:,}" for k, v in proxy["upstream_status"].items())),
        ("wall time", f"{result['wall_seconds']:.1f} s"),
        (
            "throughput",
            f"{result['visits_per_second']:.0f} visits/s stored, {result['syncs_per_second']:.0f} "
            f"visit syncs/s, {result['requests_per_second']:.0f} requests/s",
        ),
        (
            "request latency p50 / p90 / p99 / max",
            " / ".join(f"{lat.get(k, 0):.0f}" for k in ("p50", "p90", "p99", "max")) + " ms",
        ),
        (
            "visit acknowledged after (incl. retries) p50 / p90 / p99 / max",
            " / ".join(f"{ack_lat.get(k, 0):.0f}" for k in ("p50", "p90", "p99", "max")) + " ms",
        ),
        ("all cores busy during the run", f"{result['machine_busy_during']:.0%}"),
        ("CPU of this process (phones + proxy)", f"{result['bench_process_cpu_seconds']:.1f} s"),
        ("invariants", "hold" if db["ok"] else "FAIL"),
    ]
    return table(
        [
            f"{result['mode']}: {result['phones']} phones x {result['visits_per_phone']} visits x 2, "
            f"{result['drop_rate']:.0%} dropped",
            "figure",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phones", type=int, default=50)
    ap.add_argument("--visits", type=int, default=200, help="visits per phone (200)")
    ap.add_argument("--drop", type=float, default=0.10, help="share of responses dropped (0.10)")
    ap.add_argument(
        "--mode",
        choices=("single", "batch", "both"),
        default="single",
        help="POST /api/visits, /api/visits/batch (50 a batch), or one run of each",
    )
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers (one per core)")
    ap.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (4)")
    ap.add_argument("--households", type=int, default=20_000, help="size of the demo (20,000)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument(
        "--quiet-wait", type=float, default=20.0, help="seconds to wait at most for idle cores before each run (20)"
    )
    ap.add_argument("--database", default=DEFAULT_DATABASE)
    args = ap.parse_args(argv)

    settings = bench_settings(args.database)
    modes = ["single", "batch"] if args.mode == "both" else [args.mode]
    say(
        f"bench_sync: {args.phones} phones x {args.visits} visits x 2 passes, {args.drop:.0%} of responses "
        f"dropped, mode {args.mode}; gunicorn {args.workers} workers x {args.threads} threads; database "
        f"{args.database!r} (dropped and recreated)"
    )
    git_at_start = git_info()
    t0 = time.perf_counter()
    counts = build_database(settings, args.households, args.seed)
    accounts = {m: create_workers(settings, [f"bench_{m}_{i:02d}" for i in range(args.phones)]) for m in modes}
    setup_seconds = time.perf_counter() - t0
    say(
        f"  set-up {setup_seconds:.1f} s: demo of {counts.get('households', 0):,} households, "
        f"{counts.get('livelihood models', counts.get('models', '?'))} models; "
        f"{len({c for a in accounts.values() for _, _, c in a})} communes for {args.phones} workers"
    )

    server = Gunicorn(settings, args.workers, args.threads, OUT_DIR / "sync-gunicorn.log")
    results = []
    try:
        base = server.start()
        say(f"  gunicorn at {base}")
        for i, mode in enumerate(modes):
            busy = wait_quiet(args.quiet_wait)
            say(f"  run {mode}: other work kept {busy:.0%} of the cores busy before it")
            result = run(
                settings,
                base,
                accounts[mode],
                mode,
                args.visits,
                args.drop,
                args.seed,
                first_minute=i * args.phones * args.visits,
            )
            result["busy_before"] = busy
            results.append(result)
            say("")
            say(report(result))
            say("")
    finally:
        server.stop()
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    info = machine(settings)
    payload = {
        "benchmark": "sync",
        "git_at_start": git_at_start,
        "machine": info,
        "gunicorn": {
            "workers": args.workers,
            "threads": args.threads,
            "cpu_seconds_all_runs_and_setup": server_cpu.ru_utime + server_cpu.ru_stime,
        },
        "households": args.households,
        "demo_counts": counts,
        "setup_seconds": setup_seconds,
        "communes": sorted({c for a in accounts.values() for _, _, c in a}),
        "runs": results,
        "process_seconds": time.perf_counter() - PROCESS_START,
    }
    path = write_json(f"sync-{args.mode}", payload)
    server_seconds = payload["gunicorn"]["cpu_seconds_all_runs_and_setup"]
    say(
        f"machine: {info['nproc']} cores, {info['cpu']}, PostgreSQL {info['postgresql']}, PostGIS "
        f"{info['postgis']}; gunicorn CPU over set-up and runs {server_seconds:.1f} s"
    )
    say(f"results: {path}")
    ok = all(r["database"]["ok"] for r in results)
    if not ok:
        say("INVARIANTS FAILED: " + "; ".join(json.dumps(r["database"]) for r in results if not r["database"]["ok"]))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
