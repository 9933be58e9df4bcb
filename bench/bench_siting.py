"""Siting (issue #10): the exact MCLP end to end beside the bare HiGHS solve of the same model,
the coverage query and greedy, on households and candidates shaped like the demo's.

Demand: N poor / near-poor households (weights 1 / 0.5) clustered around villages over Lạng Sơn's
extent; candidates on a grid; radius 2 km; k = 10 and 40. End to end is coverage (KD-tree, metric
CRS) + model + solve (``spatial.siting.solve_mclp``, which starts from the greedy incumbent); the
floor is HiGHS's own run of the same model plus the coverage. spopt's MCLP is not run here (not a
dependency). No database: PostGIS reads of the demand are measured by the page and CLI, not here.

    .venv/bin/python bench/bench_siting.py [--households 20000] [--candidates 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import loadavg, say, table, write_json  # noqa: E402

from spatial.siting import coverage, greedy, solve_mclp  # noqa: E402

#: Lạng Sơn's extent (lon, lat)
WEST, SOUTH, EAST, NORTH = 106.1, 21.3, 107.3, 22.4


def instance(households: int, candidates: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    villages = np.column_stack([rng.uniform(WEST, EAST, 800), rng.uniform(SOUTH, NORTH, 800)])
    which = rng.integers(0, len(villages), households)
    demand = villages[which] + rng.normal(0, 0.006, (households, 2))
    weights = np.where(rng.random(households) < 0.5, 1.0, 0.5)
    side = int(np.ceil(np.sqrt(candidates)))
    gx, gy = np.meshgrid(np.linspace(WEST, EAST, side), np.linspace(SOUTH, NORTH, side))
    cands = np.column_stack([gx.ravel(), gy.ravel()])[:candidates]
    return demand, weights, cands


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--candidates", type=int, default=2_000)
    ap.add_argument("--radius", type=float, default=2_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    demand, w, cands = instance(args.households, args.candidates, args.seed)
    say(
        f"{args.households:,} households, {args.candidates:,} candidates, radius {args.radius:,.0f} m, load {loadavg()}"
    )
    out, lines = [], []
    for k in (10, 40):
        rows = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            cover = coverage(cands, demand, args.radius)
            t_cov = time.perf_counter() - t0
            sol = solve_mclp(cover, w, k)
            t1 = time.perf_counter()
            picks = greedy(cover, w, k)
            t_greedy = time.perf_counter() - t1
            rows.append((t_cov, sol.seconds, sol.solver_seconds, t_greedy, sol, sum(g for _, g, _ in picks)))
        cov, total, bare, gr = (statistics.median(r[i] for r in rows) for i in range(4))
        sol, greedy_obj = rows[-1][4], rows[-1][5]
        end_to_end, floor = cov + total, cov + bare
        short = (sol.objective - greedy_obj) / sol.objective if sol.objective else 0.0
        out.append(
            {
                "k": k,
                "end_to_end_s": end_to_end,
                "coverage_s": cov,
                "model_and_solve_s": total,
                "bare_solve_s": bare,
                "ratio": end_to_end / floor,
                "greedy_s": gr,
                "objective": sol.objective,
                "optimal": sol.optimal,
                "gap": sol.gap,
                "greedy_objective": greedy_obj,
                "greedy_shortfall": short,
            }
        )
        lines.append(
            [
                k,
                f"{end_to_end:.3f}",
                f"{cov:.3f}",
                f"{bare:.3f}",
                f"{end_to_end / floor:.2f}",
                f"{gr:.3f}",
                f"{sol.objective:,.1f}",
                "yes" if sol.optimal else f"gap {sol.gap:.2%}",
                f"{greedy_obj:,.1f}",
                f"{short:.2%}",
            ]
        )
    print(
        table(
            [
                "k",
                "end to end s",
                "coverage s",
                "bare HiGHS s",
                "ratio",
                "greedy s",
                "objective",
                "optimal",
                "greedy",
                "greedy short",
            ],
            lines,
        )
    )
    write_json("bench_siting", {"args": vars(args), "results": out})


if __name__ == "__main__":
    main()
