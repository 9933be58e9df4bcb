"""The whole ``evaluate_models`` job on 1,000,000 households × 5 rounds, beside the reference.

What it does (in the database ``sinhke_bench_eval``; never ``sinhke``/``sinhke_test``):

1. set-up, timed apart: build the Lạng Sơn demo with ``--households`` households (default
   1,000,000, so 5,000,000 household-rounds), or reuse one of that size at the migration
   head; ``VACUUM ANALYZE``; ``place_households`` (the job reads each household's commune).
2. each measurement in its own process, so that peak RSS is its own:

   - ``job``: ``evaluate_models`` through ``jobs.runner.run_job``, as the scheduler runs it:
     read the panel from PostGIS, estimate for every model type (and any model), for the
     province and each 2025 commune, works by distance band and water schemes, TWFE beside,
     and write the rows;
   - ``panel``: only the job's panel read (``jobs.evaluate.load_panel``), the part that is
     database and Python rather than estimation;
   - ``ours`` / ``reference``: the same panel (read untimed), then for the province and each
     model type (and any model) the estimator on exactly the rows the job uses: ours
     (``jobs.did.estimate``) or moderndid's ``att_gt`` + ``aggte`` (a port of R's did,
     analytic standard errors, ``boot=False``) called directly. Their overall ATTs and SEs
     are compared with each other and with what the job stored.

Usage: .venv/bin/python bench/bench_evaluate.py [--households 1000000] [--rebuild] [--skip-reference]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import connect, git_info, machine, say, table, write_json  # noqa: E402
from bench_jobs import setup  # noqa: E402

DATABASE = "sinhke_bench_eval"

CHILD = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, sys.argv[3])
from _common import bench_settings
which, database = sys.argv[1], sys.argv[2]
settings = bench_settings(database)
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"which": which}
if which == "job":
    from jobs.runner import run_job
    start = time.perf_counter()
    res = run_job(settings, "evaluate_models")
    out.update(seconds=time.perf_counter() - start, status=res.status, rows=res.rows_affected)
else:
    from spatial.db import session_factory
    from jobs.evaluate import ALL, EvaluationSettings, load_panel, model_treatment
    from spatial.models import MODEL_TYPES
    cfg = EvaluationSettings()
    start = time.perf_counter()
    with session_factory(settings)() as session:
        panel = load_panel(session, cfg)
    out.update(panel_seconds=time.perf_counter() - start, panel_rows=int(panel.hh.size),
               households=int(panel.households.size), rss_panel_mib=rss())
    if which != "panel":
        province = int(panel.province[0])
        estimates, seconds = {}, 0.0
        for model_type in (ALL, *MODEL_TYPES):
            keep, group = model_treatment(panel, model_type)
            keep &= panel.province == province
            hh, t, g, y = panel.hh[keep], panel.year[keep], group[keep], panel.income[keep]
            t0 = time.perf_counter()
            if which == "ours":
                from jobs.did import estimate
                r = estimate(hh, t, g, y, control=cfg.control)
                att, se = r.overall.att, r.overall.se
            else:
                import moderndid, polars as pl
                df = pl.DataFrame({"id": hh, "t": t, "g": g, "y": y})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = moderndid.att_gt(data=df, yname="y", tname="t", idname="id", gname="g",
                                           est_method="reg", boot=False, cband=False,
                                           control_group="nevertreated" if cfg.control == "never" else "notyettreated")
                    agg = moderndid.aggte(res, type="group", boot=False, cband=False)
                    for kind in ("simple", "dynamic"):
                        moderndid.aggte(res, type=kind, boot=False, cband=False)
                att, se = float(agg.overall_att), float(agg.overall_se)
            seconds += time.perf_counter() - t0
            estimates[model_type] = {"att": att, "se": se, "units": int(len(set(hh.tolist())))}
        out.update(seconds=seconds, estimates=estimates)
out["peak_rss_mib"] = rss()
print(json.dumps(out))
"""


def child(which: str) -> dict[str, Any]:
    say(f"  {which} ...")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, which, DATABASE, str(Path(__file__).resolve().parent)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{which} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    say(f"  {which}: {json.dumps({k: v for k, v in result.items() if k != 'estimates'})}")
    return result


def stored_estimates(settings) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    with connect(settings, autocommit=True) as conn:
        rows = conn.execute("""
            SELECT e.model_type, e.att, e.se FROM model_evaluations e JOIN admin_units u ON u.id = e.unit_id
            WHERE u.level = 'province' AND e.estimator = 'cs_did' AND e.status = 'ok'""").fetchall()
    return {m: {"att": a, "se": s} for m, a, s in rows}


def main() -> None:
    from _common import bench_settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--skip-reference", action="store_true")
    args = ap.parse_args()
    settings = bench_settings(DATABASE)
    result: dict[str, Any] = {"households": args.households, "git": git_info()}
    say(f"set-up ({args.households:,} households) ...")
    result["setup"] = setup(settings, args.households, args.seed, args.rebuild)
    result["machine"] = machine(settings)
    runs = [child("job"), child("panel"), child("ours")]
    if not args.skip_reference:
        runs.append(child("reference"))
    result["runs"] = runs
    stored = stored_estimates(settings)
    result["stored"] = stored
    path = write_json(f"evaluate-{args.households}", result)

    job, panel = runs[0], runs[1]
    print(f"\npanel: {panel['panel_rows']:,} household-rounds of {panel['households']:,} households")
    print(
        table(
            ["what", "seconds", "peak RSS MiB"],
            [
                [
                    "evaluate_models job (run_job: read, estimate everything, write)",
                    f"{job['seconds']:.1f}",
                    f"{job['peak_rss_mib']:,.0f}",
                ],
                [
                    "  of which the panel read (load_panel)",
                    f"{panel['panel_seconds']:.1f}",
                    f"{panel['peak_rss_mib']:,.0f}",
                ],
                *[
                    [
                        f"province, all + 4 model types: {r['which']}",
                        f"{r['seconds']:.1f}",
                        f"{r['peak_rss_mib']:,.0f} ({r['rss_panel_mib']:,.0f} after the panel read)",
                    ]
                    for r in runs[2:]
                ],
            ],
        )
    )
    print()
    headers = ["model type", "job ATT (SE)", *[f"{r['which']} ATT (SE)" for r in runs[2:]]]
    rows = []
    for model_type in runs[2]["estimates"]:
        cells = [model_type, "{att:,.1f} ({se:,.2f})".format(**stored[model_type]) if model_type in stored else "—"]
        cells += ["{att:,.1f} ({se:,.2f})".format(**r["estimates"][model_type]) for r in runs[2:]]
        rows.append(cells)
    print(table(headers, rows))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
