"""Zonal statistics against exactextract on small rasters built in memory (no database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from exactextract import exact_extract
from rasterio.io import DatasetReader, MemoryFile

from spatial import zonal
from spatial.geometry import VN2000_UTM48N, WGS84, transform
from spatial.zonal import (
    GridMismatchError,
    ZonalError,
    ZoneStats,
    buffer_weights,
    coverage_weights,
    sample_points,
    zonal_stats,
)

STATS = ["count", "mean", "min", "max", "quantile(q=0.5)", "quantile(q=0.9)", "sum", "values", "coverage"]
TRANSFORM = Affine(10.0, 0.0, 600_000.0, 0.0, -10.0, 2_400_000.0)  # 10 m cells, EPSG:3405
H, W = 60, 80


@contextmanager
def raster(
    values: np.ndarray,
    *,
    nodata: float | None = None,
    tr: Affine = TRANSFORM,
    crs: str | None = "EPSG:3405",
    blocks: int | None = 16,
) -> Iterator[DatasetReader]:
    """A one-band GTiff in memory (tiled with small blocks, so zones cross several)."""
    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": values.dtype.name,
        "transform": tr,
        "nodata": nodata,
        "crs": crs,
    }
    if blocks:
        profile.update(tiled=True, blockxsize=blocks, blockysize=blocks)
    with MemoryFile() as mf:
        with mf.open(**profile) as ds:
            ds.write(values, 1)
        with mf.open() as ds:
            yield ds


def field(seed: int = 1, dtype: str = "float32", shape: tuple[int, int] = (H, W)) -> np.ndarray:
    """Depth-like values with ties (rounded to 0.1) and zeros."""
    rng = np.random.default_rng(seed)
    return np.round(np.maximum(rng.normal(1.0, 1.5, shape), 0), 1).astype(dtype)


def cell(col: float, row: float) -> tuple[float, float]:
    """Map coordinates of a fractional (col, row) of the test grid."""
    return TRANSFORM @ (col, row)


def cbox(c0: float, r0: float, c1: float, r1: float) -> shapely.Polygon:
    (x0, y0), (x1, y1) = cell(c0, r0), cell(c1, r1)
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def reference(ds: DatasetReader, geoms: list, threshold: float | None = None) -> list[dict]:
    """exactextract's statistics of each geometry, and the covered share above ``threshold``."""
    feats = [
        {"type": "Feature", "properties": {"i": i}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(geoms)
        if g is not None and not g.is_empty
    ]
    out: list[dict] = [{"count": 0.0, "sum": 0.0, "share_above": np.nan} for _ in geoms]
    for f in exact_extract(ds, feats, STATS, include_cols=["i"]):
        p = f["properties"]
        row = {k: p[k] for k in ("count", "mean", "min", "max", "sum")}
        row["p50"], row["p90"] = p["quantile_50"], p["quantile_90"]
        vals, cov = np.asarray(p["values"], float), np.asarray(p["coverage"], float)
        row["share_above"] = (
            cov[vals > threshold].sum() / cov.sum() if threshold is not None and cov.sum() > 0 else np.nan
        )
        out[p["i"]] = row
    return out


def assert_matches(ours: list[ZoneStats], ref: list[dict]) -> None:
    assert len(ours) == len(ref)
    for i, (o, r) in enumerate(zip(ours, ref, strict=True)):
        for name in ("count", "mean", "min", "max", "p50", "p90", "sum", "share_above"):
            want = r.get(name)
            want = np.nan if want is None else float(want)
            got = getattr(o, name)
            if np.isnan(want):
                assert np.isnan(got), (i, name, got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, err_msg=f"zone {i} {name}")


def check(ds: DatasetReader, geoms: list, threshold: float | None = 1.0) -> list[ZoneStats]:
    weights = coverage_weights(geoms, ds.transform, ds.width, ds.height, ds.crs)
    ours = zonal_stats(ds, weights, threshold=threshold)
    assert_matches(ours, reference(ds, geoms, threshold))
    return ours


def test_polygons_smaller_than_a_pixel() -> None:
    geoms = [
        cbox(10.2, 10.3, 10.6, 10.5),  # inside one cell
        cbox(20.8, 30.9, 21.3, 31.2),  # over four cells
        shapely.Point(cell(40.5, 20.5)).buffer(2.0),  # a 2 m disc
        shapely.Polygon([cell(5.1, 5.1), cell(5.9, 5.2), cell(5.4, 5.8)]),
    ]
    with raster(field()) as ds:
        ours = check(ds, geoms)
    assert ours[0].count == pytest.approx(0.4 * 0.2, rel=1e-6)
    assert all(0 < s.count < 1 for s in ours)


def test_nodata_value_and_nan_are_left_out() -> None:
    values = field(2)
    values[10:20, 10:30] = -9999.0
    values[40:45, 50:60] = np.nan
    geoms = [
        cbox(5, 5, 25.5, 15.5),  # crosses the nodata block
        cbox(45.3, 38.2, 58.7, 50.1),  # crosses the NaN block
        cbox(12, 12, 18, 18),  # nodata only
        cbox(0, 0, W, H),
    ]  # everything
    with raster(values, nodata=-9999.0) as ds:
        ours = check(ds, geoms)
    assert ours[2].count == 0 and np.isnan(ours[2].mean) and np.isnan(ours[2].p50)
    assert ours[3].count == pytest.approx(H * W - 200 - 50)


def test_partly_outside_multipolygons_and_empty_zones() -> None:
    geoms = [
        cbox(-10.5, -3.2, 6.7, 9.9),  # over the top-left corner
        cbox(70.2, 50.4, 95.0, 75.0),  # over the bottom-right
        shapely.MultiPolygon([cbox(1.5, 30.5, 12.2, 44.8), cbox(60.1, 2.2, 72.9, 14.4)]),
        shapely.MultiPolygon(
            [
                shapely.Point(cell(30, 30)).buffer(25),
                shapely.Point(cell(31.2, 30.4)).buffer(3).difference(shapely.Point(cell(30, 30)).buffer(25)),
            ]
        ),
        shapely.Polygon(),
        None,
        cbox(-50, -50, -40, -40),
    ]  # wholly outside
    with raster(field(3)) as ds:
        ours = check(ds, geoms)
    for empty in ours[4:]:
        assert empty.count == 0 and empty.sum == 0 and np.isnan(empty.max)


def test_reprojected_grid() -> None:
    """A raster in VN-2000 / UTM 48N and commune-like polygons drawn in WGS 84."""
    lonlat = [
        shapely.Polygon([(106.70, 21.80), (106.72, 21.801), (106.725, 21.815), (106.705, 21.82)]),
        shapely.Point(106.74, 21.83).buffer(0.004),
        shapely.box(106.6, 21.76, 106.702, 21.79),
    ]
    metric = [transform(g, WGS84, VN2000_UTM48N) for g in lonlat]
    x0, _, _, y1 = shapely.total_bounds(metric)
    tr = Affine(7.5, 0.0, np.floor(x0) - 300, 0.0, -7.5, np.ceil(y1) + 200)
    values = field(4, shape=(700, 900))
    with raster(values, tr=tr, blocks=128) as ds:
        assert ds.crs.to_epsg() == VN2000_UTM48N
        check(ds, metric)


def test_integer_classes_and_float64_rasters() -> None:
    """Landslide classes 0–5 (many ties) and a float64 raster (the generic path)."""
    rng = np.random.default_rng(5)
    classes = rng.integers(0, 6, (H, W)).astype(np.uint8)
    geoms = [cbox(3.3, 4.4, 40.1, 22.7), shapely.Point(cell(50, 40)).buffer(120), cbox(60.5, 1.5, 60.9, 1.6)]
    with raster(classes, nodata=255) as ds:
        check(ds, geoms, threshold=2)
    doubles = rng.normal(0, 1e3, (H, W))
    doubles[0:5] = 1e30
    with raster(doubles, nodata=1e30) as ds:
        check(ds, [*geoms, cbox(0, 0, 10, 10)], threshold=0.0)


@pytest.mark.parametrize("window_rows", [3, 7])  # 7: windows of 5 rows, not dividing the 16-row blocks
def test_small_windows_and_batches_give_the_same_results(monkeypatch: pytest.MonkeyPatch, window_rows: int) -> None:
    """Zones spanning many read windows, summarised in several batches."""
    geoms = [
        shapely.Point(cell(40, 30)).buffer(280),
        cbox(1, 1, 79, 3),
        cbox(2.5, 0.5, 3.5, 59.5),
        *(shapely.Point(cell(c, r)).buffer(35) for c in range(5, 80, 10) for r in range(5, 60, 10)),
    ]
    values = field(6)
    values[::7, ::3] = np.nan
    with raster(values, blocks=16) as ds:
        weights = coverage_weights(geoms, ds.transform, ds.width, ds.height, ds.crs)
        whole = zonal_stats(ds, weights, threshold=0.5)
        monkeypatch.setattr(zonal, "WINDOW_CELLS", window_rows * W)
        monkeypatch.setattr(zonal, "BATCH_CELLS", 50)
        pieces = zonal_stats(ds, weights, threshold=0.5)
        assert_matches(pieces, reference(ds, geoms, 0.5))
    assert pieces == whole


def test_weights_are_compact() -> None:
    geoms = [cbox(0, 0, W, H), cbox(0.5, 0.5, 40.5, 30.5)]
    with raster(field()) as ds:
        weights = coverage_weights(geoms, ds.transform, ds.width, ds.height, ds.crs)
    assert weights.span_row.size == H + 29  # one span a row for each zone
    assert weights.part_row.size == 2 * 41 + 2 * 29  # only the second zone's boundary cells
    assert weights.span_len.sum() == H * W + 39 * 29


def test_weights_reused_on_a_second_raster_and_refused_on_another_grid() -> None:
    geoms = [cbox(2.2, 3.3, 30.1, 40.9), shapely.Point(cell(60, 20)).buffer(90)]
    with raster(field(7)) as first:
        weights = coverage_weights(geoms, first.transform, first.width, first.height, first.crs)
        check(first, geoms)
        zonal_stats(first, weights)
    second = field(8) * 3
    with raster(second, blocks=32) as ds:
        reused = zonal_stats(ds, weights, threshold=1.0)
        fresh = check(ds, geoms, threshold=1.0)
    assert reused == fresh
    shifted = TRANSFORM @ Affine.translation(0.5, 0)
    for other in ({"tr": shifted}, {"crs": "EPSG:32648"}):
        with raster(second, **other) as ds, pytest.raises(GridMismatchError):
            zonal_stats(ds, weights)
    with raster(second[:, :-1]) as ds, pytest.raises(GridMismatchError):
        zonal_stats(ds, weights)


def test_weights_from_a_path(tmp_path) -> None:
    path = tmp_path / "depth.tif"
    values = field(9)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=H,
        width=W,
        count=1,
        dtype="float32",
        transform=TRANSFORM,
        crs="EPSG:3405",
        nodata=-1,
    ) as dst:
        dst.write(values, 1)
    geoms = [cbox(4.4, 4.4, 33.3, 22.2)]
    weights = coverage_weights(geoms, TRANSFORM, W, H, "EPSG:3405")
    by_path = zonal_stats(path, weights, threshold=1.0)
    with rasterio.open(path) as ds:
        assert by_path == check(ds, geoms)


def test_point_sampling_matches_rasterio() -> None:
    rng = np.random.default_rng(10)
    values = field(11)
    values[0:10, 0:10] = -9999.0
    xy = [cell(c, r) for c, r in rng.uniform([-5, -5], [W + 5, H + 5], (300, 2))]
    xy += [cell(0, 0), cell(3.5, 3.5), cell(W - 0.01, H - 0.01)]
    with raster(values, nodata=-9999.0) as ds:
        ours = sample_points(ds, xy)
        ref = np.array([v[0] for v in ds.sample(xy, masked=True)].copy(), dtype=object)
        cols, rows = np.array([~ds.transform @ p for p in xy]).T
        inside = (cols >= 0) & (cols < W) & (rows >= 0) & (rows < H)
    for o, r, ins in zip(ours, ref, inside, strict=True):
        if not ins or r is np.ma.masked:
            assert np.isnan(o)
        else:
            assert o == float(r)
    assert np.isnan(ours[-3])  # the nodata corner
    assert np.isfinite(ours).sum() == sum(
        1 for r, ins in zip(ref, inside, strict=True) if ins and r is not np.ma.masked
    )


def test_buffers_of_points_and_lines() -> None:
    assets = [
        shapely.Point(cell(20.3, 20.7)),
        shapely.LineString([cell(5, 50), cell(30, 45), cell(70, 52)]),
        shapely.Point(cell(79.9, 0.1)),
        None,
    ]
    with raster(field(12)) as ds:
        weights = buffer_weights(assets, 55.0, ds.transform, ds.width, ds.height, ds.crs)
        ours = zonal_stats(ds, weights, threshold=1.0)
        polys = [None if a is None else a.buffer(55.0, quad_segs=16) for a in assets]
        assert_matches(ours, reference(ds, polys, 1.0))
    assert ours[0].count == pytest.approx(np.pi * 5.5**2, rel=0.01)
    with pytest.raises(ZonalError, match="projected"):
        buffer_weights(assets, 55.0, TRANSFORM, W, H, "EPSG:4326")
    with pytest.raises(ZonalError, match="polygons"):
        coverage_weights(assets[:1], TRANSFORM, W, H)


def coverage_by_cell(weights: zonal.GridWeights, zone: int) -> dict[int, float]:
    """One zone's coverage fractions, cell by cell (flat index), from the compact weights."""
    out: dict[int, float] = {}
    width = weights.grid.width
    for r, c, n in zip(
        *(a[weights.span_zone == zone] for a in (weights.span_row, weights.span_col, weights.span_len)), strict=True
    ):
        for k in range(int(n)):
            out[int(r) * width + int(c) + k] = 1.0
    for r, c, f in zip(
        *(a[weights.part_zone == zone] for a in (weights.part_row, weights.part_col, weights.part_cov)), strict=True
    ):
        assert int(r) * width + int(c) not in out
        out[int(r) * width + int(c)] = float(f)
    return out


def assert_same_coverage(ds: DatasetReader, geoms: list) -> zonal.GridWeights:
    """Every cell of every zone carries exactextract's coverage fraction (to float32 rounding)."""
    weights = coverage_weights(geoms, ds.transform, ds.width, ds.height, ds.crs)
    feats = [
        {"type": "Feature", "properties": {"i": i}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(geoms)
    ]
    for f in exact_extract(ds, feats, ["cell_id", "coverage"], include_cols=["i"]):
        p = f["properties"]
        want = {int(c): float(v) for c, v in zip(p["cell_id"], p["coverage"], strict=True) if v > 0}
        got = coverage_by_cell(weights, p["i"])
        assert got.keys() == want.keys(), (p["i"], sorted(got.keys() ^ want.keys())[:10])
        for cid, v in want.items():
            assert got[cid] == pytest.approx(v, rel=1e-6, abs=1e-7), (p["i"], cid)
    return weights


def tricky_polygons() -> list:
    """Holes, slivers, edges on cell lines, parts sharing cells, reversed rings, the grid overrun."""
    ring = shapely.Point(cell(30, 30)).buffer(150)
    hole = shapely.Point(cell(31.3, 29.6)).buffer(60)
    return [
        ring.difference(hole),  # a hole
        shapely.Polygon(ring.exterior.coords, [hole.exterior.coords[::-1]]),  # the hole wound the other way
        shapely.Polygon(cbox(3.3, 4.1, 9.7, 11.2).exterior.coords[::-1]),  # a clockwise exterior
        cbox(10, 20, 17, 26),  # every edge on a cell line
        shapely.Polygon([cell(40, 40), cell(50, 40), cell(40, 50)]),  # vertices on cell corners
        cbox(60.25, 5.0, 60.26, 25.0),  # a sliver a 100th of a cell wide
        shapely.Polygon([cell(2, 55.1), cell(70, 55.13), cell(70, 55.2)]),  # a thin, nearly flat wedge
        shapely.Polygon([cell(45.5, 2), cell(45.51, 18), cell(45.49, 18)]),  # a thin, nearly upright wedge
        shapely.MultiPolygon(
            [
                shapely.Polygon([cell(20, 45), cell(25, 45), cell(20, 50)]),  # parts sharing the
                shapely.Polygon([cell(25, 45), cell(25, 50), cell(20, 50)]),
            ]
        ),  # diagonal's cells
        shapely.MultiPolygon([cbox(70.2, 30.2, 72.5, 33.7), cbox(72.5, 30.9, 74.1, 32.2)]),  # parts touching
        cbox(-3.5, 10.5, W + 4.2, 12.7),  # wider than the grid
        shapely.Polygon([cell(-20, -20), cell(W + 20, -15), cell(W + 10, H + 30), cell(-5, H + 10)]),  # over all
    ]


def test_coverage_matches_exactextract_cell_by_cell() -> None:
    geoms = tricky_polygons()
    with raster(field(13)) as ds:
        weights = assert_same_coverage(ds, geoms)
        check(ds, geoms)
    assert coverage_by_cell(weights, 3) == {r * W + c: 1.0 for r in range(20, 26) for c in range(10, 17)}
    assert weights.span_len[weights.span_zone == 11].sum() > 0.9 * H * W


def test_coverage_of_random_polygons_matches_exactextract() -> None:
    """Star-shaped polygons with many vertices, some with holes, at random places and sizes."""
    rng = np.random.default_rng(14)
    geoms = []
    for k in range(40):
        n = int(rng.integers(3, 60))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radius = rng.uniform(0.2, 1.0, n) * rng.choice([0.7, 4.0, 25.0])
        centre = rng.uniform([-5, -5], [W + 5, H + 5])
        pts = [cell(centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)) for a, r in zip(angles, radius, strict=True)]
        poly = shapely.make_valid(shapely.Polygon(pts))
        if k % 4 == 0:
            poly = poly.difference(shapely.Point(cell(*centre)).buffer(radius.min() * 5.0))
        geoms.append(None if poly.is_empty else poly)
    with raster(field(15)) as ds:
        assert_same_coverage(ds, [g for g in geoms if g is not None])
        check(ds, geoms)


def test_weights_computed_in_chunks_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Zones are cut into chunks of edge pieces; a chunk per zone or two gives the same weights."""
    geoms = [*tricky_polygons(), None, *(shapely.Point(cell(c, r)).buffer(44) for c in (10, 50) for r in (10, 40))]
    whole = coverage_weights(geoms, TRANSFORM, W, H, "EPSG:3405")
    monkeypatch.setattr(zonal, "PIECES_PER_CHUNK", 40)
    chunked = coverage_weights(geoms, TRANSFORM, W, H, "EPSG:3405")
    np.testing.assert_array_equal(whole.zone_last_row, chunked.zone_last_row)
    for zone in range(len(geoms)):
        assert coverage_by_cell(whole, zone) == coverage_by_cell(chunked, zone), zone
