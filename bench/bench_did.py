"""The staggered DiD estimator on 1,000,000 households × 5 rounds, beside a reference.

Ours (``jobs.did.estimate``, never-treated controls, analytic SEs, all aggregations)
against moderndid's ``att_gt`` + ``aggte`` (a port of R's did, analytic SEs,
``boot=False``) called directly on the same panel. Each runs in its own process so
peak RSS is its own. Usage: .venv/bin/python bench/bench_did.py [--units N] [--skip-reference]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
units, which = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(7)
t = np.tile(np.arange(2021, 2026), units)
uid = np.repeat(np.arange(units), 5)
cohort = rng.choice([0, 2022, 2023, 2024, 2025], size=units, p=[0.4, 0.15, 0.15, 0.15, 0.15])
g = np.repeat(cohort, 5)
base = np.repeat(rng.normal(2_000_000, 400_000, units), 5)
y = base + (t - 2021) * 150_000 + np.where((g > 0) & (t >= g), 200_000.0, 0.0) + rng.normal(0, 150_000, t.size)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
if which == "ours":
    from jobs.did import estimate
    r = estimate(uid, t, g, y, control="never")
    att, se = r.overall.att, r.overall.se
else:
    import moderndid, polars as pl
    df = pl.DataFrame({"id": uid, "t": t, "g": g, "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = moderndid.att_gt(data=df, yname="y", tname="t", idname="id", gname="g",
                               est_method="reg", boot=False, cband=False, control_group="nevertreated")
        agg = moderndid.aggte(out, type="group", boot=False, cband=False)
        for kind in ("simple", "dynamic"):
            moderndid.aggte(out, type=kind, boot=False, cband=False)
    att, se = float(agg.overall_att), float(agg.overall_se)
seconds = time.perf_counter() - start
print(json.dumps({"which": which, "seconds": seconds, "att": att, "se": se,
                  "rss_inputs_mib": rss0,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(units: int, which: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(units), which], capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        raise SystemExit(f"{which} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--skip-reference", action="store_true")
    args = ap.parse_args()
    rows = [run(args.units, "ours")]
    if not args.skip_reference:
        rows.append(run(args.units, "moderndid"))
    print(f"panel: {args.units:,} units x 5 periods, cohorts 2022–2025 and 40 % never treated")
    print("| implementation | seconds | overall ATT | SE | peak RSS MiB (inputs) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['which']} | {r['seconds']:.2f} | {r['att']:,.1f} | {r['se']:,.2f} | "
            f"{r['peak_rss_mib']:,.0f} ({r['rss_inputs_mib']:,.0f}) |"
        )
    if len(rows) == 2:
        print(
            f"same overall ATT: {np.isclose(rows[0]['att'], rows[1]['att'], rtol=1e-9)}, "
            f"same SE: {np.isclose(rows[0]['se'], rows[1]['se'], rtol=1e-6)}"
        )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    from pathlib import Path

    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / f"did-{args.units}-{stamp}.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
