"""Siting: which k candidate sites cover the most unserved poor and near-poor households.

A maximal covering location problem (Church & ReVelle 1974), solved exactly by HiGHS:

    maximise   sum_i w_i y_i
    subject to y_i <= sum_{j covers i} x_j     (a household counts once some chosen site covers it)
               sum_j x_j <= k                  (and sum_j c_j x_j <= budget, when costs are given)
               x_j in {0, 1}, 0 <= y_i <= 1

Demand is the households placed in the chosen 2025 communes whose latest classification is poor or
near-poor (weights 1 and 0.5 unless told otherwise) and that are not already served: for a water
scheme, connected to a functional scheme; for a work type, within the radius of a completed work of
that type. Candidates come from a grid inside the communes, a file or the map; a candidate where the
catalogued hazards pass their exposure threshold (100-year flood depth > 0.15 m, landslide class >= 4:
``exposure_thresholds``) is excluded. Coverage (who is within the radius of which candidate, in
VN-2000 / UTM 48N metres) comes from a KD-tree, as one sparse matrix. A greedy choice (largest
marginal gain first) is computed beside the solver's, with its shortfall.

Everything here runs in the caller's transaction and scope: a scoped user's demand is what their
policies let them see, and communes outside their scope are refused.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree
from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.geometry import VN2000_UTM48N, WGS84, transform_xy
from spatial.models.programme import WORK_TYPES
from spatial.roads import check_distance, check_road_network, road_coverage

FACILITIES = ("water_scheme", *WORK_TYPES)
#: household classes that are demand, and their default weights
DEFAULT_WEIGHTS: Mapping[str, float] = {"poor": 1.0, "near_poor": 0.5}
MAX_RADIUS_M = 50_000.0
MAX_CANDIDATES = 50_000
GRID_SPACING_RANGE = (100.0, 50_000.0)
DEFAULT_TIME_LIMIT_S = 60.0
#: the hazards whose catalogued rasters rule a candidate out, with the return period looked at
HAZARD_LIMITS = (("flood_depth", 100), ("landslide", None))

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Candidate:
    #: the feature id or row number in the file, the grid cell number, or the click number
    candidate: str
    lon: float
    lat: float
    cost: int | None = None


@dataclass(frozen=True)
class SitingParams:
    communes: tuple[str, ...]
    radius_m: float
    k: int
    candidates: tuple[Candidate, ...]
    facility: str = "water_scheme"
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    budget_vnd: int | None = None
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    #: how the candidates were made, for the record: grid (with spacing), file, map
    candidate_source: str = "file"
    grid_spacing_m: float | None = None
    #: straight (a straight line in VN-2000 / UTM 48N metres) or road (along the road layer, pgRouting)
    distance: str = "straight"

    def record(self) -> dict[str, Any]:
        """The parameters as stored with a scenario (JSON)."""
        return {
            "communes": list(self.communes),
            "radius_m": self.radius_m,
            "k": self.k,
            "facility": self.facility,
            "weights": dict(self.weights),
            "budget_vnd": self.budget_vnd,
            "time_limit_s": self.time_limit_s,
            "candidate_source": self.candidate_source,
            "grid_spacing_m": self.grid_spacing_m,
            "distance": self.distance,
            "candidates": [asdict(c) for c in self.candidates],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SitingParams:
        """The parameters back from ``record()`` (what a run out of process reads from its scenario)."""
        return cls(
            communes=tuple(record["communes"]),
            radius_m=float(record["radius_m"]),
            k=int(record["k"]),
            candidates=tuple(Candidate(**c) for c in record["candidates"]),
            facility=record.get("facility") or "water_scheme",
            weights=dict(record.get("weights") or DEFAULT_WEIGHTS),
            budget_vnd=record.get("budget_vnd"),
            time_limit_s=float(record.get("time_limit_s") or DEFAULT_TIME_LIMIT_S),
            candidate_source=record.get("candidate_source") or "file",
            grid_spacing_m=record.get("grid_spacing_m"),
            distance=record.get("distance") or "straight",
        )


@dataclass
class Solution:
    """What the MILP solver returned: the chosen columns and how good the answer is known to be."""

    chosen: list[int]
    objective: float
    optimal: bool
    gap: float
    seconds: float
    status: str
    #: HiGHS's own run (the model built): the bare solve
    solver_seconds: float = 0.0


@dataclass
class Site:
    candidate: str
    lon: float
    lat: float
    gain: float
    households: list[str]
    cost: int | None = None


@dataclass
class SitingResult:
    objective: float
    greedy_objective: float
    optimal: bool
    gap: float | None
    seconds: float
    status: str
    sites: list[Site]
    greedy_sites: list[str]
    #: demand households: code, lon, lat, class, weight, and the candidate that newly covers it
    households: list[dict[str, Any]]
    excluded: list[dict[str, str]]
    #: what could not be checked (a hazard raster missing from the store)
    warnings: list[str]
    candidates: int
    demand_households: int
    demand_weight: float
    coverage_seconds: float

    @property
    def greedy_shortfall(self) -> float:
        return self.objective - self.greedy_objective

    def summary(self) -> dict[str, Any]:
        """The scriptable answer of ``sinhke siting run --json``."""
        return {
            "objective": self.objective,
            "greedy_objective": self.greedy_objective,
            "optimal": self.optimal,
            "gap": self.gap,
            "seconds": self.seconds,
            "sites": [
                {"candidate": s.candidate, "lon": s.lon, "lat": s.lat, "gain": s.gain, "households": s.households}
                for s in self.sites
            ],
        }

    def to_json(self) -> dict[str, Any]:
        out = self.summary()
        out.update(
            status=self.status,
            greedy_sites=self.greedy_sites,
            greedy_shortfall=self.greedy_shortfall,
            households=self.households,
            excluded=self.excluded,
            warnings=self.warnings,
            candidates=self.candidates,
            demand_households=self.demand_households,
            demand_weight=self.demand_weight,
            coverage_seconds=self.coverage_seconds,
        )
        for site, raw in zip(self.sites, out["sites"], strict=True):
            raw["cost"] = site.cost
        return out


# ----------------------------------------------------------------------------- parameters
def check_radius(radius_m: float) -> float:
    if not isinstance(radius_m, int | float) or math.isnan(radius_m) or not 0 < radius_m <= MAX_RADIUS_M:
        raise ParameterError("radius", f"{radius_m} m: give a radius above 0 and at most {MAX_RADIUS_M:,.0f} m")
    return float(radius_m)


def check_k(k: int, candidates: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ParameterError("k", f"{k!r}: give a whole number of sites, at least 1")
    if k > candidates:
        raise ParameterError("k", f"{k} sites asked for but only {candidates} candidates given")
    return k


def parse_weights(items: Sequence[str] | Mapping[str, Any] | None) -> dict[str, float]:
    """``["poor=1", "near_poor=0.5"]`` (or a mapping) over the defaults; classes outside
    poor/near-poor are refused, as are weights that are not finite numbers >= 0."""
    weights = dict(DEFAULT_WEIGHTS)
    pairs: list[tuple[str, Any]]
    if items is None:
        return weights
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            name, sep, value = str(item).partition("=")
            if not sep:
                raise ParameterError("weight", f"{item!r}: write CLASS=W, e.g. near_poor=0.5")
            pairs.append((name, value))
    for name, value in pairs:
        cls = str(name).strip().replace("-", "_")
        if cls not in DEFAULT_WEIGHTS:
            raise ParameterError("weight", f"unknown household class {name!r}", list(DEFAULT_WEIGHTS))
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise ParameterError("weight", f"{name}={value!r}: the weight is not a number") from None
        if not math.isfinite(w) or w < 0:
            raise ParameterError("weight", f"{name}={value!r}: a weight is a number >= 0")
        weights[cls] = w
    return weights


def check_facility(facility: str | None) -> str:
    if not facility:
        return "water_scheme"
    if facility not in FACILITIES:
        raise ParameterError("facility", f"unknown facility type {facility!r}", list(FACILITIES))
    return facility


def _coordinate(value: Any, where: str, name: str, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError("candidates", f"{where}: {name} {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ParameterError("candidates", f"{where}: {name} {v} is outside {lo}..{hi}")
    return v


def _cost(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError("candidates", f"{where}: cost {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(v) or v < 0 or v != int(v):
        raise ParameterError("candidates", f"{where}: cost {value!r} must be a whole number of VND >= 0")
    return int(v)


def read_candidates(data: bytes, filename: str) -> list[Candidate]:
    """Candidate points from a GeoJSON (Point features; ``candidate`` is the feature id, else its
    1-based position) or a CSV (columns lon/lat, longitude/latitude or x/y in WGS 84; ``candidate``
    is the data row number, 1 for the first row under the header). An optional ``cost`` (VND) per
    candidate. Anything without a point geometry is refused, naming the feature or row."""
    name = filename.lower()
    try:
        body = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParameterError("candidates", f"{filename}: not UTF-8 text") from None
    if name.endswith((".geojson", ".json")) or body.lstrip().startswith("{"):
        out = _geojson_candidates(body, filename)
    elif name.endswith(".csv"):
        out = _csv_candidates(body, filename)
    else:
        raise ParameterError("candidates", f"{filename}: give a GeoJSON (.geojson) or CSV (.csv) file")
    if not out:
        raise ParameterError("candidates", f"{filename}: no candidate points in the file")
    if len(out) > MAX_CANDIDATES:
        raise ParameterError("candidates", f"{filename}: {len(out):,} candidates, at most {MAX_CANDIDATES:,}")
    ids = [c.candidate for c in out]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ParameterError("candidates", f"{filename}: the candidate id {dup!r} appears twice")
    return out


def _geojson_candidates(body: str, filename: str) -> list[Candidate]:
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ParameterError("candidates", f"{filename}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise ParameterError("candidates", f"{filename}: not a GeoJSON object")
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise ParameterError("candidates", f"{filename}: a FeatureCollection needs a list of features")
    out = []
    for n, feat in enumerate(features, start=1):
        if not isinstance(feat, dict):
            raise ParameterError("candidates", f"{filename}: feature {n} is not an object")
        ident = feat.get("id")
        where = f"{filename}: feature {ident if ident is not None else n}"
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("coordinates") in (None, []):
            raise ParameterError("candidates", f"{where} has no geometry")
        if geom.get("type") != "Point":
            raise ParameterError("candidates", f"{where}: geometry {geom.get('type')!r}: candidates are points")
        coords = geom["coordinates"]
        if not isinstance(coords, list) or len(coords) < 2:
            raise ParameterError("candidates", f"{where}: a point needs [lon, lat]")
        props = feat.get("properties") or {}
        out.append(
            Candidate(
                candidate=str(ident if ident is not None else n),
                lon=_coordinate(coords[0], where, "longitude", -180, 180),
                lat=_coordinate(coords[1], where, "latitude", -90, 90),
                cost=_cost(props.get("cost") if isinstance(props, dict) else None, where),
            )
        )
    return out


_LON = ("lon", "lng", "longitude", "x", "kinh_do", "kinh độ")
_LAT = ("lat", "latitude", "y", "vi_do", "vĩ độ")


def _csv_candidates(body: str, filename: str) -> list[Candidate]:
    reader = csv.DictReader(io.StringIO(body))
    header = {(h or "").strip().lower(): h for h in (reader.fieldnames or [])}
    lon_col = next((header[h] for h in _LON if h in header), None)
    lat_col = next((header[h] for h in _LAT if h in header), None)
    if lon_col is None or lat_col is None:
        raise ParameterError("candidates", f"{filename}: no geometry: the CSV needs lon and lat columns (WGS 84)")
    cost_col = header.get("cost") or header.get("chi_phi")
    out = []
    for n, row in enumerate(reader, start=1):
        where = f"{filename}: row {n}"
        if not (row.get(lon_col) or "").strip() or not (row.get(lat_col) or "").strip():
            raise ParameterError("candidates", f"{where} has no geometry (empty {lon_col} or {lat_col})")
        out.append(
            Candidate(
                candidate=str(n),
                lon=_coordinate(row[lon_col], where, lon_col, -180, 180),
                lat=_coordinate(row[lat_col], where, lat_col, -90, 90),
                cost=_cost(row.get(cost_col) if cost_col else None, where),
            )
        )
    return out


def clicked_candidates(points: Any) -> list[Candidate]:
    """Points clicked on the map: ``[[lon, lat], ...]`` or ``[{"lon":, "lat":, "cost"?}, ...]``."""
    if not isinstance(points, list) or not points:
        raise ParameterError("candidates", "give at least one point clicked on the map")
    if len(points) > MAX_CANDIDATES:
        raise ParameterError("candidates", f"{len(points):,} points, at most {MAX_CANDIDATES:,}")
    out = []
    for n, p in enumerate(points, start=1):
        where = f"point {n}"
        if isinstance(p, dict):
            lon, lat, cost = p.get("lon"), p.get("lat"), p.get("cost")
        elif isinstance(p, list) and len(p) >= 2:
            lon, lat, cost = p[0], p[1], None
        else:
            raise ParameterError("candidates", f"{where} has no geometry")
        if lon is None or lat is None:
            raise ParameterError("candidates", f"{where} has no geometry")
        out.append(
            Candidate(
                str(n),
                _coordinate(lon, where, "lon", -180, 180),
                _coordinate(lat, where, "lat", -90, 90),
                _cost(cost, where),
            )
        )
    return out


def commune_ids(session: Session, codes: Sequence[str]) -> list[int]:
    """The 2025 communes named, each visible to the caller; any other code is refused by name."""
    wanted = [c.strip() for c in codes if c and c.strip()]
    if not wanted:
        raise ParameterError("communes", "name at least one 2025 commune code")
    rows = session.execute(
        text(
            "SELECT code, id FROM admin_units WHERE level = 'commune' AND boundary = 'current' "
            "AND valid_to IS NULL AND code = ANY(:codes)"
        ),
        {"codes": wanted},
    ).all()
    found: dict[str, int] = {r[0]: r[1] for r in rows}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ParameterError(
            "communes", f"{', '.join(missing)}: not a 2025 commune, or outside the communes you may plan for"
        )
    return sorted({found[c] for c in wanted})


def plannable_communes(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the 2025 communes the caller may see, by name."""
    rows = session.execute(
        text(
            "SELECT code, name FROM admin_units WHERE level = 'commune' AND boundary = 'current' "
            "AND valid_to IS NULL ORDER BY name, code"
        )
    ).all()
    return [(r.code, r.name) for r in rows]


def grid_candidates(session: Session, ids: Sequence[int], spacing_m: float) -> list[Candidate]:
    """Cell centres of a square grid of ``spacing_m`` (VN-2000 / UTM 48N) that fall inside the communes."""
    lo, hi = GRID_SPACING_RANGE
    if not isinstance(spacing_m, int | float) or math.isnan(spacing_m) or not lo <= spacing_m <= hi:
        raise ParameterError("spacing", f"{spacing_m} m: give a grid spacing of {lo:,.0f} to {hi:,.0f} m")
    area = session.execute(
        text("SELECT ST_Area(ST_Transform(ST_Union(geom), :m)) FROM admin_units WHERE id = ANY(:ids)"),
        {"ids": list(ids), "m": VN2000_UTM48N},
    ).scalar_one()
    if area is None:
        raise ParameterError("communes", "the communes have no area")
    if area / (spacing_m * spacing_m) > MAX_CANDIDATES:
        raise ParameterError(
            "spacing", f"{spacing_m} m makes about {area / spacing_m**2:,.0f} candidates, at most {MAX_CANDIDATES:,}"
        )
    rows = session.execute(
        text("""
        WITH area AS (SELECT ST_Transform(ST_Union(geom), :m) AS g FROM admin_units WHERE id = ANY(:ids)),
        cells AS (SELECT ST_Centroid(c.geom) AS p FROM area, ST_SquareGrid(:s, area.g) AS c
                  WHERE ST_Intersects(c.geom, area.g))
        SELECT ST_X(w), ST_Y(w) FROM (
            SELECT ST_Transform(p, 4326) AS w FROM cells, area WHERE ST_Intersects(p, area.g)) q
        ORDER BY ST_Y(w) DESC, ST_X(w)"""),
        {"ids": list(ids), "m": VN2000_UTM48N, "s": float(spacing_m)},
    ).all()
    return [Candidate(str(n), round(x, 6), round(y, 6)) for n, (x, y) in enumerate(rows, start=1)]


# ----------------------------------------------------------------------------- data
@dataclass
class Demand:
    codes: list[str]
    classes: list[str]
    weights: np.ndarray
    lonlat: np.ndarray  # (n, 2)


_DEMAND_SQL = """
        SELECT h.code, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, l.status
        FROM household_units hu
        JOIN households h ON h.id = hu.household_id
        JOIN LATERAL (
            SELECT pc.status FROM survey_rounds sr JOIN poverty_classifications pc ON pc.survey_round_id = sr.id
            WHERE sr.household_id = h.id ORDER BY sr.year DESC LIMIT 1) l ON true
        WHERE hu.boundary = 'current' AND hu.commune_id = ANY(:ids)
          AND h.geom IS NOT NULL AND h.deleted_at IS NULL AND l.status = ANY(:classes)
          AND NOT SERVED
        ORDER BY h.code"""


def demand_sql(facility: str) -> str:
    """The demand query for a facility type (binds ``:ids``, ``:classes``, ``:facility``, ``:radius``):
    households a functional scheme serves, or within the radius of a completed work of the type,
    count zero."""
    if facility == "water_scheme":
        served = """EXISTS (SELECT 1 FROM water_scheme_households wsh JOIN water_schemes s ON s.id = wsh.scheme_id
                    WHERE wsh.household_id = h.id AND s.status = 'functional' AND s.deleted_at IS NULL)"""
    else:
        served = """EXISTS (SELECT 1 FROM infrastructure_works w
                    WHERE w.work_type = :facility AND w.status = 'completed' AND w.deleted_at IS NULL
                      AND ST_DWithin(w.geom::geography, h.geom::geography, :radius))"""
    return _DEMAND_SQL.replace("SERVED", served)  # one of two fixed predicates


def demand(
    session: Session, ids: Sequence[int], facility: str, radius_m: float, weights: Mapping[str, float]
) -> Demand:
    """Poor and near-poor households (latest classification) placed in the communes, not served."""
    classes = [c for c, w in weights.items() if w > 0]
    rows = session.execute(
        text(demand_sql(facility)),
        {"ids": list(ids), "classes": classes, "facility": facility, "radius": radius_m},
    ).all()
    return Demand(
        codes=[r.code for r in rows],
        classes=[r.status for r in rows],
        weights=np.array([weights[r.status] for r in rows], dtype=np.float64),
        lonlat=np.array([(r.lon, r.lat) for r in rows], dtype=np.float64).reshape(-1, 2),
    )


def hazard_exclusions(
    session: Session, raster_store: Any, candidates: Sequence[Candidate]
) -> tuple[dict[int, str], list[str]]:
    """Candidates (by position) where a catalogued hazard passes its exposure threshold, and why;
    and the hazard rasters that could not be checked (their file is missing from the store)."""
    import rasterio

    from spatial.zonal import sample_points

    if not candidates:
        return {}, []
    rows = session.execute(
        text("""
        SELECT r.name, r.hazard, r.return_period, r.path, t.op, t.value, t.label
        FROM rasters r JOIN LATERAL (
            SELECT * FROM exposure_thresholds t WHERE t.hazard = r.hazard
              AND (t.return_period IS NULL OR t.return_period = r.return_period)
            ORDER BY t.return_period NULLS LAST LIMIT 1) t ON true
        WHERE (r.hazard = 'flood_depth' AND r.return_period = 100) OR r.hazard = 'landslide'
        ORDER BY r.id""")
    ).all()
    lonlat = np.array([(c.lon, c.lat) for c in candidates], dtype=np.float64)
    out: dict[int, str] = {}
    unchecked: list[str] = []
    for name, _hazard, _rp, path, op, value, label in rows:
        file = raster_store / path
        if not file.is_file():
            unchecked.append(f"{name}: its file is missing from the raster store, not checked")
            continue
        with rasterio.open(file) as ds:
            xy = transform_xy(lonlat, WGS84, ds.crs.to_wkt()) if ds.crs else lonlat
            values = sample_points(ds, xy)
        with np.errstate(invalid="ignore"):
            holds = {">": values > value, ">=": values >= value, "<": values < value, "<=": values <= value}[op]
        for i in np.flatnonzero(holds & ~np.isnan(values)).tolist():
            out.setdefault(i, f"{name}: {values[i]:.2f} ({label})")
    return out, unchecked


def coverage(candidate_lonlat: np.ndarray, demand_lonlat: np.ndarray, radius_m: float) -> sparse.csr_matrix:
    """Which candidate covers which household: a (households x candidates) boolean sparse matrix,
    distances in VN-2000 / UTM 48N metres, from two KD-trees (never a double loop)."""
    n_d, n_c = len(demand_lonlat), len(candidate_lonlat)
    if n_d == 0 or n_c == 0:
        return sparse.csr_matrix((n_d, n_c), dtype=bool)
    d = cKDTree(transform_xy(demand_lonlat, WGS84, VN2000_UTM48N))
    c = cKDTree(transform_xy(candidate_lonlat, WGS84, VN2000_UTM48N))
    pairs = d.sparse_distance_matrix(c, radius_m, output_type="ndarray")
    return sparse.csr_matrix((np.ones(len(pairs), dtype=bool), (pairs["i"], pairs["j"])), shape=(n_d, n_c), dtype=bool)


# ----------------------------------------------------------------------------- solving
def solve_mclp(
    cover: sparse.csr_matrix,
    weights: np.ndarray,
    k: int,
    *,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    allowed: np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    reduce: bool = True,
) -> Solution:
    """The MCLP above, handed to HiGHS as one sparse model. ``allowed`` masks out candidates. At the
    time limit the best solution found is returned with its gap, ``optimal`` False. ``reduce=False``
    hands HiGHS every allowed candidate (what the benchmark's floor solves), not only the undominated."""
    import highspy

    n_d, n_c = cover.shape
    started = time.perf_counter()
    # households no candidate covers add nothing: left out of the model
    keep = np.flatnonzero(cover.getnnz(axis=1) > 0) if n_d else np.array([], dtype=np.int64)
    # households covered by exactly the same candidates are one row of the model, their weights summed
    a_all, w_all = _merge_identical_rows(cover[keep].tocsr(), weights[keep])
    # a candidate whose households another (allowed, no dearer) candidate also covers is never needed:
    # left out of the model, and the rows that then cover alike merged again; ``cols`` are the model's
    # columns as candidates, ``dominator`` a model candidate covering at least each one's households
    if reduce:
        cols, dominator = undominated(a_all, allowed=allowed, costs=costs if budget is not None else None)
    else:
        cols = np.arange(n_c) if allowed is None else np.flatnonzero(allowed)
        dominator = np.full(n_c, -1, dtype=np.int64)
        dominator[cols] = cols
    a, w = _merge_identical_rows(a_all[:, cols].tocsr(), w_all)
    model_cols = len(cols)
    m = a.shape[0]
    # rows: y_i - sum_j a_ij x_j <= 0 (i < m); sum_j x_j <= k; sum_j c_j x_j <= budget
    rows = [sparse.hstack([-a, sparse.identity(m, format="csr")], format="csr")]
    row_upper = [np.zeros(m)]
    rows.append(sparse.csr_matrix(np.concatenate([np.ones(model_cols), np.zeros(m)]).reshape(1, -1)))
    row_upper.append(np.array([float(k)]))
    if budget is not None and costs is not None:
        rows.append(sparse.csr_matrix(np.concatenate([costs[cols].astype(np.float64), np.zeros(m)]).reshape(1, -1)))
        row_upper.append(np.array([float(budget)]))
    matrix = sparse.vstack(rows, format="csc")
    matrix.sort_indices()

    lp = highspy.HighsLp()
    lp.num_col_ = model_cols + m
    lp.num_row_ = matrix.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.concatenate([np.zeros(model_cols), w])
    lp.col_lower_ = np.zeros(model_cols + m)
    lp.col_upper_ = np.ones(model_cols + m)
    lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate(row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * model_cols + [highspy.HighsVarType.kContinuous] * m

    h = _highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    picks = [j for j, _, _ in greedy(cover, weights, k, costs=costs, budget=budget, allowed=allowed)]
    # the greedy choice as the first incumbent (a run stopped at its time limit is never worse), each
    # left-out pick replaced by a candidate of the model covering at least its households
    position = np.full(n_c, -1, dtype=np.int64)
    position[cols] = np.arange(model_cols)
    start = sorted({int(position[dominator[j]]) for j in picks if dominator[j] >= 0})
    if start:
        x0 = np.zeros(model_cols + m)
        x0[start] = 1.0
        x0[model_cols:] = (a[:, start].getnnz(axis=1) > 0).astype(np.float64)
        incumbent = highspy.HighsSolution()
        incumbent.col_value = x0.tolist()
        incumbent.value_valid = True
        h.setSolution(incumbent)
    run_started = time.perf_counter()
    h.run()
    solver_seconds = time.perf_counter() - run_started
    status = h.getModelStatus()
    info = h.getInfo()
    seconds = time.perf_counter() - started
    x = np.asarray(h.getSolution().col_value[:model_cols]) if info.primal_solution_status else np.zeros(model_cols)
    chosen = [int(cols[j]) for j in np.flatnonzero(x > 0.5)]
    objective = float(w_all @ (a_all[:, chosen].getnnz(axis=1) > 0)) if chosen and m else 0.0
    optimal = status == highspy.HighsModelStatus.kOptimal
    # the solver's bound, or (stopped before it had one) every coverable household covered
    bound = min(float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else math.inf, float(w.sum()))
    gap = 0.0 if optimal else _gap(objective, bound)
    return Solution(chosen, objective, optimal, gap, seconds, h.modelStatusToString(status), solver_seconds)


def undominated(
    a: sparse.csr_matrix, *, allowed: np.ndarray | None = None, costs: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates (columns of ``a``) worth a place in the model, and for every candidate one of
    them that covers at least its households at no higher cost (itself if kept; -1 for a candidate
    that is not allowed or covers no one).

    Candidate j is dominated by j' (allowed) when every row j covers j' covers too, j' costs no more,
    and j' covers more, costs less or comes first: a strict order, so every dominated candidate has an
    undominated one above it, and swapping it in for j never lowers the objective nor breaks k or the
    budget. Leaving the dominated ones out is exact. Containment is read off ``a.T @ a`` (the overlap
    of every pair of candidates sharing a row), never a double loop."""
    n_c = a.shape[1]
    ok = np.ones(n_c, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    b = a.astype(bool).astype(np.int32).tocsc()
    size = np.asarray(b.sum(axis=0)).ravel()
    ok &= size > 0
    c = np.zeros(n_c) if costs is None else np.asarray(costs, dtype=np.float64)
    o = (b.T @ b).tocoo()
    j, by = o.row, o.col
    dominates = (
        (j != by) & ok[by] & (o.data == size[j]) & (c[by] <= c[j]) & ((size[by] > size[j]) | (c[by] < c[j]) | (by < j))
    )
    dominated = np.zeros(n_c, dtype=bool)
    dominated[j[dominates]] = True
    keep = ok & ~dominated
    dominator = np.where(keep, np.arange(n_c), -1)
    # each dominated (allowed) candidate: any kept candidate among those dominating it (one exists)
    hit = dominates & keep[by] & ok[j]
    dominator[j[hit]] = by[hit]
    return np.flatnonzero(keep), dominator


def _merge_identical_rows(a: sparse.csr_matrix, w: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """One row per distinct set of covering candidates, weighted by the households sharing it."""
    a.sort_indices()
    groups: dict[bytes, int] = {}
    leaders: list[int] = []
    group = np.empty(a.shape[0], dtype=np.int64)
    for i in range(a.shape[0]):
        key = a.indices[a.indptr[i] : a.indptr[i + 1]].tobytes()
        g = groups.get(key)
        if g is None:
            g = groups[key] = len(leaders)
            leaders.append(i)
        group[i] = g
    merged = np.bincount(group, weights=w, minlength=len(leaders))
    return a[leaders].astype(np.float64).tocsr(), merged


_BANNER_SHOWN = False


def _highs() -> Any:
    """A silent HiGHS instance. highspy prints its banner on stdout when the first instance of the
    process is made (before any option can be set); that one line would spoil ``--json`` output."""
    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h


def _gap(objective: float, bound: float) -> float:
    """The relative gap, as HiGHS states it: (bound - objective) / bound."""
    return max(0.0, (bound - objective) / bound) if bound > 0 else 0.0


def greedy(
    cover: sparse.csr_matrix,
    weights: np.ndarray,
    k: int,
    *,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    allowed: np.ndarray | None = None,
    among: Sequence[int] | None = None,
) -> list[tuple[int, float, np.ndarray]]:
    """Largest marginal gain first (per VND when a budget is given), up to k sites: each pick as
    (candidate, gain, households newly covered). ``among`` limits the choice (to order a solution)."""
    csc = cover.tocsc().astype(np.float64)
    n_d, n_c = cover.shape
    uncovered = np.ones(n_d, dtype=bool)
    open_ = np.zeros(n_c, dtype=bool)
    if among is None:
        open_[:] = True if allowed is None else allowed
    else:
        open_[list(among)] = True
    spent = 0.0
    picks: list[tuple[int, float, np.ndarray]] = []
    while len(picks) < k and open_.any():
        gains = csc.T @ (weights * uncovered)
        score = gains.copy()
        if budget is not None and costs is not None:
            affordable = costs + spent <= budget
            open_ &= affordable
            score = np.where(costs > 0, gains / np.maximum(costs, 1), np.where(gains > 0, np.inf, 0.0))
        score = np.where(open_, score, -np.inf)
        j = int(np.argmax(score))
        if not open_[j] or (gains[j] <= 0 and among is None):
            break
        newly = np.flatnonzero(uncovered & (csc[:, j].toarray().ravel() > 0))
        picks.append((j, float(gains[j]), newly))
        uncovered[newly] = False
        open_[j] = False
        if costs is not None:
            spent += float(costs[j])
    return picks


def run_siting(
    session: Session, params: SitingParams, raster_store: Any, *, progress: Progress | None = None
) -> SitingResult:
    """Demand, candidates, hazard limits, coverage, the exact solve and the greedy one beside it."""
    say = progress or (lambda _m: None)
    facility = check_facility(params.facility)
    radius = check_radius(params.radius_m)
    cands = list(params.candidates)
    if not cands:
        raise ParameterError("candidates", "no candidate sites")
    k = check_k(params.k, len(cands))
    if params.budget_vnd is not None:
        if params.budget_vnd < 0:
            raise ParameterError("budget", "a budget is a whole number of VND >= 0")
        missing = [c.candidate for c in cands if c.cost is None]
        if missing:
            raise ParameterError("candidates", f"a budget needs a cost for every candidate; {missing[0]} has none")
    if not 0 < params.time_limit_s <= 3600:
        raise ParameterError("time_limit", "give a time limit of more than 0 and at most 3600 s")
    ids = commune_ids(session, params.communes)
    say(f"demand: households of {len(ids)} communes")
    d = demand(session, ids, facility, radius, params.weights)
    say(f"hazards: {len(cands):,} candidates")
    excluded, unchecked = hazard_exclusions(session, raster_store, cands)
    allowed = np.ones(len(cands), dtype=bool)
    allowed[list(excluded)] = False
    distance = check_distance(params.distance)
    say(f"coverage: {len(d.codes):,} households x {len(cands):,} candidates within {radius:,.0f} m ({distance})")
    t0 = time.perf_counter()
    lonlat = np.array([(c.lon, c.lat) for c in cands], dtype=np.float64)
    if distance == "road":
        cover = road_coverage(session, lonlat, d.lonlat, radius)
    else:
        cover = coverage(lonlat, d.lonlat, radius)
    coverage_seconds = time.perf_counter() - t0
    costs = np.array([c.cost or 0 for c in cands], dtype=np.float64) if params.budget_vnd is not None else None
    say("solving")
    sol = solve_mclp(
        cover, d.weights, k, costs=costs, budget=params.budget_vnd, allowed=allowed, time_limit_s=params.time_limit_s
    )
    greedy_picks = greedy(cover, d.weights, k, costs=costs, budget=params.budget_vnd, allowed=allowed)
    greedy_objective = float(sum(g for _, g, _ in greedy_picks))
    # the solver's sites in order of marginal gain, each with the households it newly covers
    ordered = greedy(cover, d.weights, len(sol.chosen), among=sol.chosen)
    site_of: dict[int, str] = {}
    sites = []
    for j, gain, newly in ordered:
        c = cands[j]
        sites.append(Site(c.candidate, c.lon, c.lat, round(gain, 9), [d.codes[i] for i in newly.tolist()], c.cost))
        for i in newly.tolist():
            site_of[i] = c.candidate
    households = [
        {
            "code": d.codes[i],
            "lon": float(d.lonlat[i, 0]),
            "lat": float(d.lonlat[i, 1]),
            "class": d.classes[i],
            "weight": float(d.weights[i]),
            "site": site_of.get(i),
        }
        for i in range(len(d.codes))
    ]
    say("done")
    return SitingResult(
        objective=round(sol.objective, 9),
        greedy_objective=round(greedy_objective, 9),
        optimal=sol.optimal,
        gap=sol.gap,
        seconds=round(sol.seconds + coverage_seconds, 6),
        status=sol.status,
        sites=sites,
        greedy_sites=[cands[j].candidate for j, _, _ in greedy_picks],
        households=households,
        excluded=[{"candidate": cands[i].candidate, "reason": r} for i, r in sorted(excluded.items())],
        warnings=unchecked,
        candidates=len(cands),
        demand_households=len(d.codes),
        demand_weight=float(d.weights.sum()),
        coverage_seconds=round(coverage_seconds, 6),
    )


# ----------------------------------------------------------------------------- a JSON request
def _number(body: Mapping[str, Any], name: str, *, required: bool = True) -> float | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ParameterError(name, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(name, f"{str(value)[:40]!r} is not a number")
    return float(value)


def params_from_json(session: Session, body: Any, *, filename: str | None = None) -> tuple[SitingParams, list[int]]:
    """A run asked for as JSON (``POST /api/siting``), checked field by field; and its commune ids.

    ``candidates`` is one of ``{"grid": METRES}``, ``{"points": [[lon, lat], …]}`` (clicked on the
    map), ``{"geojson": FeatureCollection}`` or ``{"csv": "lon,lat\\n…"}`` (an uploaded file's text;
    ``filename`` names it in messages)."""
    if not isinstance(body, dict):
        raise ParameterError("body", "send a JSON object")
    communes = body.get("communes")
    if isinstance(communes, str):
        communes = communes.split(",")
    if not isinstance(communes, list) or not all(isinstance(c, str) for c in communes):
        raise ParameterError("communes", "a list of 2025 commune codes")
    radius = check_radius(_number(body, "radius") or 0.0)
    k_raw = body.get("k")
    if isinstance(k_raw, bool) or not isinstance(k_raw, int):
        raise ParameterError("k", f"{k_raw!r}: give a whole number of sites")
    facility = check_facility(body.get("facility") if isinstance(body.get("facility"), str) else None)
    weights = body.get("weights")
    if weights is not None and not isinstance(weights, dict):
        raise ParameterError("weight", "an object of class: weight")
    parsed_weights = parse_weights(weights)
    budget = body.get("budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 0):
        raise ParameterError("budget", "a whole number of VND >= 0")
    time_limit = _number(body, "time_limit", required=False) or DEFAULT_TIME_LIMIT_S
    raw_distance = body.get("distance")
    distance = check_distance(raw_distance if isinstance(raw_distance, str) else None if raw_distance is None else "?")
    ids = commune_ids(session, communes)
    spec = body.get("candidates")
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ParameterError(
            "candidates", 'one of {"grid": metres}, {"points": [...]}, {"geojson": {...}}, {"csv": "..."}'
        )
    ((kind, value),) = spec.items()
    spacing = None
    if kind == "grid":
        spacing = _number(spec, "grid")
        assert spacing is not None
        cands = grid_candidates(session, ids, spacing)
        source = "grid"
    elif kind == "points":
        cands, source = clicked_candidates(value), "map"
    elif kind == "geojson":
        cands, source = read_candidates(json.dumps(value).encode(), filename or "candidates.geojson"), "file"
    elif kind == "csv":
        if not isinstance(value, str):
            raise ParameterError("candidates", "csv: the file's text")
        cands, source = read_candidates(value.encode(), filename or "candidates.csv"), "file"
    else:
        raise ParameterError("candidates", f"unknown kind {kind!r}", ["grid", "points", "geojson", "csv"])
    if not cands:
        raise ParameterError("candidates", "no candidate falls inside the communes")
    check_k(k_raw, len(cands))
    params = SitingParams(
        communes=tuple(c.strip() for c in communes),
        radius_m=radius,
        k=k_raw,
        candidates=tuple(cands),
        facility=facility,
        weights=parsed_weights,
        budget_vnd=budget,
        time_limit_s=time_limit,
        candidate_source=source,
        grid_spacing_m=spacing,
        distance=distance,
    )
    if distance == "road":
        check_road_network(session)
    return params, ids
