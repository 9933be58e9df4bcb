"""Zonal statistics of climate-risk rasters: coverage-weighted, nodata-aware, weights reusable.

No database code here. A pixel counts by the share of it inside the zone (the exact area
fractions exactextract computes, computed here once per grid by :func:`coverage_weights`
from the polygons' edges), so small communes and household buffers are not biased by
centre-only counting. The weights are stored compactly (interior cells as row spans, only
boundary cells with explicit fractions) and reused for every raster on the same grid,
which then costs little more than reading it.
Rasters are read by row windows; nothing reads a whole raster into memory.

Statistics follow exactextract's definitions: ``count`` is the summed coverage of valid
cells, ``mean`` = ``sum`` / ``count``, ``min``/``max`` over cells with any coverage, and
quantiles are exactextract's weighted quantiles over the distinct values (each weighted by
its summed coverage; truncated to integers on integer rasters, as exactextract returns them
in the raster's type), so results agree with ``exactextract.exact_extract`` to float32
precision.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import DatasetReader
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

QUANTILES = (0.5, 0.9)
# cells of one read window; the windows' rows are rounded to the raster's block height
WINDOW_CELLS = 4_000_000
# zones finished in one window are summarised in batches of at most this many cells (a batch's
# temporaries take about 80 bytes a cell)
BATCH_CELLS = 1_000_000


class ZonalError(Exception):
    """Base of the errors this module raises."""


class GridMismatchError(ZonalError):
    """Weights computed on one grid were applied to a raster on another."""


@dataclass(frozen=True, slots=True)
class ZoneStats:
    """Coverage-weighted statistics of one zone; NaN where no valid cell is covered."""

    count: float
    mean: float
    min: float
    max: float
    p50: float
    p90: float
    sum: float
    share_above: float


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: its affine transform, size and (optional) CRS."""

    transform: Affine
    width: int
    height: int
    crs: CRS | None = None

    def __post_init__(self) -> None:
        t = self.transform
        if t.b != 0 or t.d != 0:
            raise ZonalError("rotated or sheared rasters are not supported")
        if t.a <= 0 or t.e >= 0:
            raise ZonalError("only north-up rasters (positive x step, negative y step) are supported")
        if self.width <= 0 or self.height <= 0:
            raise ZonalError("a grid needs at least one cell")

    @classmethod
    def of(cls, ds: DatasetReader) -> Grid:
        return cls(ds.transform, ds.width, ds.height, ds.crs)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    def same_as(self, other: Grid) -> bool:
        """Same size and cells (to a millionth of a cell); CRSs equal where both are known."""
        if (self.width, self.height) != (other.width, other.height):
            return False
        tol = 1e-6 * min(abs(self.transform.a), abs(self.transform.e))
        if not all(
            math.isclose(p, q, rel_tol=0, abs_tol=tol)
            for p, q in zip(self.transform[:6], other.transform[:6], strict=True)
        ):
            return False
        return self.crs is None or other.crs is None or self.crs == other.crs


@dataclass(frozen=True)
class GridWeights:
    """The coverage of each zone on one grid, reusable for every raster on that grid.

    Cells a zone covers entirely are row spans ``[col0, col0 + length)``; cells it covers
    in part (its boundary) are listed with their coverage fraction. Both are sorted by row.
    """

    grid: Grid
    n_zones: int
    span_row: np.ndarray  # int32
    span_col: np.ndarray  # int32
    span_len: np.ndarray  # int32
    span_zone: np.ndarray  # int32
    part_row: np.ndarray  # int32
    part_col: np.ndarray  # int32
    part_zone: np.ndarray  # int32
    part_cov: np.ndarray  # float32, in (0, 1)
    zone_last_row: np.ndarray  # int32, -1 for zones covering no cell

    @property
    def nbytes(self) -> int:
        return sum(
            getattr(self, name).nbytes
            for name in (
                "span_row",
                "span_col",
                "span_len",
                "span_zone",
                "part_row",
                "part_col",
                "part_zone",
                "part_cov",
                "zone_last_row",
            )
        )

    def check(self, grid: Grid) -> None:
        if not self.grid.same_as(grid):
            raise GridMismatchError(
                f"these weights were computed for a {self.grid.width}×{self.grid.height} grid "
                f"{tuple(self.grid.transform)[:6]} (CRS {self.grid.crs}); the raster is "
                f"{grid.width}×{grid.height} {tuple(grid.transform)[:6]} (CRS {grid.crs})"
            )


# --- coverage fractions ------------------------------------------------------------------
#
# The share of a cell [j, j+1] × [i, i+1] (grid units: u = column, v = row, v down) inside a
# polygon is, by Green's theorem, −Σ over the ring edges of ∫ clamp(u − j, 0, 1) dv. Cut each
# edge at the row lines into pieces; a piece in row i adds its full −dv to every cell of that
# row left of it, a partial amount to the cells it crosses and nothing to the cells right of
# it. So in each row only the crossed cells need computing: between them the coverage is
# constant (the sum of the pieces to the right), which gives the interior row spans directly.
# The same fractions as exactextract's, from the same geometry, without a per-cell hand-over.

ZERO_COVERAGE = 1e-9  # shares of a cell below this (rounding on a shared cell edge) count as none
PIECES_PER_CHUNK = 1_000_000  # edge pieces computed at once (bounds the memory of coverage_weights)


def _polygonal(geom: BaseGeometry | None, zone: int) -> BaseGeometry | None:
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.GeometryCollection):
        polys = [g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)]
        if len(polys) == len(shapely.get_parts(geom)):
            return shapely.union_all(polys) if polys else None
    raise ZonalError(
        f"zone {zone}: zonal statistics need polygons, got {geom.geom_type}; "
        "buffer points and lines first (buffer_weights)"
    )


def coverage_weights(
    geoms: Sequence[BaseGeometry | None], transform: Affine, width: int, height: int, crs: CRS | str | int | None = None
) -> GridWeights:
    """Coverage fractions of each geometry (in the grid's CRS) on the grid, computed once.

    Polygons and multipolygons; ``None`` and empty geometries give zones without cells
    (count 0, NaN statistics). Parts outside the grid are ignored.
    """
    grid = Grid(
        Affine(*tuple(transform)[:6]), int(width), int(height), None if crs is None else CRS.from_user_input(crs)
    )
    polys = [_polygonal(g, i) for i, g in enumerate(geoms)]
    zone_of = np.asarray([i for i, g in enumerate(polys) if g is not None], dtype=np.int64)
    spans: tuple[list[np.ndarray], ...] = ([], [], [], [])
    parts: tuple[list[np.ndarray], ...] = ([], [], [], [])
    if zone_of.size:
        zone, ua, va, ub, vb = _edges(np.asarray([polys[i] for i in zone_of.tolist()], dtype=object), zone_of, grid)
        rows = np.clip(np.ceil(np.maximum(va, vb)), 0, grid.height) - np.clip(
            np.floor(np.minimum(va, vb)), 0, grid.height
        )
        # chunks of whole zones, each starting a new PIECES_PER_CHUNK of pieces
        zone_start = (
            np.flatnonzero(np.concatenate(([True], zone[1:] != zone[:-1]))) if zone.size else np.empty(0, np.int64)
        )
        per_zone = np.add.reduceat(rows, zone_start) if zone_start.size else rows
        chunk = (np.cumsum(per_zone) - per_zone) // PIECES_PER_CHUNK
        new_chunk = np.concatenate(([True], chunk[1:] != chunk[:-1]))
        bounds = np.concatenate((zone_start[new_chunk], [zone.size]))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            _coverage_chunk(grid, zone[a:b], ua[a:b], va[a:b], ub[a:b], vb[a:b], spans, parts)
    return _weights_from(grid, len(geoms), spans, parts)


def _edges(polys: np.ndarray, zone_of: np.ndarray, grid: Grid) -> tuple[np.ndarray, ...]:
    """Every ring edge as (zone, u0, v0, u1, v1) in grid units, oriented so the formula gives +area.

    Exterior rings are made counter-clockwise and holes clockwise (on the map), whatever their
    stored orientation, so holes subtract and the parts of a multipolygon add up.
    """
    parts, part_of = shapely.get_parts(polys, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, coord_of = shapely.get_coordinates(rings, return_index=True)
    t = grid.transform
    u = (xy[:, 0] - t.c) / t.a
    v = (xy[:, 1] - t.f) / t.e
    same = coord_of[1:] == coord_of[:-1]  # consecutive vertices of one ring: an edge
    u0, v0, u1, v1, ring = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same], coord_of[:-1][same]
    # twice the signed area of each ring, counter-clockwise positive on the map (v points down)
    area2 = np.bincount(ring, weights=u0 * v1 - u1 * v0, minlength=rings.size)
    exterior = np.concatenate(([True], ring_of[1:] != ring_of[:-1])) if rings.size else np.empty(0, bool)
    flip = (area2 > 0) == exterior  # exterior rings must come out negative here (map CCW), holes positive
    f = flip[ring]
    u0, v0, u1, v1 = np.where(f, u1, u0), np.where(f, v1, v0), np.where(f, u0, u1), np.where(f, v0, v1)
    keep = v0 != v1  # horizontal edges add nothing (their cells get their share from the row's fill)
    return zone_of[part_of[ring_of[ring[keep]]]], u0[keep], v0[keep], u1[keep], v1[keep]


def _coverage_chunk(
    grid: Grid,
    zone: np.ndarray,
    ua: np.ndarray,
    va: np.ndarray,
    ub: np.ndarray,
    vb: np.ndarray,
    spans: tuple[list[np.ndarray], ...],
    parts: tuple[list[np.ndarray], ...],
) -> None:
    """Row spans of full cells and the partly covered cells of the zones owning these edges."""
    height, width = grid.height, grid.width
    # pieces: each edge cut at the row lines, rows outside the grid dropped
    vlo, vhi = np.minimum(va, vb), np.maximum(va, vb)
    r0 = np.clip(np.floor(vlo), 0, height).astype(np.int64)
    n = np.clip(np.ceil(vhi), 0, height).astype(np.int64) - r0
    edge = np.repeat(np.arange(zone.size), n)
    if edge.size == 0:
        return
    row = r0[edge] + (np.arange(edge.size) - np.repeat(np.cumsum(n) - n, n))
    lo, hi = np.maximum(vlo[edge], row), np.minimum(vhi[edge], row + 1)
    e_ua, e_va, e_ub, e_vb = ua[edge], va[edge], ub[edge], vb[edge]
    slope = (e_ub - e_ua) / (e_vb - e_va)
    u_lo = np.where(lo == e_va, e_ua, np.where(lo == e_vb, e_ub, e_ua + (lo - e_va) * slope))
    u_hi = np.where(hi == e_va, e_ua, np.where(hi == e_vb, e_ub, e_ua + (hi - e_va) * slope))
    dv = np.where(e_vb > e_va, lo - hi, hi - lo)  # −dv of the piece
    # a (zone, row) pair is a "line"; keys order cells and pieces by line, then column
    line = zone[edge] * height + row
    del slope, e_ua, e_va, e_ub, e_vb, lo, hi, edge, r0, n, row
    p, q = np.minimum(u_lo, u_hi), np.maximum(u_lo, u_hi)
    del u_lo, u_hi
    c0 = np.floor(p).astype(np.int64)
    c1 = np.maximum(c0, np.ceil(q).astype(np.int64) - 1)
    stride = np.int64(width + 2)  # key = line · (width + 2) + col + 1, col in [−1, width]
    piece_key = line * stride + np.clip(c0, -1, width) + 1
    order = np.argsort(piece_key, kind="stable")
    piece_key = piece_key[order]
    fill_cum = np.concatenate(([0.0], np.cumsum(dv[order])))
    del order

    # the cells each piece crosses (inside the grid), with the piece's share of them
    j0, j1 = np.maximum(c0, 0), np.minimum(c1, width - 1)
    m = np.maximum(j1 - j0 + 1, 0)
    piece = np.repeat(np.arange(p.size), m)
    col = j0[piece] + (np.arange(piece.size) - np.repeat(np.cumsum(m) - m, m))
    del j0, j1, m, c0, c1
    share = dv[piece] * _mean_clamped(p[piece] - col, q[piece] - col)
    cell_key = line[piece] * stride + col + 1
    del piece, col, p, q, dv
    order = np.argsort(cell_key, kind="stable")
    cell_key, share = cell_key[order], share[order]
    del order
    first = (
        np.flatnonzero(np.concatenate(([True], cell_key[1:] != cell_key[:-1])))
        if cell_key.size
        else np.empty(0, np.int64)
    )
    cell_key, share = cell_key[first], np.add.reduceat(share, first) if first.size else share

    # every line gets sentinels at col −1 and col width: the gaps between entries are uniform runs
    lines = np.unique(line)
    del line
    keys = np.concatenate((cell_key, lines * stride, lines * stride + width + 1))
    own = np.concatenate((share, np.zeros(2 * lines.size)))
    order = np.argsort(keys, kind="stable")
    keys, own = keys[order], own[order]
    del order, cell_key, share
    key_line, key_col = np.divmod(keys, stride)
    key_col -= 1
    line_end = np.searchsorted(piece_key, key_line * stride + width + 1, side="right")
    fill = fill_cum[line_end] - fill_cum[np.searchsorted(piece_key, keys, side="right")]  # pieces right of it
    del line_end
    real = (key_col >= 0) & (key_col < width)
    cov = np.where(real, own + fill, 0.0)
    # the run after each entry, up to the next entry of the line, has the coverage ``fill``
    nxt = np.concatenate((key_col[1:], [0]))
    gap = np.concatenate((key_line[1:] == key_line[:-1], [False])) & (nxt > key_col + 1)
    g_start, g_len, g_cov = key_col[gap] + 1, nxt[gap] - key_col[gap] - 1, fill[gap]
    g_line = key_line[gap]
    del nxt, gap, fill, own
    # full cells: crossed cells covered whole and full gaps, merged into maximal row spans
    c_full = real & (cov.astype(np.float32) >= 1)
    g_full = g_cov.astype(np.float32) >= 1
    f_line = np.concatenate((key_line[c_full], g_line[g_full]))
    f_start = np.concatenate((key_col[c_full], g_start[g_full]))
    f_len = np.concatenate((np.ones(int(c_full.sum()), np.int64), g_len[g_full]))
    order = np.lexsort((f_start, f_line))
    f_line, f_start, f_len = f_line[order], f_start[order], f_len[order]
    new = np.ones(f_line.size, bool)
    if f_line.size > 1:
        new[1:] = (f_line[1:] != f_line[:-1]) | (f_start[1:] != f_start[:-1] + f_len[:-1])
    heads = np.flatnonzero(new)
    s_zone, s_row = np.divmod(f_line[heads], height)
    _keep(spans, s_row, f_start[heads], np.add.reduceat(f_len, heads) if heads.size else f_len[heads], s_zone)
    # partly covered cells: crossed ones, and the rare gaps of a partial share (under a horizontal edge)
    c_part = real & ~c_full & (cov > ZERO_COVERAGE)
    g_part = ~g_full & (g_cov > ZERO_COVERAGE)
    rep = g_len[g_part]
    gp_line = np.repeat(g_line[g_part], rep)
    gp_col = np.repeat(g_start[g_part], rep) + (np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep))
    p_zone, p_row = np.divmod(np.concatenate((key_line[c_part], gp_line)), height)
    p_col = np.concatenate((key_col[c_part], gp_col))
    p_cov = np.minimum(np.concatenate((cov[c_part], np.repeat(g_cov[g_part], rep))), 1.0)
    _keep(parts, p_row, p_col, p_cov, p_zone)


def _mean_clamped(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of clamp(t, 0, 1) over t in [a, b] (a ≤ b), weighed by parts so it stays in [0, 1]."""
    below = np.maximum(np.minimum(b, 0.0) - a, 0.0)
    lo, hi = np.maximum(a, 0.0), np.minimum(b, 1.0)
    inside = np.maximum(hi - lo, 0.0)
    above = np.maximum(b - np.maximum(a, 1.0), 0.0)
    total = below + inside + above
    out = np.clip(a, 0.0, 1.0)
    np.divide(inside * (lo + hi) * 0.5 + above, total, out=out, where=total > 0)
    return out


def _keep(fields: tuple[list[np.ndarray], ...], *arrays: np.ndarray) -> None:
    for chunks, arr in zip(fields, arrays, strict=True):
        chunks.append(arr.astype(np.float32 if arr.dtype.kind == "f" else np.int32))


def _weights_from(
    grid: Grid, n_zones: int, spans: tuple[list[np.ndarray], ...], parts: tuple[list[np.ndarray], ...]
) -> GridWeights:
    """Concatenates the chunks field by field (freeing them as it goes) and sorts by row."""

    def take(chunks: list[np.ndarray], dtype: type) -> np.ndarray:
        arr: np.ndarray = np.concatenate(chunks).astype(dtype, copy=False) if chunks else np.empty(0, dtype)
        chunks.clear()
        return arr

    s_row, s_col, s_len, s_zone = (take(c, np.int32) for c in spans)
    p_row, p_col, p_cov, p_zone = (
        take(c, t) for c, t in zip(parts, (np.int32, np.int32, np.float32, np.int32), strict=True)
    )
    last = np.full(n_zones, -1, np.int32)
    np.maximum.at(last, s_zone, s_row)
    np.maximum.at(last, p_zone, p_row)
    so = np.argsort(s_row, kind="stable")
    s_row, s_col, s_len, s_zone = s_row[so], s_col[so], s_len[so], s_zone[so]
    del so
    po = np.argsort(p_row, kind="stable")
    p_row = p_row[po]
    p_col = p_col[po]
    p_cov = p_cov[po]
    p_zone = p_zone[po]
    return GridWeights(grid, n_zones, s_row, s_col, s_len, s_zone, p_row, p_col, p_zone, p_cov, last)


def buffer_weights(
    geoms: Sequence[BaseGeometry | None],
    distance: float | Sequence[float],
    transform: Affine,
    width: int,
    height: int,
    crs: CRS | str | int | None = None,
    quad_segs: int = 16,
) -> GridWeights:
    """Coverage weights of buffers around point and line assets (distance in the grid's CRS units).

    The grid's CRS must be projected (metres: EPSG:3405 for Vietnam), never degrees.
    """
    if crs is not None and not CRS.from_user_input(crs).is_projected:
        raise ZonalError("buffers need a projected (metric) CRS; reproject the assets and raster first")
    arr = np.asarray([shapely.Point() if g is None else g for g in geoms], dtype=object)
    buffers = shapely.buffer(arr, distance, quad_segs=quad_segs)
    return coverage_weights(list(buffers), transform, width, height, crs)


# --- statistics -------------------------------------------------------------------------


def _open(raster: str | os.PathLike[str] | DatasetReader) -> tuple[DatasetReader, bool]:
    if isinstance(raster, DatasetReader):
        return raster, False
    return rasterio.open(raster), True


def _window_rows(ds: DatasetReader, band: int) -> int:
    """Rows per read window: whole rows of blocks when they fit in WINDOW_CELLS, else a share of one."""
    block_h = ds.block_shapes[band - 1][0]
    if ds.width * block_h <= WINDOW_CELLS:
        return block_h * max(1, WINDOW_CELLS // (ds.width * block_h))
    rows = max(1, WINDOW_CELLS // ds.width)
    return max(1, block_h // -(-block_h // rows))  # an even share of a row of blocks, read whole


def _read_env(ds: DatasetReader, band: int) -> rasterio.Env:
    """A small GDAL block cache: rows of blocks are read whole, once, so the cache only passes blocks through."""
    return rasterio.Env(GDAL_CACHEMAX=16)


def _valid(values: np.ndarray, nodata: Any) -> np.ndarray | None:
    """Mask of valid values, or None when all are valid."""
    bad = None
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        bad = values == np.asarray(nodata).astype(values.dtype)
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        bad = nan if bad is None else bad | nan
    if bad is None or not bad.any():
        return None
    return ~bad


def _split_by_zone(
    zones: np.ndarray, lengths: np.ndarray, values: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zones (sorted), and the offsets of each zone's valid values in the filtered values."""
    starts = np.flatnonzero(np.concatenate(([True], zones[1:] != zones[:-1])))
    per_zone = np.add.reduceat(lengths, starts) if starts.size else np.empty(0, np.int64)
    if valid is not None:
        entry_starts = np.concatenate(([0], np.cumsum(per_zone)[:-1]))
        per_zone = np.add.reduceat(valid.astype(np.int64), entry_starts) if entry_starts.size else per_zone
        values = values[valid]
    offsets = np.concatenate(([0], np.cumsum(per_zone)))
    return zones[starts], offsets, values


def zonal_stats(
    raster: str | os.PathLike[str] | DatasetReader,
    weights: GridWeights,
    *,
    threshold: float | None = None,
    band: int = 1,
) -> list[ZoneStats]:
    """Coverage-weighted statistics of each zone of ``weights`` on one band of ``raster``.

    ``raster`` is a path or an open rasterio dataset on the weights' grid (else
    :class:`GridMismatchError`). Cells equal to the band's nodata or NaN are left out;
    ``share_above`` is the covered share of the valid area with value > ``threshold``.
    """
    ds, owned = _open(raster)
    try:
        weights.check(Grid.of(ds))
        with _read_env(ds, band):
            return _zonal(ds, weights, threshold, band)
    finally:
        if owned:
            ds.close()


def _zonal(ds: DatasetReader, w: GridWeights, threshold: float | None, band: int) -> list[ZoneStats]:
    nodata = ds.nodatavals[band - 1]
    width = w.grid.width
    dtype = np.dtype(ds.dtypes[band - 1])
    acc = _Summaries(
        w.n_zones, threshold, exact_float32=dtype == np.float32 or dtype.itemsize <= 2, integer=dtype.kind in "iub"
    )
    pend_full: dict[int, list[np.ndarray]] = {}
    pend_part: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    by_last = np.argsort(w.zone_last_row, kind="stable")
    last_sorted = w.zone_last_row[by_last]
    done_upto = int(np.searchsorted(last_sorted, -1, side="right"))  # zones without cells: nothing to wait for
    acc.finish(by_last[:done_upto], {}, {})
    step = _window_rows(ds, band)
    block_h = ds.block_shapes[band - 1][0]
    strip_rows = max(step, block_h)  # each row of blocks is read (decompressed) once
    strip: np.ndarray | None = None
    loaded = -1
    windows = [
        (r0, min(r0 + step, s0 + strip_rows, w.grid.height), s0)
        for s0 in range(0, w.grid.height, strip_rows)
        for r0 in range(s0, min(s0 + strip_rows, w.grid.height), step)
    ]
    for r0, r1, strip_r0 in windows:
        s0, s1 = np.searchsorted(w.span_row, (r0, r1))
        p0, p1 = np.searchsorted(w.part_row, (r0, r1))
        if s1 > s0 or p1 > p0:
            if loaded != strip_r0:
                strip, loaded = None, strip_r0
                strip = ds.read(band, window=Window(0, strip_r0, width, min(strip_rows, w.grid.height - strip_r0)))
            block = strip[r0 - strip_r0 : r1 - strip_r0]  # type: ignore[index]
            flat = block.reshape(-1)
            if s1 > s0:
                order = np.argsort(w.span_zone[s0:s1], kind="stable") + s0
                zones, lengths = w.span_zone[order], w.span_len[order].astype(np.int64)
                starts = (w.span_row[order].astype(np.int64) - r0) * width + w.span_col[order]
                # interior runs are copied as slices: no per-cell index is built
                vals = np.concatenate(
                    [flat[a:b] for a, b in zip(starts.tolist(), (starts + lengths).tolist(), strict=True)]
                )
                uz, off, vals = _split_by_zone(zones, lengths, vals, _valid(vals, nodata))
                # zones going on below this window keep a copy, so the window's values can be freed
                going_on = (w.zone_last_row[uz] >= r1).tolist()
                for k, z in enumerate(uz.tolist()):
                    if off[k + 1] > off[k]:
                        chunk = vals[off[k] : off[k + 1]]
                        pend_full.setdefault(z, []).append(chunk.copy() if going_on[k] else chunk)
            if p1 > p0:
                order = np.argsort(w.part_zone[p0:p1], kind="stable") + p0
                zones = w.part_zone[order]
                vals = block[w.part_row[order] - r0, w.part_col[order]]
                cov = w.part_cov[order]
                valid = _valid(vals, nodata)
                if valid is not None:
                    cov = cov[valid]
                uz, off, vals = _split_by_zone(zones, np.ones(zones.size, np.int64), vals, valid)
                going_on = (w.zone_last_row[uz] >= r1).tolist()
                for k, z in enumerate(uz.tolist()):
                    if off[k + 1] > off[k]:
                        pair = (vals[off[k] : off[k + 1]], cov[off[k] : off[k + 1]])
                        pend_part.setdefault(z, []).append((pair[0].copy(), pair[1].copy()) if going_on[k] else pair)
            del block, flat
        if r1 == min(strip_r0 + strip_rows, w.grid.height):  # the strip's last window: free it before summarising
            strip, loaded = None, -1
        upto = int(np.searchsorted(last_sorted, r1 - 1, side="right"))
        if upto > done_upto:
            acc.finish(by_last[done_upto:upto], pend_full, pend_part)
            done_upto = upto
    return acc.results()


def _ordered_u32(values: np.ndarray) -> np.ndarray:
    """float32 → uint32 with the same order (−0.0 joins 0.0, as in exactextract's value map)."""
    bits = (values.astype(np.float32) + np.float32(0)).view(np.uint32)
    flip = (bits.view(np.int32) >> 31).view(np.uint32)  # all ones for negative values
    flip |= np.uint32(0x80000000)
    return bits ^ flip


def _from_ordered_u32(keys: np.ndarray) -> np.ndarray:
    keys = keys.astype(np.uint32)
    bits = np.where(keys >> 31 == 1, keys & np.uint32(0x7FFFFFFF), ~keys)
    return bits.view(np.float32)


class _Summaries:
    """Per-zone results, filled batch by batch as zones are finished."""

    def __init__(self, n_zones: int, threshold: float | None, exact_float32: bool, integer: bool) -> None:
        self.out = np.full((n_zones, 8), np.nan)
        self.out[:, 0] = 0.0  # count and sum of no cell are 0, as in exactextract
        self.out[:, 6] = 0.0
        self.threshold = threshold
        self.exact_float32 = exact_float32
        self.integer = integer

    def finish(
        self, zones: np.ndarray, full: dict[int, list[np.ndarray]], part: dict[int, list[tuple[np.ndarray, np.ndarray]]]
    ) -> None:
        batch: list[int] = []
        cells = 0
        for z in zones.tolist():
            size = sum(a.size for a in full.get(z, ())) + sum(a[0].size for a in part.get(z, ()))
            if batch and cells + size > BATCH_CELLS:
                self._batch(batch, full, part)
                batch, cells = [], 0
            batch.append(z)
            cells += size
        if batch:
            self._batch(batch, full, part)

    def results(self) -> list[ZoneStats]:
        return [ZoneStats(*row) for row in self.out.tolist()]

    def _batch(
        self, zones: list[int], full: dict[int, list[np.ndarray]], part: dict[int, list[tuple[np.ndarray, np.ndarray]]]
    ) -> None:
        f_vals: list[np.ndarray] = []
        p_vals: list[np.ndarray] = []
        p_cov: list[np.ndarray] = []
        f_len: list[int] = []
        p_len: list[int] = []
        for zone in zones:
            chunks = full.pop(zone, [])
            if not chunks:
                v = np.empty(0, np.float32)
            else:
                v = np.concatenate(chunks) if len(chunks) > 1 else chunks[0].copy()
            if self.exact_float32:
                v.sort()
            f_vals.append(v)
            f_len.append(v.size)
            pchunks = part.pop(zone, [])
            p_vals.extend(c[0] for c in pchunks)
            p_cov.extend(c[1] for c in pchunks)
            p_len.append(sum(c[0].size for c in pchunks))
        nb = len(zones)
        pz = np.repeat(np.arange(nb, dtype=np.int64), p_len)
        pv = np.concatenate(p_vals) if p_vals else np.empty(0)
        pw = np.concatenate(p_cov).astype(np.float64) if p_cov else np.empty(0)
        fv = np.concatenate(f_vals) if f_vals else np.empty(0)
        if self.exact_float32:
            z, x, w = _distinct_float32(np.asarray(f_len, np.int64), fv, pz, pv, pw)
        else:
            fz = np.repeat(np.arange(nb, dtype=np.int64), f_len)
            z, x, w = _distinct_generic(fz, fv, pz, pv, pw)
        if z.size == 0:
            return
        stats = _segment_stats(z, x, w, self.threshold)
        if self.integer:  # exactextract returns quantiles in the raster's type: truncated to integers
            stats[:, 4:6] = np.trunc(stats[:, 4:6])
        self.out[np.asarray(zones)[np.unique(z)]] = stats


def _distinct_float32(
    f_len: np.ndarray, fv: np.ndarray, pz: np.ndarray, pv: np.ndarray, pw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (zone, value) pairs in order, with summed coverage.

    ``fv`` holds each zone's fully covered cells, sorted within the zone (``f_len`` of them a
    zone); ``pz``, ``pv``, ``pw`` the partly covered cells: zone, value and coverage.
    """
    zone_start = np.concatenate(([0], np.cumsum(f_len)[:-1]))
    new = np.ones(fv.size, bool)
    if fv.size > 1:
        np.not_equal(fv[1:], fv[:-1], out=new[1:])
    new[zone_start[f_len > 0]] = True
    first = np.flatnonzero(new)
    fz = np.repeat(np.arange(f_len.size, dtype=np.uint64), _per_zone(first, zone_start, f_len))
    keys = (fz << np.uint64(32)) | _ordered_u32(fv[first]).astype(np.uint64)
    wts = np.diff(np.concatenate((first, [fv.size]))).astype(np.float64)
    if pv.size:
        pk = (pz.astype(np.uint64) << np.uint64(32)) | _ordered_u32(pv).astype(np.uint64)
        order = np.argsort(pk, kind="stable")
        pk, pw = pk[order], pw[order]
        pfirst = np.flatnonzero(np.concatenate(([True], pk[1:] != pk[:-1])))
        pk, pw = pk[pfirst], np.add.reduceat(pw, pfirst)
        pos = np.searchsorted(keys, pk)
        hit = pos < keys.size
        hit[hit] = keys[pos[hit]] == pk[hit]
        wts[pos[hit]] += pw[hit]
        keys = np.insert(keys, pos[~hit], pk[~hit])
        wts = np.insert(wts, pos[~hit], pw[~hit])
    z = (keys >> np.uint64(32)).astype(np.int64)
    x = _from_ordered_u32(keys & np.uint64(0xFFFFFFFF)).astype(np.float64)
    return z, x, wts


def _per_zone(first: np.ndarray, zone_start: np.ndarray, f_len: np.ndarray) -> np.ndarray:
    """How many of the positions ``first`` (ascending) fall in each zone's range."""
    edges = np.searchsorted(
        first, np.concatenate((zone_start, [zone_start[-1] + f_len[-1]])) if f_len.size else np.zeros(1, np.int64)
    )
    return np.diff(edges)


def _distinct_generic(
    fz: np.ndarray, fv: np.ndarray, pz: np.ndarray, pv: np.ndarray, pw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = np.concatenate((fz, pz))
    x = np.concatenate((fv.astype(np.float64), pv.astype(np.float64))) + 0.0
    w = np.concatenate((np.ones(fz.size), pw))
    order = np.lexsort((x, z))
    z, x, w = z[order], x[order], w[order]
    if z.size == 0:
        return z, x, w
    first = np.flatnonzero(np.concatenate(([True], (z[1:] != z[:-1]) | (x[1:] != x[:-1]))))
    return z[first], x[first], np.add.reduceat(w, first)


def _segment_stats(z: np.ndarray, x: np.ndarray, w: np.ndarray, threshold: float | None) -> np.ndarray:
    """Statistics per zone from its distinct values ``x`` (ascending) and their coverage ``w``."""
    starts = np.flatnonzero(np.concatenate(([True], z[1:] != z[:-1])))
    ends = np.concatenate((starts[1:], [z.size]))
    n = ends - starts
    total = np.add.reduceat(w, starts)
    out = np.empty((starts.size, 8))
    out[:, 0] = total
    out[:, 6] = np.add.reduceat(x * w, starts)
    out[:, 1] = out[:, 6] / total
    out[:, 2] = x[starts]
    out[:, 3] = x[ends - 1]
    seg = np.repeat(np.arange(starts.size), n)
    rank = np.arange(z.size) - starts[seg]
    cum = np.cumsum(w)
    before = cum - w - (cum[starts] - w[starts])[seg]  # coverage of smaller values in the zone
    # exactextract's weighted quantile: s_i = i·w_i + (n − 1)·(weights before i), interpolated
    s = rank * w + (n[seg] - 1) * before
    for col, q in ((4, QUANTILES[0]), (5, QUANTILES[1])):
        target = q * (n - 1) * total
        cand = np.where(s > target[seg], np.arange(z.size), z.size)
        right = np.minimum.reduceat(cand, starts)
        val = x[ends - 1].copy()
        first = right == starts
        val[first] = x[starts[first]]
        mid = (right < z.size) & ~first
        r = right[mid]
        span = s[r] - s[r - 1]
        val[mid] = x[r - 1] + (target[mid] - s[r - 1]) * (x[r] - x[r - 1]) / span
        out[:, col] = val
    if threshold is None:
        out[:, 7] = np.nan
    else:
        out[:, 7] = np.add.reduceat(np.where(x > threshold, w, 0.0), starts) / total
    return out


# --- points ------------------------------------------------------------------------------


def sample_points(
    raster: str | os.PathLike[str] | DatasetReader, xy: np.ndarray | Sequence[tuple[float, float]], *, band: int = 1
) -> np.ndarray:
    """Values of the cells holding each point (x, y in the raster's CRS); NaN for nodata or outside.

    Each raster block holding points is read once.
    """
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    out = np.full(pts.shape[0], np.nan)
    ds, owned = _open(raster)
    try:
        with _read_env(ds, band):
            grid = Grid.of(ds)
            t = grid.transform
            cols = np.floor((pts[:, 0] - t.c) / t.a).astype(np.int64)
            rows = np.floor((pts[:, 1] - t.f) / t.e).astype(np.int64)
            inside = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width)
            bh, bw = ds.block_shapes[band - 1]
            which = np.flatnonzero(inside)
            block_id = (rows[which] // bh) * (-(-ds.width // bw)) + cols[which] // bw
            order = np.argsort(block_id, kind="stable")
            which, block_id = which[order], block_id[order]
            bounds = np.flatnonzero(np.concatenate(([True], block_id[1:] != block_id[:-1], [True])))
            nodata = ds.nodatavals[band - 1]
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
                pick = which[a:b]
                r0 = int(rows[pick[0]] // bh * bh)
                c0 = int(cols[pick[0]] // bw * bw)
                win = Window(c0, r0, min(bw, ds.width - c0), min(bh, ds.height - r0))
                block = ds.read(band, window=win)
                vals = block[rows[pick] - r0, cols[pick] - c0]
                valid = _valid(vals, nodata)
                vals = vals.astype(np.float64)
                if valid is not None:
                    vals[~valid] = np.nan
                out[pick] = vals
    finally:
        if owned:
            ds.close()
    return out
