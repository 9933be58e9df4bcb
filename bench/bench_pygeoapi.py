"""Issue #11's reference: pages of 1,000 households per second through pygeoapi and through /ogc.

pygeoapi 0.21 (the last release for Python 3.11, the one the issue measured) serves the same
``households`` table through its PostgreSQL provider under gunicorn with 2 sync workers, as the
issue ran it; ``sinhke serve`` serves /ogc with its own defaults. Each is loaded by wrk (C, so the
client takes little of the 2 cores) with 4 connections asking items pages of 1,000 at random
offsets, one server after the other, then again in the other order; the bare SQL page is timed
beside them. pygeoapi is installed in its own virtualenv (``var/bench-pygeoapi``, made on the
first run from the package registry), so the project never depends on it.

    .venv/bin/python bench/bench_pygeoapi.py [--households 20000] [--duration 15] [--database sinhke_bench_ogc]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import _common as common
from bench._common import bench_settings, connect, say, table, wait_quiet, write_json
from bench.bench_ogc import PAGE_SQL, _stats, admin_token, ensure_demo
from bench.bench_serving import Server, free_port

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench-pygeoapi"
PYGEOAPI = "pygeoapi==0.21.0"

WRK_SCRIPT = """
math.randomseed(%(seed)d)
local n = %(n)d
request = function()
  local path = string.format("%(path)s?limit=1000&offset=%%d&f=json", math.random(0, n - 1000))
  return wrk.format("GET", path, {["Authorization"] = "%(auth)s", ["Accept"] = "application/geo+json"})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%f %%d %%d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

CONFIG = """
server:
  bind: {host: 127.0.0.1, port: %(port)d}
  url: http://127.0.0.1:%(port)d
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {default_items: 1000, max_items: 10000}
  map: {url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', attribution: OSM}
logging: {level: ERROR}
metadata:
  identification: {title: bench, description: bench, keywords: [bench], keywords_type: theme,
    terms_of_service: 'https://example.org', url: 'https://example.org'}
  license: {name: CC-BY 4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}
  provider: {name: bench, url: 'https://example.org'}
  contact: {name: bench, position: bench, address: x, city: x, stateorprovince: x, postalcode: x,
    country: x, phone: x, fax: x, email: x@example.org, url: 'https://example.org', hours: x,
    instructions: x, role: pointOfContact}
resources:
  households:
    type: collection
    title: households
    description: households
    keywords: [households]
    extents:
      spatial: {bbox: [106, 21, 108, 23], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}
    providers:
      - type: feature
        name: PostgreSQL
        data: {host: '%(host)s', port: %(db_port)s, dbname: '%(dbname)s', user: '%(user)s',
          password: '%(password)s', search_path: [public]}
        id_field: id
        table: households
        geom_field: geom
        properties: [code, members, ethnicity]
"""


def ensure_pygeoapi() -> Path:
    """pygeoapi and gunicorn in their own virtualenv (made once)."""
    gunicorn = VENV / "bin" / "gunicorn"
    if not gunicorn.exists():
        say(f"installing {PYGEOAPI} into {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", PYGEOAPI, "geoalchemy2", "psycopg2-binary", "gunicorn"],
            check=True,
        )
    return VENV / "bin"


class PygeoapiServer:
    """pygeoapi under gunicorn, 2 sync workers, its control socket in a temporary directory."""

    def __init__(self, settings: Any, work: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.work = work
        url = make_url(common.libpq_url(settings))
        config = CONFIG % {
            "port": self.port,
            "host": url.host or "127.0.0.1",
            "db_port": url.port or 5432,
            "dbname": url.database,
            "user": url.username,
            "password": url.password or "",
        }
        (work / "config.yml").write_text(config)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, bin_dir: Path) -> None:
        env = {**os.environ, "PYGEOAPI_CONFIG": str(self.work / "config.yml")}
        env["PYGEOAPI_OPENAPI"] = str(self.work / "openapi.yml")
        subprocess.run(
            [
                str(bin_dir / "pygeoapi"),
                "openapi",
                "generate",
                env["PYGEOAPI_CONFIG"],
                "--output-file",
                env["PYGEOAPI_OPENAPI"],
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        log = (self.work / "gunicorn.log").open("wb")
        cmd = [str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{self.port}", "--control-socket"]
        cmd += [str(self.work / "gunicorn.ctl"), "pygeoapi.flask_app:APP"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/collections/households?f=json", timeout=10) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"pygeoapi does not answer; see {self.work / 'gunicorn.log'}")
            time.sleep(0.3)

    def stop(self) -> None:
        common.stop_server(self.proc)


def wrk(base: str, path: str, auth: str, n: int, seconds: int, seed: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % {"seed": seed, "n": n, "path": path, "auth": auth})
        script = f.name
    out = subprocess.run(
        ["wrk", "-t2", "-c4", f"-d{seconds}s", "--timeout", "30s", "-s", script, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script)
    m = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)", out)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    requests, duration, p50, p95, bad_status, socket_errors = m.groups()
    return {
        "requests": int(requests),
        "pages_per_s": int(requests) / float(duration),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "errors": int(bad_status) + int(socket_errors),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=20000)
    ap.add_argument("--database", default="sinhke_bench_ogc")
    ap.add_argument("--duration", type=int, default=15, help="seconds of load per server and round")
    ap.add_argument("--quiet-wait", type=float, default=20)
    args = ap.parse_args()
    settings = bench_settings(args.database)
    ensure_demo(settings, args.households)
    token = admin_token(settings)
    bin_dir = ensure_pygeoapi()
    conn = connect(settings, autocommit=True)
    conn.execute("SET jit = off")
    n = common.scalar(conn, "SELECT count(*) FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL")

    with tempfile.TemporaryDirectory() as tmp:
        theirs = PygeoapiServer(settings, Path(tmp))
        ours = Server(settings, None, None, ROOT / "bench" / "out" / "pygeoapi-sinhke-gunicorn.log")
        theirs.start(bin_dir)
        ours.start()
        runs: dict[str, list[dict[str, float]]] = {"pygeoapi": [], "sinhke": []}
        try:
            for round_no, order in enumerate((("pygeoapi", "sinhke"), ("sinhke", "pygeoapi"))):
                for name in order:
                    wait_quiet(args.quiet_wait)
                    if name == "pygeoapi":
                        result = wrk(theirs.base, "/collections/households/items", "", n, args.duration, round_no)
                    else:
                        path = "/ogc/collections/households/items"
                        result = wrk(ours.base, path, f"Bearer {token}", n, args.duration, round_no)
                    say(f"{name}: {result}")
                    runs[name].append(result)
        finally:
            ours.stop()
            theirs.stop()
    offsets = [random.Random(i).randrange(0, max(1, n - 1000)) for i in range(21)]
    bare: list[float] = []
    for off in offsets:
        t0 = time.perf_counter()
        conn.execute(PAGE_SQL, (off,)).fetchall()
        bare.append((time.perf_counter() - t0) * 1000)
    bare_stats = _stats(bare[1:])

    def best(name: str) -> dict[str, float]:
        return max(runs[name], key=lambda r: r["pages_per_s"])

    rows = [
        [
            name,
            f"{best(name)['pages_per_s']:.1f}",
            f"{best(name)['p50_ms']:.0f}",
            f"{best(name)['p95_ms']:.0f}",
            str(sum(r["errors"] for r in runs[name])),
        ]
        for name in ("pygeoapi", "sinhke")
    ]
    rows.append(
        [
            "bare SQL page, one connection (sequential)",
            f"{1000 / bare_stats['p50']:.1f}",
            f"{bare_stats['p50']:.0f}",
            f"{bare_stats['p95']:.0f}",
            "",
        ]
    )
    print(table(["server (4 connections, pages of 1,000)", "pages/s (best round)", "p50 ms", "p95 ms", "errors"], rows))
    ratio = best("sinhke")["pages_per_s"] / best("pygeoapi")["pages_per_s"]
    print(f"\nsinhke / pygeoapi pages per second: {ratio:.2f}×  ({n:,} households)")
    write_json("bench_pygeoapi", {"households": n, "runs": runs, "bare_page_ms": bare_stats, "ratio": ratio})


if __name__ == "__main__":
    main()
