"""OGC API items pages, vector tiles and GDAL reading a collection, each beside its bare-SQL floor.

In database ``sinhke_bench_ogc`` (a demo of ``--households`` is built there when it holds none):

- an items page of 1,000 households through the app (Flask's test client: routing, auth, RLS,
  the query, the response) beside the bare SQL that builds the same page (table owner, no RLS);
- vector tiles at z8/10/12/14 over a sweep of the tiles covering the households, made by the
  app (cache miss) beside a bare ``ST_AsMVT`` of the same rows, each side rendering each tile once
  untimed first (so neither pays the other's cold buffers); a cache hit through the domain
  function and through HTTP;
- /map's first view in headless Chromium after one untimed view;
- GDAL reading the whole households collection from ``sinhke serve`` beside one bare SQL GeoJSON
  of the table: Debian's ``ogr2ogr`` (its default 10 a page only up to 100,000 households, and
  ``PAGE_SIZE=1000``) and the GDAL in pyogrio's wheel with its default options.

    .venv/bin/python bench/bench_ogc.py [--households 20000] [--repeat 20] [--tiles 40]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import morecantile
from sqlalchemy import text
from werkzeug.serving import make_server

from bench._common import OUT_DIR, bench_settings, connect, say, scalar, table, wait_quiet, write_json

PAGE_SQL = """
SELECT (SELECT count(*) FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL) AS matched, json_agg(f) FROM (
  SELECT json_build_object('type', 'Feature', 'id', h.code,
    'geometry', ST_AsGeoJSON(h.geom, 7, 0)::json,
    'properties', json_build_object('code', h.code,
       'commune', (SELECT name FROM admin_units WHERE id = h.commune_id),
       'village', (SELECT name FROM villages WHERE id = h.village_id),
       'members', h.members, 'ethnicity', h.ethnicity)) AS f
  FROM (SELECT id FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL ORDER BY id LIMIT 1000 OFFSET %s) ids
  JOIN households h USING (id) ORDER BY h.id) p
"""
MVT_SQL = """
SELECT ST_AsMVT(t, 'households', 4096, 'geom', 'id') FROM (
  SELECT h.id, h.code, (SELECT name FROM admin_units WHERE id = h.commune_id) AS commune,
    (SELECT name FROM villages WHERE id = h.village_id) AS village, h.members, h.ethnicity,
    ST_AsMVTGeom(ST_Transform(h.geom, 3857), ST_TileEnvelope(%s, %s, %s), 4096, 64, true) AS geom
  FROM households h WHERE h.deleted_at IS NULL AND h.geom IS NOT NULL
    AND ST_Intersects(h.geom, ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326))) t
"""
CELLS_SQL = """
WITH c AS (SELECT floor(ST_X(ST_Transform(geom, 3857)) / %(s)s) AS col,
             floor(ST_Y(ST_Transform(geom, 3857)) / %(s)s) AS row,
             count(*) AS households, sum(members)::int AS members
           FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL
             AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326)) GROUP BY 1, 2)
SELECT ST_AsMVT(t, 'households', 4096, 'geom') FROM (SELECT households, members,
  ST_AsMVTGeom(ST_SetSRID(ST_MakePoint((col + 0.5) * %(s)s, (row + 0.5) * %(s)s), 3857),
               ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom FROM c) t
"""
DENSE_SQL = """
SELECT count(*) FROM (SELECT 1 FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL
  AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)) LIMIT %s) q
"""
WHOLE_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object('type', 'Feature',
  'id', h.code, 'geometry', ST_AsGeoJSON(h.geom, 7, 0)::json, 'properties', json_build_object('code', h.code,
  'commune', (SELECT name FROM admin_units WHERE id = h.commune_id),
  'village', (SELECT name FROM villages WHERE id = h.village_id), 'members', h.members,
  'ethnicity', h.ethnicity))))::text
FROM households h WHERE h.deleted_at IS NULL AND h.geom IS NOT NULL
"""


def ensure_demo(settings: Any, households: int) -> None:
    from spatial import cluster, migrate
    from spatial.db import transaction

    cluster.ensure_database(settings, settings.database_name, fresh=False)
    migrate.upgrade(settings)
    with transaction(settings) as s:
        have = s.scalar(text("SELECT count(*) FROM households"))
    if have:
        say(f"reusing the demo in {settings.database_name} ({have} households)")
        return
    from ingest.demo import DemoOptions, load_demo
    from jobs.runner import run_job

    say(f"building a {households}-household demo in {settings.database_name}")
    with transaction(settings) as s:
        load_demo(s, DemoOptions(households=households, seed=2025), settings=settings)
    for job in (
        "place_households",
        "classify_households",
        "area_indicators",
        "income_change",
        "fallback_risk",
        "model_status",
    ):
        run_job(settings, job)


def admin_token(settings: Any) -> str:
    from spatial.accounts import create_user, issue_token
    from spatial.db import transaction
    from spatial.models import User

    with transaction(settings) as s:
        user = s.query(User).filter_by(name="bench_ogc").one_or_none() or create_user(
            s, "bench_ogc", "admin", password="bench password 1", areas=["20"]
        )
        return issue_token(s, user)


def timed(fn: Any, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _ogr2ogr_version() -> str:
    out = subprocess.run(["ogr2ogr", "--version"], check=True, capture_output=True, text=True).stdout
    return out.split(",")[0].strip()  # "GDAL 3.6.2"


def _pyogrio_read(url: str, token: str) -> tuple[str, float]:
    """The whole households collection read by the GDAL inside pyogrio's wheel, default options, in
    a child process (GDAL reads its HTTP settings from the environment once)."""
    code = (
        "import sys, time, pyogrio; t0 = time.perf_counter(); "
        "n = pyogrio.raw.read_arrow(sys.argv[1], layer='households')[1].num_rows; "
        "print(pyogrio.__gdal_version_string__, n, (time.perf_counter() - t0) * 1000)"
    )
    env = {**os.environ, "GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token}
    cmd = [sys.executable, "-c", code, f"OAPIF:{url}"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    version, _rows, ms = out.stdout.split()
    return f"GDAL {version} (pyogrio), default options", float(ms)


def bare_tile(conn: Any, z: int, x: int, y: int) -> bool:
    """The bare side of a household tile, the same kind as the app's: cells below the points zoom or
    where the tile is dense (returned), points otherwise."""
    from spatial.vector_tiles import CELLS_PER_TILE, HOUSEHOLD_POINTS_MIN_ZOOM, MAX_HOUSEHOLD_POINTS, WEB_MERCATOR_WIDTH

    dense = z >= HOUSEHOLD_POINTS_MIN_ZOOM and scalar(conn, DENSE_SQL, (z, x, y, MAX_HOUSEHOLD_POINTS + 1)) > (
        MAX_HOUSEHOLD_POINTS
    )
    if z < HOUSEHOLD_POINTS_MIN_ZOOM or dense:
        size = WEB_MERCATOR_WIDTH / 2**z / CELLS_PER_TILE
        conn.execute(CELLS_SQL, {"s": size, "z": z, "x": x, "y": y}).fetchone()
    else:
        conn.execute(MVT_SQL, (z, x, y, z, x, y)).fetchone()
    return bool(dense)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--tiles", type=int, default=40, help="tiles in each zoom's sweep (at most)")
    ap.add_argument("--database", default="sinhke_bench_ogc")
    ap.add_argument("--quiet-wait", type=float, default=20)
    ap.add_argument("--skip-gdal", action="store_true", help="leave out GDAL reading the collection (minutes)")
    ap.add_argument("--skip-browser", action="store_true", help="leave out /map's first view in Chromium")
    ap.add_argument("--repeat-browser", type=int, default=5, help="cold first views of /map")
    args = ap.parse_args()
    settings = bench_settings(args.database)
    ensure_demo(settings, args.households)
    token = admin_token(settings)

    from spatial.accounts import SYSTEM, apply_scope
    from spatial.db import session_factory, without_jit
    from spatial.vector_tiles import (
        HOUSEHOLD_POINTS_MIN_ZOOM,
        TileRequest,
        render_tile,
        tile,
    )
    from webapp import create_app

    app = create_app(settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    conn = connect(settings, autocommit=True)
    conn.execute("SET jit = off")
    n = scalar(conn, "SELECT count(*) FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL")
    results: dict[str, Any] = {"households": n}
    rows = []

    # -- items page of 1,000
    wait_quiet(args.quiet_wait)
    offsets = [random.Random(i).randrange(0, max(1, n - 1000)) for i in range(args.repeat + 1)]
    it = iter(offsets * 2)
    app_page = timed(
        lambda: client.get(f"/ogc/collections/households/items?limit=1000&offset={next(it)}").data, args.repeat
    )
    it2 = iter(offsets * 2)
    bare_page = timed(lambda: conn.execute(PAGE_SQL, (next(it2),)).fetchall(), args.repeat)
    results["items_page"] = {"app": _stats(app_page), "bare": _stats(bare_page)}
    rows.append(["items page of 1,000 (p50 / p95 ms)", *_pair(app_page, bare_page)])

    # -- tiles
    tms = morecantile.tms.get("WebMercatorQuad")
    bbox: Any = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM households) q"
    ).fetchone()
    session = session_factory(settings)()
    without_jit(session)
    apply_scope(session, SYSTEM)
    results["tiles"] = {}
    for z in (8, 10, 12, 14):
        sweep = list(tms.tiles(bbox[0], bbox[1], bbox[2], bbox[3], [z]))
        random.Random(z).shuffle(sweep)
        sweep = sweep[: args.tiles]
        wait_quiet(args.quiet_wait)
        app_times, bare_times, sizes = [], [], []
        dense_tiles = 0
        for t in sweep:
            req = TileRequest("households", z, t.x, t.y)
            # each side once untimed first: the side timed first would otherwise read the tile's
            # pages from disk and leave them in shared buffers for the other
            render_tile(session, req)
            bare_tile(conn, z, t.x, t.y)
            t0 = time.perf_counter()
            body = render_tile(session, req)
            app_times.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(body))
            t0 = time.perf_counter()
            dense_tiles += int(bare_tile(conn, z, t.x, t.y))
            bare_times.append((time.perf_counter() - t0) * 1000)
        results["tiles"][z] = {
            "app": _stats(app_times),
            "bare": _stats(bare_times),
            "max_bytes": max(sizes),
            "tiles": len(sweep),
            "dense_tiles": dense_tiles,
        }
        label = "cells" if z < HOUSEHOLD_POINTS_MIN_ZOOM else f"points; {dense_tiles} dense, in cells"
        rows.append(
            [
                f"household tile z{z} ({label}, {len(sweep)} tiles, max {max(sizes) // 1024} kB)",
                *_pair(app_times, bare_times),
            ]
        )
    session.rollback()

    # -- cache hits
    session = session_factory(settings)()
    apply_scope(session, SYSTEM)
    t = tms.tile((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 12)
    req = TileRequest("households", 12, t.x, t.y)
    tile(session, req)
    session.commit()
    apply_scope(session, SYSTEM)
    hit_domain = timed(lambda: tile(session, req), args.repeat * 5)
    session.rollback()
    path = f"/tiles/households/12/{t.x}/{t.y}.pbf"
    client.get(path)
    hit_http = timed(lambda: client.get(path).data, args.repeat * 5)
    etag = client.get(path).headers["ETag"]
    not_modified = timed(lambda: client.get(path, headers={"If-None-Match": etag}).status_code, args.repeat * 5)
    results["cache_hit"] = {"domain": _stats(hit_domain), "http": _stats(hit_http), "http_304": _stats(not_modified)}
    rows.append(["tile cache hit: domain function / HTTP 200 (p50 / p95 ms)", *_pair(hit_domain, hit_http)])
    rows.append(["tile revalidation, HTTP 304 (p50 / p95 ms)", _p(not_modified), ""])

    # -- /map's first view in headless Chromium: time to the first rendered data, bytes moved
    if not args.skip_browser:
        wait_quiet(args.quiet_wait)
        results["map_first_view"] = map_first_view(app, args.repeat_browser, settings)
        first = results["map_first_view"]
        rows.append(
            [
                f"/map first view (gunicorn, cold cache): to data rendered, p50 / max ms, {first['runs']} runs",
                f"{first['ms']['p50']:.0f} / {first['ms']['max']:.0f}",
                "",
            ]
        )
        rows.append(["/map first view: bytes transferred (max, MB)", f"{first['max_bytes'] / 1e6:.2f}", ""])

    # -- GDAL reading the collection: the system's ogr2ogr (Debian's GDAL) and the GDAL inside
    # pyogrio's wheel (a current release: it reads the page size /ogc/api advertises, up to 1,000)
    if shutil.which("ogr2ogr") and not args.skip_gdal:
        from bench.bench_serving import Server

        served = Server(settings, None, None, OUT_DIR / "ogc-gdal-serve.log")
        served.start()
        url = f"{served.base}/ogc"
        env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}
        wait_quiet(args.quiet_wait)
        runs: dict[str, float] = {}
        try:
            with tempfile.TemporaryDirectory() as tmp:
                options = (("default options (limit=10)", []), ("-oo PAGE_SIZE=1000", ["-oo", "PAGE_SIZE=1000"]))
                if n > 100_000:  # 10 a page: over 10,000 requests, hours at a million
                    say("  ogr2ogr with its default options left out: it asks for 10 features a page")
                    options = options[1:]
                for label, opts in options:
                    t0 = time.perf_counter()
                    subprocess.run(
                        ["ogr2ogr", "-f", "GPKG", f"{tmp}/{len(runs)}.gpkg", f"OAPIF:{url}", "households", *opts],
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    runs[f"{_ogr2ogr_version()}, {label}"] = (time.perf_counter() - t0) * 1000
            label, ms = _pyogrio_read(url, token)
            runs[label] = ms
        finally:
            served.stop()
        whole = timed(lambda: conn.execute(WHOLE_SQL).fetchone(), 3)
        results["gdal"] = {**runs, "bare_geojson": _stats(whole)}
        for label, ms in runs.items():
            rows.append([f"the households collection read by {label} (ms)", f"{ms:.0f}", f"{_stats(whole)['p50']:.0f}"])
    print(table(["measure", "app", "bare SQL"], rows))
    write_json("bench_ogc", results)


def map_first_view(app: Any, runs: int, settings: Any) -> dict[str, Any]:
    """Open /map signed in, each time in a fresh browser context (nothing cached), and time the
    navigation to the page saying its data is rendered (body[data-map-ready] = 1), after one
    untimed view (the server's tile cache is then warm, as a running server's is), served by
    ``sinhke serve`` (gunicorn, as the product is); then once more through Werkzeug with a WSGI
    counter of the bytes of every response as sent (compressed)."""
    from bench.bench_serving import Server

    served = Server(settings, None, None, OUT_DIR / "ogc-serve.log")
    served.start()
    try:
        times, _ = _first_views(served.base, runs, None)
    finally:
        served.stop()
    counter = _ByteCounter(app)
    server = make_server("127.0.0.1", 0, counter, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        werkzeug_times, sizes = _first_views(f"http://127.0.0.1:{server.server_port}", 1, counter)
    finally:
        server.shutdown()
    return {
        "runs": runs,
        "server": "sinhke serve (gunicorn)",
        "ms": _stats(times),
        "werkzeug_ms": werkzeug_times,
        "bytes": sizes,
        "max_bytes": max(sizes),
    }


def _first_views(base: str, runs: int, counter: _ByteCounter | None) -> tuple[list[float], list[int]]:
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    sizes: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        # signed in once; each run is a fresh context holding only the session cookie (signing in
        # lands on /map, which would fill the cache the run is meant to find empty)
        login = browser.new_context()
        page = login.new_page()
        page.goto(f"{base}/login?next=/account")
        page.fill("#username", "bench_ogc")
        page.fill("#password", "bench password 1")
        page.click("form.stack-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        cookies = login.cookies()
        login.close()
        # one untimed view first: a server's and a browser's first page (workers importing modules
        # and opening connections, the browser compiling its shaders) is not what a user meets
        for run in range(runs + 1):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.add_cookies(cookies)
            page = context.new_page()
            if counter is not None:
                counter.sent = 0
            t0 = time.perf_counter()
            page.goto(f"{base}/map?lang=vi")
            page.wait_for_function("() => document.body.dataset.mapReady === '1'", timeout=120_000)
            if run > 0:
                times.append((time.perf_counter() - t0) * 1000)
                if counter is not None:
                    sizes.append(counter.sent)
            context.close()
        browser.close()
    return times, sizes


class _ByteCounter:
    """WSGI middleware counting the bytes of every response as sent (after compression, headers
    included): what a browser receives, worker requests and all (a browser's own counters miss
    MapLibre's tile requests from its web workers)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent = 0
        self.lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        def counting_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self._add(len(status) + sum(len(k) + len(v) + 4 for k, v in headers) + 12)
            return start_response(status, headers, exc_info)

        for chunk in self.app(environ, counting_start):
            self._add(len(chunk))
            yield chunk

    def _add(self, n: int) -> None:
        with self.lock:
            self.sent += n


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "runs": len(ordered),
        "min": ordered[0],
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def _p(times: list[float]) -> str:
    s = _stats(times)
    return f"{s['p50']:.1f} / {s['p95']:.1f}"


def _pair(app: list[float], bare: list[float]) -> list[str]:
    return [_p(app), _p(bare)]


if __name__ == "__main__":
    main()
