"""Pure geometry helpers: CRS transforms and the approximate commune tessellation.

No database code here. Metric work happens in EPSG:3405 (VN-2000 / UTM 48N).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from spatial import ParameterError

WGS84 = 4326
VN2000_UTM48N = 3405


def check_tile_grid(z: int, x: int, y: int, min_zoom: int, max_zoom: int) -> None:
    """Refuse a zoom outside min_zoom–max_zoom and Web Mercator columns or rows that do not exist at it."""
    if not min_zoom <= z <= max_zoom:
        raise ParameterError("z", f"zoom {z} is outside {min_zoom}–{max_zoom}")
    last = 2**z - 1
    if not 0 <= x <= last:
        raise ParameterError("x", f"column {x} does not exist at zoom {z} (0–{last})")
    if not 0 <= y <= last:
        raise ParameterError("y", f"row {y} does not exist at zoom {z} (0–{last})")


#: households carry the Morton code of the zoom-24 Web Mercator tile holding them (``tile_key``,
#: migration 0031's ``sinhke_tile_key``): a tile of zoom z ≤ 24 is one range of those keys
TILE_KEY_ZOOM = 24


def _morton(x: int, y: int) -> int:
    """x's bits on the even places, y's on the odd ones, as ``sinhke_tile_key`` interleaves them."""
    key = 0
    for bit in range(TILE_KEY_ZOOM):
        key |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
    return key


def tile_key_range(z: int, x: int, y: int) -> tuple[int, int]:
    """The ``tile_key`` values of the points inside tile (z, x, y), both ends included."""
    shift = 2 * (TILE_KEY_ZOOM - z)
    low = _morton(x, y) << shift
    return low, low + (1 << shift) - 1


#: a CRS as an EPSG code or anything pyproj reads ("EPSG:3405", WKT)
CrsLike = int | str


@cache
def _transformer(src: CrsLike, dst: CrsLike) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


@cache
def _same_crs(src: CrsLike, dst: CrsLike) -> bool:
    return bool(CRS.from_user_input(src) == CRS.from_user_input(dst))


def transform_xy(xy: np.ndarray, src: CrsLike, dst: CrsLike) -> np.ndarray:
    """Reproject an (n, 2) array of points (x = lon/easting, y = lat/northing) in one call."""
    if _same_crs(src, dst):
        return xy
    return np.column_stack(_transformer(src, dst).transform(xy[:, 0], xy[:, 1]))


def transform(geom: BaseGeometry | np.ndarray, src: CrsLike, dst: CrsLike) -> Any:
    """Reproject a shapely geometry, or an array of them at once (all their vertices in one call)."""
    return shapely.transform(geom, lambda xy: transform_xy(xy, src, dst))


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    return transform(geom, WGS84, VN2000_UTM48N)


def to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    return transform(geom, VN2000_UTM48N, WGS84)


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(polys)


@dataclass(frozen=True)
class Seed:
    """A unit to tessellate: its real centroid and bounding box (lon/lat)."""

    code: str
    lon: float
    lat: float
    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class SplitSeed:
    """A new unit's centroid, competing for a split old unit's area."""

    code: str
    lon: float
    lat: float


def tessellate(
    seeds: Sequence[Seed],
    new_unit_of: dict[str, str | list[SplitSeed]],
    resolution_m: float = 200.0,
    simplify_m: float = 120.0,
    gap_m: float = 2000.0,
) -> dict[tuple[str, str], MultiPolygon]:
    """Approximate polygons of old units cut into pieces by new unit, in EPSG:4326.

    Each grid cell goes to the nearest centroid among the units whose real bounding
    box holds it, so a unit's cells lie inside its box; cells in the gaps between
    boxes (within ``gap_m``) go to the nearest unit whose box, widened by ``gap_m``,
    holds them. A unit that
    went whole into one new unit is one piece; a split unit is divided among its new
    units by nearest new centroid. Pieces form one coverage (shared edges identical),
    so unions of pieces nest exactly: old units, new units, districts, province.
    """
    t = _transformer(WGS84, VN2000_UTM48N)
    west = min(s.west for s in seeds)
    east = max(s.east for s in seeds)
    south = min(s.south for s in seeds)
    north = max(s.north for s in seeds)
    corners_x, corners_y = t.transform([west, west, east, east], [south, north, south, north])
    x0, x1 = min(corners_x), max(corners_x)
    y0, y1 = min(corners_y), max(corners_y)
    nx = int(np.ceil((x1 - x0) / resolution_m))
    ny = int(np.ceil((y1 - y0) / resolution_m))
    xs = x0 + (np.arange(nx) + 0.5) * resolution_m
    ys = y1 - (np.arange(ny) + 0.5) * resolution_m
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = _transformer(VN2000_UTM48N, WGS84).transform(gx, gy)

    seed_x, seed_y = t.transform([s.lon for s in seeds], [s.lat for s in seeds])
    best = np.full(gx.shape, np.inf)
    label = np.zeros(gx.shape, dtype=np.int32)  # 0 = outside every box
    for i, s in enumerate(seeds):
        inside = (lon >= s.west) & (lon <= s.east) & (lat >= s.south) & (lat <= s.north)
        d = np.hypot(gx - seed_x[i], gy - seed_y[i])
        take = inside & (d < best)
        best[take] = d[take]
        label[take] = i + 1
    # close the gaps the boxes leave (box data are coarse): cells within ``gap_m`` of a
    # box go to the nearest centroid among units whose widened box holds them
    margin_deg = gap_m / 111_000.0
    unlabeled = label == 0
    best2 = np.full(gx.shape, np.inf)
    for i, s in enumerate(seeds):
        inside = (
            unlabeled
            & (lon >= s.west - margin_deg)
            & (lon <= s.east + margin_deg)
            & (lat >= s.south - margin_deg)
            & (lat <= s.north + margin_deg)
        )
        d = np.hypot(gx - seed_x[i], gy - seed_y[i])
        take = inside & (d < best2)
        best2[take] = d[take]
        label[take] = i + 1
    # a unit left without cells still owns the cell of its own centroid
    present = set(np.unique(label).tolist())
    for i in range(len(seeds)):
        if i + 1 in present:
            continue
        col = int((seed_x[i] - x0) // resolution_m)
        row = int((y1 - seed_y[i]) // resolution_m)
        if 0 <= row < ny and 0 <= col < nx:
            label[row, col] = i + 1

    # pieces: split units' cells go to the nearest of their new units
    pieces: list[tuple[str, str]] = []
    piece_index: dict[tuple[str, str], int] = {}
    piece_label = np.zeros_like(label)
    for i, s in enumerate(seeds):
        target = new_unit_of[s.code]
        mask = label == i + 1
        if isinstance(target, str):
            key = (s.code, target)
            piece_index[key] = len(pieces) + 1
            pieces.append(key)
            piece_label[mask] = piece_index[key]
            continue
        tx, ty = t.transform([c.lon for c in target], [c.lat for c in target])
        dist = np.stack([np.hypot(gx[mask] - x, gy[mask] - y) for x, y in zip(tx, ty, strict=True)])
        nearest = np.argmin(dist, axis=0)
        # every new unit named by the crosswalk gets a share, however far its centroid
        for j in range(len(target)):
            if not np.any(nearest == j):
                margin = dist[j] - dist.min(axis=0)
                nearest[margin <= np.quantile(margin, 0.25)] = j
        values = np.zeros(nearest.shape, dtype=np.int32)
        for j, c in enumerate(target):
            key = (s.code, c.code)
            piece_index[key] = len(pieces) + 1
            pieces.append(key)
            values[nearest == j] = piece_index[key]
        piece_label[mask] = values

    from rasterio.features import shapes

    # vectorise in pixel space, then place on the grid (column → easting, row → northing)
    def to_grid(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([x0 + xy[:, 0] * resolution_m, y1 - xy[:, 1] * resolution_m])

    parts: dict[int, list[Polygon]] = defaultdict(list)
    for geom, value in shapes(piece_label, mask=piece_label > 0, connectivity=4):
        parts[int(value)].append(shapely.transform(shape(geom), to_grid))
    keys = sorted(parts)
    merged = [shapely.union_all(parts[k]) for k in keys]
    simplified = shapely.coverage_simplify(np.array(merged, dtype=object), simplify_m)
    out: dict[tuple[str, str], MultiPolygon] = {}
    for k, g in zip(keys, simplified, strict=True):
        g = shapely.make_valid(g)
        out[pieces[k - 1]] = as_multipolygon(to_wgs84(g))
    return out


def union(geoms: Sequence[BaseGeometry]) -> MultiPolygon:
    return as_multipolygon(shapely.union_all(list(geoms)))


def random_points_in(
    polygon: BaseGeometry,
    n: int,
    rng: np.random.Generator,
    *,
    around: np.ndarray | None = None,
    spread: float = 0.0,
) -> np.ndarray:
    """n points (x, y) inside polygon: uniform, or scattered (normal, sd ``spread``) around
    the given centres. Rejection sampling, vectorised; same CRS as the polygon."""
    shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    tries = 0
    while len(out) < n:
        need = n - len(out)
        if around is not None and len(around) and tries < 20:
            idx = rng.integers(0, len(around), size=need * 2)
            cand = around[idx] + rng.normal(0, spread, size=(need * 2, 2))
        else:
            cand = np.column_stack([rng.uniform(minx, maxx, need * 3), rng.uniform(miny, maxy, need * 3)])
        ok = shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[ok][:need]])
        tries += 1
        if tries > 200:
            raise ValueError("could not place points inside polygon")
    return out
