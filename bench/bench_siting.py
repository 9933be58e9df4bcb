"""Siting (issue #10): the exact MCLP end to end beside the bare HiGHS solve of the same model,
the coverage query, greedy, and the MCLP as spopt builds it (PuLP + CBC), on households and
candidates shaped like the demo's.

Demand: N poor / near-poor households (weights 1 / 0.5) clustered around villages over Lạng Sơn's
extent (the demo scaled to N); radius 2 km; k = 10 and 40; two instances, as the issue measures them:
``communes`` (10 of the 260 communes: a box of 10/260 of the province's area holding that share of the
households, 2,000 candidates on a grid inside it) and ``province`` (all households, 20,000
candidates). End to end is coverage (KD-tree, metric CRS) + model + solve
(``spatial.siting.solve_mclp``, which starts from the greedy incumbent); the floor is HiGHS's own run
of the same model plus the coverage. The reference builds spopt's MCLP formulation (binary site and
coverage variables, one coverage constraint per household, one budget row) in PuLP from the same
coverage and solves it with CBC; it is skipped above ``--pulp-max`` households (its model is built in
Python, one constraint a household). spopt itself is not installed (not in the package index).

``--database NAME`` takes the issue's own instances from a demo database instead (``bench_targets.py``
builds ``sinhke_bench_targets`` at 1,000,000 households with the jobs the demand reads): demand is the
poor and near-poor households that no functional scheme serves, read by the product's PostGIS query;
``communes`` is the 10 communes holding the most of them with a grid of about 2,000 candidates inside,
``province`` every commune with about 20,000. End to end is ``spatial.siting.run_siting`` as the CLI
and the page call it (demand query, hazard limits, coverage, the reduced model and its solve, greedy,
the sites in order); the floor is the same demand SQL through bare psycopg plus the coverage plus
HiGHS's own run of the full model (every allowed candidate, no reduction), with its own time limit.

    .venv/bin/python bench/bench_siting.py [--households 1000000] [--instances communes,province]
        [--repeat 1] [--pulp-max 100000] [--database sinhke_bench_targets --time-limit 600]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_settings, connect, loadavg, say, table, write_json  # noqa: E402

from spatial.db import transaction  # noqa: E402
from spatial.siting import (  # noqa: E402
    DEFAULT_WEIGHTS,
    SitingParams,
    coverage,
    demand_sql,
    greedy,
    grid_candidates,
    run_siting,
    solve_mclp,
)

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


def pulp_mclp(cover, weights: np.ndarray, k: int, time_limit: float) -> tuple[float, float, float, str]:  # type: ignore[no-untyped-def]
    """spopt's MCLP in PuLP + CBC over the same coverage: (objective, model build s, solve s, status)."""
    import pulp

    t0 = time.perf_counter()
    rows = cover.tocsr()
    covered = np.flatnonzero(np.diff(rows.indptr) > 0)
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(rows.shape[1])]
    z = {int(i): pulp.LpVariable(f"z{i}", cat="Binary") for i in covered}
    prob += pulp.lpSum(float(weights[i]) * v for i, v in z.items())
    prob += pulp.lpSum(y) == k
    for i, v in z.items():
        prob += v <= pulp.lpSum(y[j] for j in rows.indices[rows.indptr[i] : rows.indptr[i + 1]])
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    solved = time.perf_counter() - t1
    status = "optimal" if solved < time_limit * 0.98 else f"stopped at {time_limit:.0f} s"
    return float(pulp.value(prob.objective) or 0.0), built, solved, status


def reference_fields(ref: tuple[float, float, float, str] | None) -> dict[str, object]:
    """The PuLP + CBC reference of one run (or None: not run) for the JSON, with the load."""
    keys = ("pulp_objective", "pulp_build_s", "pulp_solve_s", "pulp_status")
    return {**dict(zip(keys, ref or (None,) * 4, strict=True)), "load": loadavg()}


def reference_cells(ref: tuple[float, float, float, str] | None) -> list[str]:
    """The reference's two cells of the Markdown table."""
    if ref is None:
        return ["not run", "–"]
    return [f"{ref[1]:.1f} + {ref[2]:.1f}", f"{ref[0]:,.1f} ({ref[3]})"]


def instances(households: int, names: list[str], seed: int):  # type: ignore[no-untyped-def]
    """(name, demand, weights, candidates) per instance asked for (see the module)."""
    demand, w, _ = instance(households, 1, seed)
    for name in names:
        if name == "province":
            _, _, cands = instance(1, 20_000, seed)
            yield name, demand, w, cands
        elif name == "communes":
            # a box of 10/260 of the extent's area around its centre, and the households in it
            share = np.sqrt(10 / 260) / 2
            cx, cy, hw, hh = (WEST + EAST) / 2, (SOUTH + NORTH) / 2, (EAST - WEST) * share, (NORTH - SOUTH) * share
            inside = (np.abs(demand[:, 0] - cx) <= hw) & (np.abs(demand[:, 1] - cy) <= hh)
            side = int(np.ceil(np.sqrt(2_000)))
            gx, gy = np.meshgrid(np.linspace(cx - hw, cx + hw, side), np.linspace(cy - hh, cy + hh, side))
            yield name, demand[inside], w[inside], np.column_stack([gx.ravel(), gy.ravel()])[:2_000]
        else:
            raise SystemExit(f"unknown instance {name!r} (communes, province)")


#: the 2025 communes by their demand (poor and near-poor of the latest round, not served by a scheme)
_BY_DEMAND = """
    SELECT u.code, u.id, count(*) AS n FROM household_units hu
    JOIN admin_units u ON u.id = hu.commune_id
    JOIN households h ON h.id = hu.household_id
    JOIN LATERAL (SELECT pc.status FROM survey_rounds sr JOIN poverty_classifications pc ON pc.survey_round_id = sr.id
                  WHERE sr.household_id = h.id ORDER BY sr.year DESC LIMIT 1) l ON true
    WHERE hu.boundary = 'current' AND l.status IN ('poor', 'near_poor')
      AND NOT EXISTS (SELECT 1 FROM water_scheme_households wsh JOIN water_schemes s ON s.id = wsh.scheme_id
                      WHERE wsh.household_id = h.id AND s.status = 'functional' AND s.deleted_at IS NULL)
    GROUP BY u.code, u.id ORDER BY n DESC, u.code"""


def demo_run(args: argparse.Namespace) -> None:
    """The issue's instances on a demo database: run_siting end to end beside the bare floor."""
    from sqlalchemy import text

    settings = bench_settings(args.database)
    with transaction(settings) as session:
        communes = session.execute(text(_BY_DEMAND)).all()
        area = dict(
            session.execute(
                text("SELECT id, ST_Area(ST_Transform(geom, 3405)) FROM admin_units WHERE boundary = 'current'")
            ).all()
        )
    sets = {"communes": communes[:10], "province": communes}
    wanted = {"communes": 2_000, "province": 20_000}
    out, lines = [], []
    sql = demand_sql("water_scheme").replace(":ids", "%(ids)s").replace(":classes", "%(classes)s")
    for name in args.instances.split(","):
        chosen = sets[name]
        ids = [r.id for r in chosen]
        spacing = round((sum(area[i] for i in ids) / wanted[name]) ** 0.5)
        with transaction(settings) as session:
            t0 = time.perf_counter()
            cands = grid_candidates(session, ids, spacing)
            t_grid = time.perf_counter() - t0
        say(f"{name}: {len(ids)} communes, {len(cands):,} candidates ({spacing} m grid, {t_grid:.1f} s)")
        lonlat = np.array([(c.lon, c.lat) for c in cands])
        for k in [int(x) for x in args.ks.split(",")]:
            params = SitingParams(
                communes=tuple(r.code for r in chosen),
                radius_m=args.radius,
                k=k,
                candidates=tuple(cands),
                time_limit_s=args.time_limit,
                candidate_source="grid",
                grid_spacing_m=spacing,
            )
            with transaction(settings) as session:
                t0 = time.perf_counter()
                result = run_siting(session, params, settings.raster_store)
                ours = time.perf_counter() - t0
            # the floor: the demand SQL through bare psycopg, the coverage, HiGHS on the full model
            with connect(settings) as conn:
                conn.execute("SET jit = off")
                t0 = time.perf_counter()
                rows = conn.execute(sql, {"ids": ids, "classes": list(DEFAULT_WEIGHTS)}).fetchall()
                t_sql = time.perf_counter() - t0
            d_lonlat = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
            w = np.array([DEFAULT_WEIGHTS[r[3]] for r in rows])
            t0 = time.perf_counter()
            cover = coverage(lonlat, d_lonlat, args.radius)
            t_cov = time.perf_counter() - t0
            full = solve_mclp(cover, w, k, time_limit_s=args.floor_time_limit, reduce=False)
            floor = t_sql + t_cov + full.solver_seconds
            ref = pulp_mclp(cover, w, k, args.pulp_time_limit) if len(rows) <= args.pulp_max else None
            short = result.greedy_shortfall / result.objective if result.objective else 0.0
            out.append(
                {
                    "instance": name,
                    "communes": len(ids),
                    "households": result.demand_households,
                    "candidates": len(cands),
                    "spacing_m": spacing,
                    "k": k,
                    "end_to_end_s": ours,
                    "run_siting_seconds_field": result.seconds,
                    "coverage_s": result.coverage_seconds,
                    "objective": result.objective,
                    "optimal": result.optimal,
                    "gap": result.gap,
                    "greedy_objective": result.greedy_objective,
                    "greedy_shortfall": short,
                    "floor_s": floor,
                    "floor_demand_sql_s": t_sql,
                    "floor_coverage_s": t_cov,
                    "floor_highs_s": full.solver_seconds,
                    "floor_objective": full.objective,
                    "floor_optimal": full.optimal,
                    "floor_gap": full.gap,
                    **reference_fields(ref),
                }
            )
            lines.append(
                [
                    name,
                    f"{result.demand_households:,} x {len(cands):,}",
                    k,
                    f"{ours:.2f}",
                    f"{result.objective:,.1f}",
                    "yes" if result.optimal else f"gap {result.gap:.2%}",
                    f"{result.greedy_objective:,.1f} ({short:.2%})",
                    f"{t_sql:.2f} + {t_cov:.2f} + {full.solver_seconds:.2f} = {floor:.2f}",
                    f"{full.objective:,.1f} ({'optimal' if full.optimal else f'gap {full.gap:.2%}'})",
                    f"{ours / floor:.2f}",
                    *reference_cells(ref),
                ]
            )
            say(f"  k={k}: {lines[-1]}")
    print(
        table(
            [
                "instance",
                "households x candidates",
                "k",
                "run_siting end to end s",
                "objective",
                "optimal",
                "greedy (short)",
                "floor: SQL + coverage + HiGHS (full model) s",
                "floor objective",
                "ratio",
                "PuLP+CBC build + solve s",
                "PuLP objective",
            ],
            lines,
        )
    )
    write_json("bench_siting_demo", {"args": vars(args), "results": out})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--instances", default="communes,province")
    ap.add_argument("--radius", type=float, default=2_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--pulp-max", type=int, default=100_000, help="skip PuLP + CBC above this many households")
    ap.add_argument("--pulp-time-limit", type=float, default=300, help="CBC's time limit, s")
    ap.add_argument("--time-limit", type=float, default=60, help="our solve's time limit (HiGHS), s")
    ap.add_argument("--ks", default="10,40")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database", help="the issue's instances from this demo database (see the module)")
    ap.add_argument("--floor-time-limit", type=float, default=600, help="the floor's HiGHS time limit, s")
    args = ap.parse_args()
    if args.database:
        demo_run(args)
        return
    say(f"{args.households:,} households, radius {args.radius:,.0f} m, load {loadavg()}")
    out, lines = [], []
    for name, demand, w, cands in instances(args.households, args.instances.split(","), args.seed):
        say(f"{name}: {len(demand):,} households x {len(cands):,} candidates, load {loadavg()}")
        for k in [int(x) for x in args.ks.split(",")]:
            rows = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                cover = coverage(cands, demand, args.radius)
                t_cov = time.perf_counter() - t0
                sol = solve_mclp(cover, w, k, time_limit_s=args.time_limit)
                t1 = time.perf_counter()
                picks = greedy(cover, w, k)
                t_greedy = time.perf_counter() - t1
                rows.append((t_cov, sol.seconds, sol.solver_seconds, t_greedy, sol, sum(g for _, g, _ in picks)))
            cov, total, bare, gr = (statistics.median(r[i] for r in rows) for i in range(4))
            sol, greedy_obj = rows[-1][4], rows[-1][5]
            end_to_end, floor = cov + total, cov + bare
            short = (sol.objective - greedy_obj) / sol.objective if sol.objective else 0.0
            ref = pulp_mclp(cover, w, k, args.pulp_time_limit) if len(demand) <= args.pulp_max else None
            out.append(
                {
                    "instance": name,
                    "households": len(demand),
                    "candidates": len(cands),
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
                    **reference_fields(ref),
                }
            )
            lines.append(
                [
                    name,
                    f"{len(demand):,} x {len(cands):,}",
                    k,
                    f"{end_to_end:.2f}",
                    f"{cov:.2f}",
                    f"{bare:.2f}",
                    f"{end_to_end / floor:.2f}",
                    f"{gr:.2f}",
                    f"{sol.objective:,.1f}",
                    "yes" if sol.optimal else f"gap {sol.gap:.2%}",
                    f"{greedy_obj:,.1f} ({short:.2%})",
                    *reference_cells(ref),
                ]
            )
            say(f"  k={k}: {lines[-1]}")
    print(
        table(
            [
                "instance",
                "households x candidates",
                "k",
                "end to end s",
                "coverage s",
                "bare HiGHS s",
                "ratio",
                "greedy s",
                "objective",
                "optimal",
                "greedy (short)",
                "PuLP+CBC build + solve s",
                "PuLP objective",
            ],
            lines,
        )
    )
    write_json("bench_siting", {"args": vars(args), "results": out})


if __name__ == "__main__":
    main()
