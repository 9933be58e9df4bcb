"""Time the jobs on 1,000,000 household-years beside a bare SQL GROUP BY (the floor).

What it does, in order (in the database ``sinhke_bench``; never ``sinhke``/``sinhke_test``):

1. set-up, timed apart and not part of the comparison: build the demo with ``--households``
   households (default 200,000 = 1,000,000 household-years over 5 rounds), or reuse it when
   the database already holds a demo of that size at the current migration head;
   ``VACUUM ANALYZE``; then ``place_households`` from an empty ``household_units``
   (every household placed once per boundary version).
2. ``classify_households`` through ``jobs.runner.run_job``: the first run on an empty
   ``poverty_classifications`` (1M inserts), then repeat runs (an upsert in which no row
   changes). ``VACUUM ANALYZE`` after the first run and after the repeats, as autovacuum
   would do between nightly runs.
3. the floor and its variants, bare SQL through psycopg (one warm-up, then timed runs),
   under PostgreSQL's default parallel plan and serially (max_parallel_workers_per_gather=0):
   the GROUP BY over stored commune keys on both boundary versions (the floor), on one
   boundary version, the GROUP BY on classifications alone (no join), the floor plus mean
   and median income (what the job adds), and the naive alternative the issue warns about:
   an ``ST_Contains`` join of household points to commune polygons in every query, as
   the planner runs it (it tests the 200,000 household points, then joins the rounds) and
   with one point test per household-year (1M tests; serial, run once).
4. ``area_indicators`` through ``run_job`` (``--job-runs`` times).
   The floor and the naive query once more under the parallel plan with ``jit = off``.
5. ``EXPLAIN (ANALYZE, BUFFERS)`` of the floor, the naive join and both jobs' statements
   (the jobs' inside a rolled-back transaction), saved under bench/out/explain/.

Before every timed step it waits (up to ``--quiet-wait`` s) until other processes leave
the cores idle, and records how busy they were. Results: bench/out/jobs-<N>-<time>.json
and a Markdown table on stdout. Ratios are best-of-runs over the floor's best-of-runs.

    .venv/bin/python bench/bench_jobs.py [--households 200000] [--rebuild] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_DATABASE,
    OUT_DIR,
    bench_settings,
    connect,
    git_info,
    loadavg,
    machine,
    peak_rss_mib,
    say,
    scalar,
    summarise,
    table,
    wait_quiet,
    write_json,
)
from sqlalchemy import text  # noqa: E402

from ingest.demo import YEARS, DemoOptions, load_demo  # noqa: E402
from jobs.runner import run_job  # noqa: E402
from spatial.cluster import ensure_database  # noqa: E402
from spatial.db import dispose_all, engine_for, session_factory  # noqa: E402
from spatial.migrate import current_revision, heads, upgrade  # noqa: E402
from spatial.settings import Settings  # noqa: E402

_COUNTS = """count(*),
       count(*) FILTER (WHERE pc.status = 'poor'),
       count(*) FILTER (WHERE pc.status = 'near_poor')"""
_ROUNDS = """FROM survey_rounds r
JOIN poverty_classifications pc ON pc.survey_round_id = r.id"""

#: name -> (description, SQL). "floor_both" is the floor: the job's counts over stored
#: commune keys on both boundary versions (two placements per household-year).
QUERIES: dict[str, tuple[str, str]] = {
    "floor_both": (
        "floor: GROUP BY stored commune keys, both boundary versions",
        "SELECT hu.boundary, r.year, hu.commune_id, "
        + _COUNTS
        + "\n"
        + _ROUNDS
        + """
JOIN household_units hu ON hu.household_id = r.household_id
GROUP BY 1, 2, 3""",
    ),
    "floor_one": (
        "floor on one boundary version (legacy)",
        "SELECT hu.boundary, r.year, hu.commune_id, "
        + _COUNTS
        + "\n"
        + _ROUNDS
        + """
JOIN household_units hu ON hu.household_id = r.household_id
WHERE hu.boundary = 'legacy'
GROUP BY 1, 2, 3""",
    ),
    "no_join": (
        "GROUP BY on classifications alone (no join)",
        """SELECT pc.area_type, pc.status, count(*)
FROM poverty_classifications pc
GROUP BY 1, 2""",
    ),
    "floor_income": (
        "floor + mean and median income, both boundary versions",
        "SELECT hu.boundary, r.year, hu.commune_id, "
        + _COUNTS
        + """,
       avg(r.income_per_person_month),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.income_per_person_month)
"""
        + _ROUNDS
        + """
JOIN household_units hu ON hu.household_id = r.household_id
GROUP BY 1, 2, 3""",
    ),
    "naive_one": (
        "naive: ST_Contains(commune, point) in the query, one boundary version",
        "SELECT c.boundary, r.year, c.id, "
        + _COUNTS
        + "\n"
        + _ROUNDS
        + """
JOIN households h ON h.id = r.household_id
JOIN admin_units c ON c.level = 'commune' AND c.boundary = 'legacy'
                  AND ST_Contains(c.geom, h.geom)
GROUP BY 1, 2, 3""",
    ),
    "naive_both": (
        "naive: ST_Contains(commune, point) in the query, both boundary versions",
        "SELECT c.boundary, r.year, c.id, "
        + _COUNTS
        + "\n"
        + _ROUNDS
        + """
JOIN households h ON h.id = r.household_id
JOIN admin_units c ON c.level = 'commune' AND ST_Contains(c.geom, h.geom)
GROUP BY 1, 2, 3""",
    ),
    "naive_per_row": (
        "naive, one ST_Contains test per household-year (1M), one boundary version",
        """WITH hy AS MATERIALIZED (
  SELECT r.year, pc.status, h.geom
  FROM survey_rounds r
  JOIN poverty_classifications pc ON pc.survey_round_id = r.id
  JOIN households h ON h.id = r.household_id)
SELECT c.boundary, hy.year, c.id, count(*),
       count(*) FILTER (WHERE hy.status = 'poor'),
       count(*) FILTER (WHERE hy.status = 'near_poor')
FROM hy
JOIN admin_units c ON c.level = 'commune' AND c.boundary = 'legacy'
                  AND ST_Contains(c.geom, hy.geom)
GROUP BY 1, 2, 3""",
    ),
}
NAIVE = ("naive_one", "naive_both", "naive_per_row")
#: slow queries run once, without a warm-up (their inputs are warm from the floor's runs),
#: and serially only: a MATERIALIZED CTE is never scanned in parallel
SLOW = ("naive_per_row",)
#: max_parallel_workers_per_gather per mode (None: the server's default, 2 here)
MODES: dict[str, int | None] = {"parallel": None, "serial": 0}
#: JIT's share: these queries again under the parallel plan with SET jit = off
JIT_OFF = ("floor_both", "naive_one")


# ---------------------------------------------------------------------------- set-up
def demo_size(settings: Settings) -> int | None:
    """Households of the loaded demo (rounds of its first year); None if absent or outdated."""
    try:
        with connect(settings, autocommit=True) as conn:
            if scalar(conn, "SELECT to_regclass('survey_rounds')") is None:
                return None
            n = scalar(conn, "SELECT count(*) FROM survey_rounds WHERE year = %s", (YEARS[0],))
    except Exception:  # noqa: BLE001 - no database yet
        return None
    if current_revision(engine_for(settings)) not in heads(settings):
        return None
    return int(n) or None


def vacuum(settings: Settings, *tables: str) -> float:
    t0 = time.perf_counter()
    with connect(settings, autocommit=True) as conn:
        for t in tables or ("",):
            conn.execute(f"VACUUM (ANALYZE) {t}")
    return time.perf_counter() - t0


def setup(settings: Settings, households: int, seed: int, rebuild: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    have = None if rebuild else demo_size(settings)
    if have == households:
        say(f"  reusing the demo with {households:,} households")
        out["demo"] = "reused"
    else:
        say(f"  building the demo with {households:,} households (seed {seed}) ...")
        dispose_all()
        t0 = time.perf_counter()
        ensure_database(settings, fresh=True)
        upgrade(settings)
        out["create_migrate_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with session_factory(settings).begin() as s:
            load_demo(s, DemoOptions(households=households, seed=seed), progress=lambda m: say("    " + m))
        out["demo"] = "built"
        out["demo_load_seconds"] = time.perf_counter() - t0
        say(f"  demo loaded in {out['demo_load_seconds']:.1f} s")
    out["vacuum_after_load_seconds"] = vacuum(settings)
    with connect(settings, autocommit=True) as conn:
        conn.execute("TRUNCATE household_units, poverty_classifications, area_indicators")
    out["place_households_seconds"], out["place_households_rows"] = time_job(settings, "place_households")
    say(f"  place_households: {out['place_households_seconds']:.2f} s, {out['place_households_rows']:,} rows")
    out["vacuum_after_place_seconds"] = vacuum(settings, "household_units")
    out["peak_rss_mib_after_setup"] = peak_rss_mib()
    return out


# ---------------------------------------------------------------------------- timing
def time_job(settings: Settings, name: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    res = run_job(settings, name)
    dt = time.perf_counter() - t0
    if res.status != "succeeded":
        raise SystemExit(f"job {name} {res.status}: {res.error or res.reason}")
    return dt, int(res.rows_affected or 0)


def job_runs(settings: Settings, name: str, runs: int, quiet_wait: float, label: str) -> dict[str, Any]:
    times, rows, busy = [], [], []
    for _ in range(runs):
        busy.append(wait_quiet(quiet_wait))
        t, n = time_job(settings, name)
        times.append(t)
        rows.append(n)
        say(f"  {label}: {t:.2f} s, {n:,} rows (others kept {busy[-1]:.0%} of the CPU busy)")
    return {"times": times, "rows_affected": rows, "busy_before": busy, **summarise(times)}


def time_query(
    settings: Settings,
    sql: str,
    runs: int,
    workers: int | None,
    quiet_wait: float,
    warm_up: bool = True,
    jit: bool = True,
) -> dict[str, Any]:
    with connect(settings, autocommit=True) as conn:
        if workers is not None:
            conn.execute(f"SET max_parallel_workers_per_gather = {int(workers)}")
        if not jit:
            conn.execute("SET jit = off")
        warm, nrows = None, 0
        if warm_up:
            t0 = time.perf_counter()
            nrows = len(conn.execute(sql).fetchall())
            warm = time.perf_counter() - t0
        times, busy = [], []
        for _ in range(runs):
            busy.append(wait_quiet(quiet_wait))
            t0 = time.perf_counter()
            nrows = len(conn.execute(sql).fetchall())
            times.append(time.perf_counter() - t0)
    return {"warmup": warm, "result_rows": nrows, "times": times, "busy_before": busy, **summarise(times)}


def explain(
    settings: Settings,
    label: str,
    sql: str,
    workers: int | None = None,
    params: dict[str, Any] | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) in a rolled-back transaction, saved to bench/out/explain/."""
    with session_factory(settings)() as s:
        if workers is not None:
            s.execute(text(f"SET LOCAL max_parallel_workers_per_gather = {int(workers)}"))
        if before:
            s.execute(text(before))
        res = s.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params or {})
        plan = "\n".join(r[0] for r in res)
        s.rollback()
    d = OUT_DIR / "explain"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{label}.txt"
    path.write_text(sql.strip() + "\n\n" + plan + "\n", encoding="utf-8")
    m = re.search(r"Execution Time: ([\d.]+) ms", plan)
    jit = re.search(r"Timing: Generation .* Total ([\d.]+) ms", plan)
    return {
        "execution_ms": float(m.group(1)) if m else None,
        "jit_ms": float(jit.group(1)) if jit else 0.0,
        "workers_launched": sum(int(x) for x in re.findall(r"Workers Launched: (\d+)", plan)),
        "external_sorts": len(re.findall(r"Sort Method: external", plan)),
        "file": str(path),
    }


def classify_statement(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The classify job's INSERT for the standard of 2022, as the job builds it."""
    from jobs import classify
    from spatial.models import PovertyStandard

    with session_factory(settings)() as s:
        std = (
            s.query(PovertyStandard).filter(PovertyStandard.first_year <= 2022, PovertyStandard.last_year >= 2022).one()
        )
        sql = classify._CLASSIFY.format(deprivation_sum=classify.deprivation_sum(list(std.indicators)))
        params = {
            "standard_id": std.id,
            "min_deprivations": std.min_deprivations,
            "first_year": std.first_year,
            "last_year": std.last_year,
        }
    return sql, params


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the demo even if one of this size is loaded")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per bare query (5)")
    ap.add_argument("--naive-repeat", type=int, default=2, help="timed runs per naive query (2)")
    ap.add_argument("--job-runs", type=int, default=3, help="runs of each job (3)")
    ap.add_argument(
        "--quiet-wait", type=float, default=20.0, help="seconds to wait at most for idle cores before each timing (20)"
    )
    ap.add_argument("--no-explain", action="store_true")
    ap.add_argument("--database", default=DEFAULT_DATABASE)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    loads: dict[str, list[float]] = {"start": loadavg()}
    settings = bench_settings(args.database)
    say(f"bench_jobs: {args.households:,} households in database {args.database!r}")
    qw = args.quiet_wait
    result: dict[str, Any] = {
        "benchmark": "jobs",
        "households": args.households,
        "seed": args.seed,
        "git_at_start": git_info(),
    }

    say("1. set-up")
    result["setup"] = setup(settings, args.households, args.seed, args.rebuild)
    with connect(settings, autocommit=True) as conn:
        result["household_years"] = scalar(conn, "SELECT count(*) FROM survey_rounds")
        result["placements"] = scalar(conn, "SELECT count(*) FROM household_units")

    say("2. classify_households")
    loads["classify"] = loadavg()
    jobs: dict[str, Any] = {}
    jobs["classify_first"] = job_runs(settings, "classify_households", 1, qw, "first run (empty table)")
    vacuum(settings, "poverty_classifications")
    jobs["classify_repeat"] = job_runs(
        settings, "classify_households", max(args.job_runs - 1, 1), qw, "repeat run (no change)"
    )
    vacuum(settings, "poverty_classifications")

    say("3. the floor, its variants and the naive ST_Contains join")
    loads["queries"] = loadavg()
    queries: dict[str, Any] = {}
    for mode, workers in MODES.items():
        for name, (desc, sql) in QUERIES.items():
            if name in SLOW and workers is None:
                continue
            runs = 1 if name in SLOW else args.naive_repeat if name in NAIVE else args.repeat
            r = time_query(settings, sql, runs, workers, qw, warm_up=name not in SLOW)
            queries[f"{name}/{mode}"] = {"description": desc, **r}
            say(f"  {name:13s} {mode:8s} best {r['min']:.3f} s, median {r['median']:.3f} s ({r['result_rows']} rows)")
    for name in JIT_OFF:
        desc, sql = QUERIES[name]
        runs = args.naive_repeat if name in NAIVE else args.repeat
        r = time_query(settings, sql, runs, None, qw, jit=False)
        queries[f"{name}/parallel, jit off"] = {"description": desc + "; jit off", **r}
        say(f"  {name:13s} parallel, jit off: best {r['min']:.3f} s, median {r['median']:.3f} s")

    say("4. area_indicators")
    loads["area_indicators"] = loadavg()
    jobs["area_indicators"] = job_runs(settings, "area_indicators", args.job_runs, qw, "run")

    plans: dict[str, Any] = {}
    if not args.no_explain:
        say("5. plans")
        from jobs.area_indicators import _REFRESH

        for mode, workers in MODES.items():
            for name in ("floor_both", "naive_one"):
                plans[f"{name}/{mode}"] = explain(settings, f"{name}-{mode}", QUERIES[name][1], workers)
        plans["area_indicators"] = explain(
            settings, "area_indicators", _REFRESH.text, before="DELETE FROM area_indicators"
        )
        sql, params = classify_statement(settings)
        plans["classify 2022-2025, repeat"] = explain(settings, "classify-2022-repeat", sql, params=params)
        plans["classify 2022-2025, first"] = explain(
            settings, "classify-2022-first", sql, params=params, before="TRUNCATE poverty_classifications"
        )
        for k, v in plans.items():
            say(
                f"  {k}: {v['execution_ms']:.0f} ms, jit {v['jit_ms']:.0f} ms, "
                f"{v['workers_launched']} workers, {v['external_sorts']} external sorts"
            )

    loads["end"] = loadavg()
    result.update(jobs=jobs, queries=queries, plans=plans, loadavg=loads)
    result["machine"] = machine(settings)
    result["peak_rss_mib"] = peak_rss_mib()
    result["wall_seconds"] = time.perf_counter() - started
    path = write_json(f"jobs-{args.households}", result)
    report(result)
    say(f"\nresults: {path}")
    return 0


def report(r: dict[str, Any]) -> None:
    q, j = r["queries"], r["jobs"]
    floor = {mode: q[f"floor_both/{mode}"]["min"] for mode in MODES}
    rows = []
    for label, key, note in (
        ("classify_households, first run", "classify_first", "1M inserts into an empty table"),
        ("classify_households, repeat runs", "classify_repeat", "upsert, no row changes"),
        ("area_indicators", "area_indicators", "3 levels x 2 boundary versions, mean, median"),
    ):
        v = j[key]
        rows.append(
            (label, v["runs"], v["min"], v["median"], v["min"] / floor["parallel"], v["min"] / floor["serial"], note)
        )
    for key, v in q.items():
        rows.append(
            (
                key,
                v["runs"],
                v["min"],
                v["median"],
                v["min"] / floor["parallel"],
                v["min"] / floor["serial"],
                v["description"],
            )
        )
    m = r["machine"]
    say("")
    say(
        f"{r['household_years']:,} household-years, {r['placements']:,} placements; "
        f"{m['nproc']} cores; PostgreSQL {m['postgresql']}, PostGIS {m['postgis']}; "
        f"place_households {r['setup']['place_households_seconds']:.1f} s; "
        f"peak RSS {r['peak_rss_mib']:.0f} MiB"
    )
    say(table(["what", "runs", "best s", "median s", "x floor (parallel)", "x floor (serial)", "note"], rows))


if __name__ == "__main__":
    raise SystemExit(main())
