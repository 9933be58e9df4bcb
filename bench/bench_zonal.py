"""Zonal statistics of a 10,000 × 10,000 float32 raster: ours beside exactextract, rasterstats and the floor.

Zones: 3,000 synthetic communes (a Voronoi tessellation) and 20,000 household buffers
(250 m). Each measurement runs in its own process, so its peak RSS is its own:

- ``ours``: ``coverage_weights`` + ``zonal_stats`` on the first raster (the first raster
  of a grid), then ``zonal_stats`` on a second raster of the same grid with the weights
  reused (repeated; median);
- ``exactextract``: ``exact_extract`` called directly (count, mean, min, max, two
  quantiles, sum);
- ``rasterstats``: ``zonal_stats`` called directly (centre-of-cell, not coverage-weighted);
- ``floor``: a bare rasterio read of the second raster by the same windows plus a numpy
  scan (valid count, sum, min, max), repeated; median.

The rasters (tiled GTiff, DEFLATE) are written once under ``$SINHKE_DATA_DIR/bench/zonal``
(default ``var/``) and reused. ``--size 40000`` runs ours and the floor on a 40,000 ×
40,000 raster for peak memory (one file, about 1.3 GB, serves as first and further raster).

Usage: .venv/bin/python bench/bench_zonal.py [--size 10000] [--repeat 3] [--skip-reference]
       [--skip-rasterstats] [--zones communes,buffers]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import loadavg, say, table, wait_quiet, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXTENT = (350_000.0, 2_300_000.0, 650_000.0, 2_600_000.0)  # 300 km × 300 km in EPSG:3405
CRS = "EPSG:3405"
COMMUNES = 3_000
HOUSEHOLDS = 20_000
BUFFER_M = 250.0
THRESHOLD = 0.15  # m of flood depth: people exposed (Rentschler et al. 2022)
NODATA = -9999.0
BLOCK = 512


def data_dir() -> Path:
    path = Path(os.environ.get("SINHKE_DATA_DIR", ROOT / "var")) / "bench" / "zonal"
    path.mkdir(parents=True, exist_ok=True)
    return path


def grid(size: int) -> tuple[Any, int, int]:
    from affine import Affine

    x0, y0, x1, y1 = EXTENT
    return Affine((x1 - x0) / size, 0.0, x0, 0.0, -(y1 - y0) / size, y1), size, size


def raster_path(size: int, which: str) -> Path:
    """The first (a) and further (b) raster; above 10,000² one file serves as both (memory is measured)."""
    if size > 10_000:
        which = "a"
    return data_dir() / f"depth_{size}_{which}.tif"


def write_raster(size: int, which: str) -> Path:
    """A flood-depth-like field (m, to the cm, mostly dry), with a nodata sea in one corner."""
    import rasterio
    from rasterio.windows import Window

    path = raster_path(size, which)
    if path.exists() or path != data_dir() / f"depth_{size}_{which}.tif":
        return path
    transform, width, height = grid(size)
    seed = {"a": 1, "b": 2}[which]
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, 4)
    tmp = path.with_suffix(".part.tif")
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "predictor": 3,
        "zlevel": 1,
        "bigtiff": "if_safer",
    }
    cols = np.arange(width, dtype=np.float32) / width
    t0 = time.perf_counter()
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, height, BLOCK):
            rows = np.arange(r0, min(r0 + BLOCK, height), dtype=np.float32)[:, None] / height
            wave = (
                1.2 * np.sin(2 * np.pi * 7 * cols + phase[0]) * np.cos(2 * np.pi * 5 * rows + phase[1])
                + 0.8 * np.sin(2 * np.pi * 23 * (cols + rows) + phase[2])
                + 0.4 * np.cos(2 * np.pi * 61 * cols * rows + phase[3])
                - 0.6
            )
            noise = rng.standard_normal(wave.shape, dtype=np.float32) * np.float32(0.15)
            depth = np.round(np.maximum(wave + noise, 0), 2).astype(np.float32)
            depth[(cols[None, :] + rows) > 1.8] = NODATA
            dst.write(depth, 1, window=Window(0, r0, width, depth.shape[0]))
    tmp.rename(path)
    say(f"wrote {path} ({path.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t0:.0f} s")
    return path


def communes() -> list[Any]:
    """3,000 Voronoi cells over the extent (simple polygons: real communes have more vertices)."""
    import shapely

    rng = np.random.default_rng(2025)
    x0, y0, x1, y1 = EXTENT
    seeds = shapely.multipoints(rng.uniform((x0, y0), (x1, y1), (COMMUNES, 2)))
    frame = shapely.box(*EXTENT)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    return list(shapely.intersection(cells, frame))


def households() -> np.ndarray:
    """20,000 points clustered around 1,500 villages."""
    rng = np.random.default_rng(2026)
    x0, y0, x1, y1 = EXTENT
    villages = rng.uniform((x0 + 2000, y0 + 2000), (x1 - 2000, y1 - 2000), (1_500, 2))
    which = rng.integers(0, len(villages), HOUSEHOLDS)
    return villages[which] + rng.normal(0, 400, (HOUSEHOLDS, 2))


def zone_geoms(zones: str) -> list[Any]:
    import shapely

    if zones == "communes":
        return communes()
    return list(shapely.buffer(shapely.points(households()), BUFFER_M, quad_segs=16))


def windows(ds: Any) -> list[Any]:
    from rasterio.windows import Window

    from spatial.zonal import _window_rows

    step = _window_rows(ds, 1)
    return [Window(0, r0, ds.width, min(step, ds.height - r0)) for r0 in range(0, ds.height, step)]


# --- children: one measurement each, in its own process ----------------------------------


def child(which: str, size: int, zones: str, repeat: int) -> dict[str, Any]:
    geoms = zone_geoms(zones) if which != "floor" else []
    a, b = str(raster_path(size, "a")), str(raster_path(size, "b"))
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out: dict[str, Any] = {"which": which, "zones": zones, "size": size, "n_zones": len(geoms)}
    if which == "ours":
        import rasterio

        from spatial.zonal import coverage_weights, zonal_stats

        transform, width, height = grid(size)
        t0, c0 = time.perf_counter(), time.process_time()
        weights = coverage_weights(geoms, transform, width, height, CRS)
        t1 = time.perf_counter()
        first = zonal_stats(a, weights, threshold=THRESHOLD)
        t2, c2 = time.perf_counter(), time.process_time()
        out.update(
            weights_s=t1 - t0,
            first_stats_s=t2 - t1,
            first_s=t2 - t0,
            first_cpu_s=c2 - c0,
            weights_mib=weights.nbytes / 2**20,
            spans=int(weights.span_row.size),
            boundary_cells=int(weights.part_row.size),
            interior_cells=int(weights.span_len.sum()),
        )
        further, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            with rasterio.open(b) as ds:
                second = zonal_stats(ds, weights, threshold=THRESHOLD)
            further.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out["further_s"], out["further_cpu_s"] = further, cpu
        out["check"] = _digest(first, second)
    elif which == "exactextract":
        import shapely
        from exactextract import exact_extract

        feats = [
            {"type": "Feature", "properties": {"i": i}, "geometry": shapely.geometry.mapping(g)}
            for i, g in enumerate(geoms)
        ]
        t0, c0 = time.perf_counter(), time.process_time()
        res = exact_extract(a, feats, ["count", "mean", "min", "max", "quantile(q=0.5)", "quantile(q=0.9)", "sum"])
        out["first_s"], out["first_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
        p50 = [f["properties"]["quantile_50"] for f in res]
        out["check"] = {
            "count": float(sum(f["properties"]["count"] for f in res)),
            "mean_p50": float(np.nanmean([np.nan if v is None else v for v in p50])),
        }
    elif which == "rasterstats":
        import warnings

        from rasterstats import zonal_stats as rs_zonal

        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = rs_zonal(geoms, a, stats="count mean min max median percentile_90 sum", nodata=NODATA)
        out["first_s"], out["first_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
        out["check"] = {"count": float(sum(r["count"] or 0 for r in res))}
    elif which == "floor":
        import rasterio

        times, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            n, total, lo, hi = 0, 0.0, np.inf, -np.inf
            with rasterio.Env(), rasterio.open(b) as ds:
                for win in windows(ds):
                    block = ds.read(1, window=win)
                    ok = block != np.float32(NODATA)
                    vals = block[ok]
                    n += vals.size
                    total += float(vals.sum(dtype=np.float64))
                    if vals.size:
                        lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out["further_s"], out["further_cpu_s"] = times, cpu
        out["check"] = {"valid_cells": n, "sum": total, "min": lo, "max": hi}
    out["rss_inputs_mib"] = rss_inputs
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _digest(first: list[Any], second: list[Any]) -> dict[str, float]:
    return {
        "count_first": float(sum(s.count for s in first)),
        "count_further": float(sum(s.count for s in second)),
        "mean_p50_first": float(np.nanmean([s.p50 for s in first])),
        "share_above_first": float(np.nanmean([s.share_above for s in first])),
    }


def run_child(which: str, size: int, zones: str, repeat: int, quiet_wait: float) -> dict[str, Any]:
    busy = wait_quiet(quiet_wait)
    cmd = [sys.executable, __file__, "--child", which, "--size", str(size), "--zones", zones, "--repeat", str(repeat)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{which} on {zones} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(busy_before=busy, loadavg=loadavg(), wall_s=time.perf_counter() - t0)
    say(f"  {which:>12} {zones:<8} {json.dumps({k: v for k, v in result.items() if k != 'loadavg'})}")
    return result


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    mem = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0"
    )
    import exactextract
    import rasterio
    import rasterstats

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(mem) / 2**20, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "exactextract": exactextract.__version__,
        "rasterstats": rasterstats.__version__,
        "git_commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the further raster and of the floor")
    ap.add_argument("--zones", default="communes,buffers")
    ap.add_argument("--skip-reference", action="store_true", help="only ours and the floor (e.g. at 40,000)")
    ap.add_argument(
        "--skip-rasterstats",
        action="store_true",
        help="exactextract only (rasterstats took 195 s and 19.7 GB of RSS on the buffers)",
    )
    ap.add_argument("--quiet-wait", type=float, default=20.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.zones, args.repeat)))
        return
    for which in ("a", "b"):
        write_raster(args.size, which)
    results = [run_child("floor", args.size, "none", args.repeat, args.quiet_wait)]
    for zones in args.zones.split(","):
        results.append(run_child("ours", args.size, zones, args.repeat, args.quiet_wait))
        if not args.skip_reference:
            results.append(run_child("exactextract", args.size, zones, 1, args.quiet_wait))
            if not args.skip_rasterstats:
                results.append(run_child("rasterstats", args.size, zones, 1, args.quiet_wait))
    floor = statistics.median(results[0]["further_s"])
    floor_cpu = statistics.median(results[0]["further_cpu_s"])
    rows = []
    for r in results:
        first, first_cpu = r.get("first_s"), r.get("first_cpu_s")
        further = statistics.median(r["further_s"]) if "further_s" in r else None
        further_cpu = statistics.median(r["further_cpu_s"]) if "further_cpu_s" in r else None
        rows.append(
            [
                r["which"],
                r["zones"],
                "" if first is None else f"{first:.2f} ({first_cpu:.2f})",
                "" if further is None else f"{further:.2f} ({further_cpu:.2f})",
                "" if further is None else f"{further / floor:.2f} ({further_cpu / floor_cpu:.2f})",
                f"{r['peak_rss_mib']:,.0f} ({r['rss_inputs_mib']:,.0f})",
            ]
        )
    say(f"\n{args.size:,} × {args.size:,} float32 raster; floor (read + scan) median {floor:.2f} s")
    say(
        table(
            [
                "what",
                "zones",
                "first raster s (CPU s)",
                "further raster s, median (CPU s)",
                "× floor (CPU)",
                "peak RSS MiB (inputs)",
            ],
            rows,
        )
    )
    path = write_json(f"zonal-{args.size}", {"size": args.size, "machine": machine(), "results": results})
    say(f"wrote {path}")


if __name__ == "__main__":
    main()
