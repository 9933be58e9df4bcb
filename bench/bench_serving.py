"""Serving throughput (issue #15, Speed): per-endpoint latency beside its bare SQL, and 20 clients on the map's GETs.

Set-up (timed apart): the database ``sinhke_bench_serving`` gets the demo (20,000
households by default, its rasters included) and every job is run once, through the
CLI as ``make demo`` does; a database that already holds it at the migration head is
reused (``--rebuild`` forces a fresh one). A token is issued to the demo's ``planner``
(scoped to four communes, so row-level security filters every query).

The real app is served by ``sinhke serve`` (gunicorn, its own control socket under
``var/``) on a free loopback port, with the CLI's defaults unless ``--workers`` /
``--threads`` are given. Then:

(a) **latency**, sequentially on one keep-alive connection: ``/api/me``, ``/healthz``,
    ``/api/indicators`` (commune level, the latest year) and ``/api/exposure`` (a
    raster, commune level), each interleaved request by request with its **floor**:
    the statements the endpoint's domain function issues, prepared, through psycopg on
    one connection that runs as the application role scoped to the same user
    (``floor``), and the whole request's statements in one transaction (``floor_request``):
    BEGIN, the token lookup that scopes the transaction (as the app's does now), the
    domain statements, COMMIT. The app sent six round trips more before the throughput work.
(b) **load**: ``wrk`` (Debian's; a Lua script sends the Bearer header and cycles through
    the map page's GETs) with 20 keep-alive connections for ``--duration`` seconds:
    requests/s, p50, p95, p99, errors (non-2xx and socket errors).

Results: bench/out/serving-<time>.json and a Markdown table on stdout.

    .venv/bin/python bench/bench_serving.py [--quick] [--workers W --threads T]
        [--requests 300] [--duration 20] [--connections 20] [--households 20000] [--rebuild]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

from spatial.settings import Settings

DEFAULT_DATABASE = "sinhke_bench_serving"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER = "planner"

#: the map page's GETs (webapp/static/map.js) and the field app's list of due visits
MIXED = (
    "/api/me",
    "/api/indicators?level=commune",
    "/api/layers/livelihood_models?limit=10000",
    "/api/layers/water_schemes?limit=10000",
    "/api/rasters",
    "/healthz",
    "/api/visits/due",
)

WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Accept"] = "application/json"
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format(
    "JSON {\\"requests\\": %%d, \\"seconds\\": %%f, \\"p50\\": %%f, \\"p90\\": %%f, \\"p95\\": %%f, \\"p99\\": %%f, " ..
    "\\"max\\": %%f, \\"mean\\": %%f, \\"status_errors\\": %%d, \\"connect_errors\\": %%d, \\"read_errors\\": %%d, " ..
    "\\"write_errors\\": %%d, \\"timeouts\\": %%d, \\"bytes\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.bytes))
end
"""


# ----------------------------------------------------------------------------- set-up
def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.database_url:
        env["SINHKE_DATABASE_URL"] = settings.database_url
    else:
        env["SINHKE_DATABASE_NAME"] = settings.database_name
    return env


def demo_ready(settings: Settings) -> bool:
    """The database holds the demo at the migration head, with indicators and exposure computed."""
    from spatial.db import engine_for
    from spatial.migrate import current_revision, heads

    try:
        with common.connect(settings, autocommit=True) as conn:
            if common.scalar(conn, "SELECT to_regclass('area_exposure')") is None:
                return False
            if not common.scalar(conn, "SELECT exists(SELECT 1 FROM area_indicators)"):
                return False
            if not common.scalar(conn, "SELECT exists(SELECT 1 FROM area_exposure)"):
                return False
    except Exception:  # noqa: BLE001 - no database yet
        return False
    return current_revision(engine_for(settings)) in heads(settings)


def setup(settings: Settings, households: int, rebuild: bool) -> dict[str, Any]:
    from spatial.cluster import ensure_database

    if not rebuild and demo_ready(settings):
        common.say("  reusing the demo in the bench database")
        return {"demo": "reused"}
    common.say(f"  building the demo ({households:,} households) and running every job ...")
    t0 = time.perf_counter()
    ensure_database(settings, fresh=True)
    env = _env(settings)
    sinhke = str(BIN / "sinhke")
    for args in (["db", "migrate"], ["demo", "--households", str(households)], ["jobs", "run", "all"]):
        subprocess.run([sinhke, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return {"demo": "built", "setup_seconds": time.perf_counter() - t0}


def issue_bench_token(settings: Settings) -> tuple[int, str]:
    from spatial.accounts import get_user, issue_token
    from spatial.db import transaction

    with transaction(settings) as s:
        user = get_user(s, USER)
        return user.id, issue_token(s, user)


# ----------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``sinhke serve`` on a free loopback port; stopped with SIGTERM (by its pid only)."""

    def __init__(self, settings: Settings, workers: int | None, threads: int | None, log_path: Path):
        self.settings, self.workers, self.threads, self.log_path = settings, workers, threads, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [str(BIN / "sinhke"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        if self.threads is not None:
            cmd += ["--threads", str(self.threads)]
        return cmd

    def start(self, wait: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=ROOT, env=_env(self.settings), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + wait
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=10) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server does not answer /healthz; see {self.log_path}")
            time.sleep(0.2)

    def stop(self) -> None:
        common.stop_server(self.proc)


# ----------------------------------------------------------------------------- the floors
#: the statements each endpoint's domain function issues (copied from spatial/…; %s are bound)
#: the token lookup that also scopes the transaction (spatial/accounts.py token_principal)
TOKEN_SQL = """SELECT t.id, t.last_used_at, u.id, u.name, u.role, u.display_name,
  set_config('sinhke.user_id', u.id::text, true),
  set_config('sinhke.scope_all', CASE WHEN u.role = ANY(%s) THEN 'on' ELSE 'off' END, true),
  set_config('sinhke.actor', u.name, true)
  FROM api_tokens t JOIN users u ON u.id = t.user_id
  WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.disabled_at IS NULL"""
SCOPE_SQL = (
    "SELECT set_config('role', %s, false), set_config('sinhke.user_id', %s, false), "
    "set_config('sinhke.scope_all', %s, false), set_config('sinhke.actor', %s, false)"
)
ME_SQL = [
    """SELECT admin_units.code, admin_units.name, admin_units.level FROM admin_units
       JOIN user_areas ON user_areas.unit_id = admin_units.id WHERE user_areas.user_id = %(uid)s
       ORDER BY admin_units.code"""
]
HEALTH_SQL = ["SELECT alembic_version.version_num FROM alembic_version"]
INDICATORS_SQL = [
    """SELECT EXISTS (SELECT area_indicators.year FROM area_indicators WHERE area_indicators.boundary = 'current'
       AND area_indicators.level = 'commune' AND area_indicators.year = %(year)s)""",
    """SELECT admin_units.code, admin_units.name, area_indicators.year,
       round(CAST(100.0 * area_indicators.poor / nullif(area_indicators.households, 0) AS NUMERIC), 2) AS value,
       area_indicators.poor AS numerator, area_indicators.households AS denominator, area_indicators.estimated
       FROM area_indicators JOIN admin_units ON admin_units.id = area_indicators.unit_id
       WHERE area_indicators.boundary = 'current' AND area_indicators.level = 'commune'
         AND area_indicators.year = %(year)s ORDER BY admin_units.code""",
]
EXPOSURE_SQL = [
    """SELECT r.id, r.name, r.hazard, r.unit, r.return_period, r.scenario, r.epoch,
       t.op AS threshold_op, t.value AS threshold_value, t.label AS threshold_label
       FROM rasters r LEFT JOIN LATERAL (
         SELECT op, value, label FROM exposure_thresholds t
         WHERE t.hazard = r.hazard AND (t.return_period = r.return_period OR t.return_period IS NULL)
         ORDER BY t.return_period NULLS LAST LIMIT 1) t ON true
       WHERE r.id = %(raster)s""",
    """SELECT u.code, u.name, a.count, a.mean, a.min, a.max, a.p50, a.p90, a.share_above, a.households,
       a.households_exposed FROM area_exposure a JOIN admin_units u ON u.id = a.unit_id
       WHERE a.raster_id = %(raster)s AND u.level = 'commune' AND u.boundary = 'current' ORDER BY u.code""",
]


class Floor:
    """The endpoint's statements through psycopg, prepared, as the application role scoped to the user."""

    def __init__(self, settings: Settings, uid: int, token: str):
        import hashlib

        self.conn = common.connect(settings, autocommit=True, prepare_threshold=0)
        self.uid, self.digest = uid, hashlib.sha256(token.encode()).hexdigest()
        self.scope = ("sinhke_app", str(uid), "off", USER)
        self.conn.execute(SCOPE_SQL, self.scope)  # for the whole connection

    def domain(self, statements: list[str], params: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            for sql in statements:
                self.conn.execute(sql, params).fetchall()

        return run

    def request(self, statements: list[str], params: dict[str, Any]) -> Callable[[], None]:
        """What the app's request sends: BEGIN, the token lookup that scopes the transaction, the
        statements, COMMIT (on a connection already anonymous as the application role)."""

        def run() -> None:
            with self.conn.transaction():
                self.conn.execute(TOKEN_SQL, (["admin"], self.digest)).fetchall()
                for sql in statements:
                    self.conn.execute(sql, params).fetchall()

        return run

    def close(self) -> None:
        self.conn.close()


# ----------------------------------------------------------------------------- (a) latency
def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def describe(times: list[float]) -> dict[str, float]:
    ms = [t * 1000 for t in times]
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "min": min(ms), "mean": statistics.fmean(ms)}


class Client:
    """One keep-alive HTTP connection with the Bearer header."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path, headers=self.headers)
        with self.conn.getresponse() as r:
            body = r.read()
            if r.status != 200:
                raise SystemExit(f"GET {path}: {r.status} {body[:300]!r}")
            return body


def latency(
    client: Client, floor: Floor, year: int, raster: int, requests: int, warmup: int = 20
) -> list[dict[str, Any]]:
    cases = [
        ("/api/me", ME_SQL, {"uid": floor.uid}),
        ("/healthz", HEALTH_SQL, {}),
        (f"/api/indicators?level=commune&year={year}", INDICATORS_SQL, {"year": year}),
        (f"/api/exposure?raster={raster}&level=commune", EXPOSURE_SQL, {"raster": raster}),
    ]
    out = []
    for path, statements, params in cases:
        runs: dict[str, Callable[[], Any]] = {
            "app": lambda path=path: client.get(path),
            "floor": floor.domain(statements, params),
            "floor_request": floor.request(statements, params),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        load0 = common.loadavg()
        for i in range(warmup + requests):
            for name, fn in runs.items():  # interleaved: the same noise reaches all three
                t0 = time.perf_counter()
                fn()
                if i >= warmup:
                    times[name].append(time.perf_counter() - t0)
        row = {"path": path, "loadavg": load0, "bytes": len(client.get(path))}
        row.update({name: describe(t) for name, t in times.items()})
        row["goal_ms"] = 2.0 if path in ("/api/me", "/healthz") else 2 * row["floor"]["p50"] + 1
        row["met"] = row["app"]["p50"] <= row["goal_ms"]
        out.append(row)
        common.say(
            f"    {path}: app p50 {row['app']['p50']:.2f} ms (p95 {row['app']['p95']:.2f}), floor "
            f"{row['floor']['p50']:.2f} ms, floor_request {row['floor_request']['p50']:.2f} ms; goal "
            f"{row['goal_ms']:.2f} ms {'met' if row['met'] else 'NOT met'}"
        )
    return out


# ----------------------------------------------------------------------------- (b) load
def load(port: int, token: str, connections: int, duration: int, wrk_threads: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    script = WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in MIXED), "token": token}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        load0 = common.loadavg()
        proc = subprocess.run(
            [
                wrk,
                "-t",
                str(wrk_threads),
                "-c",
                str(connections),
                "-d",
                f"{duration}s",
                "--timeout",
                "10s",
                "-s",
                f.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(f.name)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("JSON "))
    result: dict[str, Any] = json.loads(line[5:])
    result["requests_per_second"] = result["requests"] / result["seconds"]
    result["errors"] = sum(
        result[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    result.update(connections=connections, duration=duration, loadavg_before=load0, loadavg_after=common.loadavg())
    result["met"] = result["requests_per_second"] >= 400 and result["p95"] < 100 and result["errors"] == 0
    result["wrk_output"] = proc.stdout
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 requests per endpoint, 8 s of load")
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: sinhke serve's)")
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: sinhke serve's)")
    ap.add_argument("--requests", type=int, default=300, help="timed requests per endpoint (300)")
    ap.add_argument("--duration", type=int, default=20, help="seconds of load (20)")
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--label", default="", help="a name for this run in the output file")
    ap.add_argument("--database", default=DEFAULT_DATABASE)
    args = ap.parse_args(argv)
    if args.quick:
        args.requests, args.duration = min(args.requests, 100), min(args.duration, 8)

    settings = common.bench_settings(args.database)
    common.say(
        f"bench_serving: database {args.database!r}; workers {args.workers or 'default'}, threads "
        f"{args.threads or 'default'}; {args.requests} requests per endpoint, {args.duration} s of load"
    )
    info_setup = setup(settings, args.households, args.rebuild)
    uid, token = issue_bench_token(settings)
    with common.connect(settings, autocommit=True) as conn:
        year = common.scalar(conn, "SELECT max(year) FROM area_indicators")
        raster = common.scalar(conn, "SELECT min(raster_id) FROM area_exposure")

    server = Server(settings, args.workers, args.threads, common.OUT_DIR / "serving-gunicorn.log")
    payload: dict[str, Any] = {
        "benchmark": "serving",
        "label": args.label,
        "git": common.git_info(),
        "setup": info_setup,
        "server_command": server.command()[1:],
        "user": USER,
        "mixed_set": MIXED,
    }
    try:
        server.start()
        common.say(f"  serving at {server.base}: {' '.join(server.command()[1:])}")
        client = Client(server.port, token)
        for path in MIXED:  # warm every worker's caches a little, and check every path answers 200
            client.get(path)
        if not args.skip_latency:
            floor = Floor(settings, uid, token)
            try:
                payload["latency"] = latency(client, floor, int(year), int(raster), args.requests)
            finally:
                floor.close()
        client.conn.close()
        if not args.skip_load:
            payload["load"] = load(server.port, token, args.connections, args.duration, args.wrk_threads)
            ld = payload["load"]
            common.say(
                f"    load: {ld['requests_per_second']:.0f} req/s, p50 {ld['p50']:.1f} ms, p95 {ld['p95']:.1f} ms, "
                f"errors {ld['errors']}; load average before {ld['loadavg_before']}"
            )
    finally:
        server.stop()
    payload["machine"] = common.machine(settings)
    payload["loadavg_end"] = common.loadavg()
    path = common.write_json(f"serving{'-' + args.label if args.label else ''}", payload)
    common.say("")
    common.say(report(payload))
    common.say(f"results: {path}")
    return 0


def report(payload: dict[str, Any]) -> str:
    rows: list[tuple[Any, ...]] = []
    for r in payload.get("latency", []):
        rows.append(
            (
                r["path"],
                f"{r['app']['p50']:.2f} / {r['app']['p95']:.2f}",
                f"{r['floor']['p50']:.2f} / {r['floor']['p95']:.2f}",
                f"{r['floor_request']['p50']:.2f}",
                f"≤ {r['goal_ms']:.2f}",
                "met" if r["met"] else "not met",
                " ".join(f"{x:.2f}" for x in r["loadavg"]),
            )
        )
    if "load" in payload:
        ld = payload["load"]
        rows.append(
            (
                f"{ld['connections']} clients, mixed GETs, {ld['duration']} s",
                f"{ld['requests_per_second']:.0f} req/s; p50 {ld['p50']:.1f}, p95 {ld['p95']:.1f} ms; "
                f"{ld['errors']} errors",
                "",
                "",
                "≥ 400 req/s, p95 < 100 ms",
                "met" if ld["met"] else "not met",
                " ".join(f"{x:.2f}" for x in ld["loadavg_before"]),
            )
        )
    return common.table(
        [
            "endpoint",
            "app p50 / p95 ms",
            "floor p50 / p95 ms",
            "floor_request p50 ms",
            "goal",
            "",
            "load average",
        ],
        rows,
    )


if __name__ == "__main__":
    raise SystemExit(main())
