"""``targets_progress`` (issue #10) on the demo scaled to N households, beside the bare SQL of the same sums.

In its own database ``sinhke_bench_targets`` (built once, reused at the same size and migration head;
``--rebuild`` forces it): the demo with ``--households`` households, ``place_households``,
``classify_households`` and ``area_indicators`` (what the job reads; timed apart, not compared), then
``targets_progress`` through ``jobs.runner.run_job`` (``--repeat`` runs) beside the floor: the bare
GROUP BYs of the same sums through psycopg — participants joining per commune in the targets'
period, works completed per commune, households of functional schemes per commune, the two years of
the poverty rate per commune, and allocated / disbursed per part, area and year — each summed per
run. Goal (issue): the job ≤ 2× the floor.

    .venv/bin/python bench/bench_targets.py [--households 1000000] [--repeat 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_settings, connect, loadavg, say, table, write_json  # noqa: E402
from bench_jobs import setup, time_job  # noqa: E402

DATABASE = "sinhke_bench_targets"

#: the job's sums, each as one bare GROUP BY over the stored placements (2025 boundaries)
FLOOR = {
    "participants": """
        SELECT au.commune_id, count(DISTINCT mp.household_id) FROM model_participants mp
        JOIN asset_units au ON au.asset_kind = 'model' AND au.asset_id = mp.model_id
        WHERE mp.joined_on >= DATE '2021-01-01' AND mp.joined_on <= DATE '2025-12-31' GROUP BY 1""",
    "works": """
        SELECT au.commune_id, count(*) FROM infrastructure_works w
        JOIN asset_units au ON au.asset_kind = 'work' AND au.asset_id = w.id
        WHERE w.status = 'completed' AND w.completion_date >= DATE '2024-01-01' GROUP BY 1""",
    "water": """
        SELECT hu.commune_id, count(DISTINCT wsh.household_id) FROM water_scheme_households wsh
        JOIN water_schemes s ON s.id = wsh.scheme_id AND s.status = 'functional'
        JOIN household_units hu ON hu.household_id = wsh.household_id AND hu.boundary = 'current' GROUP BY 1""",
    "poverty_rate": """
        SELECT unit_id, year, 100.0 * poor / nullif(households, 0) FROM area_indicators
        WHERE boundary = 'current' AND year IN (2024, 2025)""",
    "disbursement": """
        SELECT part_id, unit_id, year, sum(allocated_vnd), sum(disbursed_vnd) FROM allocations GROUP BY 1, 2, 3""",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    settings = bench_settings(DATABASE)
    say(f"targets_progress at {args.households:,} households, load {loadavg()}")
    prep = setup(settings, args.households, args.seed, args.rebuild)
    for job in ("classify_households", "area_indicators"):
        seconds, rows = time_job(settings, job)
        prep[f"{job}_seconds"], prep[f"{job}_rows"] = seconds, rows
        say(f"  {job}: {seconds:.1f} s, {rows:,} rows")
    job_times, rows = [], 0
    floor_times: list[float] = []
    parts: dict[str, list[float]] = {k: [] for k in FLOOR}
    with connect(settings, autocommit=True) as conn:
        for sql in FLOOR.values():  # warm-up
            conn.execute(sql).fetchall()
        for _ in range(args.repeat):
            seconds, rows = time_job(settings, "targets_progress")
            job_times.append(seconds)
            total = 0.0
            for name, sql in FLOOR.items():
                t0 = time.perf_counter()
                conn.execute(sql).fetchall()
                dt = time.perf_counter() - t0
                parts[name].append(dt)
                total += dt
            floor_times.append(total)
            say(f"  targets_progress {seconds:.2f} s ({rows:,} rows); floor {total:.2f} s; load {loadavg()}")
    job, floor = min(job_times), min(floor_times)
    print(
        table(
            ["households", "targets_progress best s", "median s", "floor best s", "ratio", "rows"],
            [
                [
                    f"{args.households:,}",
                    f"{job:.2f}",
                    f"{statistics.median(job_times):.2f}",
                    f"{floor:.2f}",
                    f"{job / floor:.2f}",
                    f"{rows:,}",
                ]
            ],
        )
    )
    print(table(["floor part", "best s"], [[k, f"{min(v):.3f}"] for k, v in parts.items()]))
    write_json(
        "bench_targets",
        {
            "args": vars(args),
            "setup": prep,
            "job_seconds": job_times,
            "floor_seconds": floor_times,
            "floor_parts": parts,
            "ratio_best": job / floor,
            "load": loadavg(),
        },
    )


if __name__ == "__main__":
    main()
