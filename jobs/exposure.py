"""Exposure of areas, assets and households to every catalogued hazard raster.

For each raster of the catalogue (``rasters``: COGs written by ``ingest.raster``, each on
the uploaded file's grid and in its CRS), on that grid, the zones and points reprojected
into the raster's CRS (never the raster into theirs):

- every administrative unit of both boundary versions: coverage-weighted statistics of the
  raster over its polygon (``spatial.zonal``: a pixel counts by the share of it inside);
- every livelihood model, infrastructure work and water scheme: the same over its polygon,
  or over a buffer around a point (``POINT_BUFFER_M``) or a line (``LINE_BUFFER_M``), made in
  metres by PostGIS (geography), plus the value at the asset's location;
- every household: the value of the cell it stands in.

Whether a value counts as exposed is data (``exposure_thresholds``: flood depth > 0.15 m,
landslide class >= 4, drought <= -1.5). Areas then count the households placed in them
(``household_units``) and those exposed.

Incremental: each result row keeps an md5 of the geometry (and buffer) it was computed from
and the threshold it used; a run computes only rows of new rasters and of new or changed
geometries or thresholds, and deletes rows of assets that are gone. Rasters on the same
grid share one set of coverage weights per target (computed once, reused for each raster).
Progress goes to the job-run row and the CLI.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from jobs.progress import report
from spatial.db import rowcount
from spatial.geometry import WGS84, transform, transform_xy
from spatial.settings import Settings
from spatial.zonal import ZoneStats, coverage_weights, sample_points, zonal_stats

POINT_BUFFER_M = float(os.environ.get("SINHKE_EXPOSURE_POINT_BUFFER_M", "250"))
LINE_BUFFER_M = float(os.environ.get("SINHKE_EXPOSURE_LINE_BUFFER_M", "100"))


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float

    @property
    def key(self) -> str:
        return f"{self.op}{self.value!r}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            out = {">": v > self.value, ">=": v >= self.value, "<": v < self.value, "<=": v <= self.value}[self.op]
        return out & ~np.isnan(v)

    @property
    def zonal_threshold(self) -> float:
        """The ``t`` for zonal statistics' share of values > t that ``share`` turns into this one's:
        v >= t is v > prev(t); v <= t is not v > t; v < t is not v > prev(t)."""
        return self.value if self.op in (">", "<=") else math.nextafter(self.value, -math.inf)

    def share(self, share_above: float) -> float:
        """Covered share of a zone's valid area beyond this threshold, from zonal's share above ``t``."""
        below = self.op in ("<", "<=")
        return 1.0 - share_above if below and not math.isnan(share_above) else share_above


NO_THRESHOLD = "none"


@dataclass(frozen=True)
class Target:
    """A kind of thing whose exposure is computed: how to read its zones, where results go."""

    name: str
    #: SQL yielding (id, zone geometry in 4326, md5 of what the zone was made from, point for value_at)
    zones_sql: str


_BUFFERED = f"""
CASE WHEN GeometryType(geom) IN ('POLYGON','MULTIPOLYGON') THEN geom
     WHEN GeometryType(geom) IN ('LINESTRING','MULTILINESTRING')
       THEN ST_Buffer(geom::geography, {LINE_BUFFER_M})::geometry
     ELSE ST_Buffer(geom::geography, {POINT_BUFFER_M})::geometry END"""
_BUFFER_M = f"""
CASE WHEN GeometryType(geom) IN ('POLYGON','MULTIPOLYGON') THEN NULL
     WHEN GeometryType(geom) IN ('LINESTRING','MULTILINESTRING') THEN {LINE_BUFFER_M}
     ELSE {POINT_BUFFER_M} END"""


def _asset_sql(table: str, extra: str = "") -> str:
    return f"""
SELECT id, ST_AsBinary({_BUFFERED}) AS zone,
       md5(ST_AsEWKB(geom) || convert_to(coalesce(({_BUFFER_M})::text, 'polygon'), 'UTF8')) AS geom_md5,
       ST_X(ST_PointOnSurface(geom)) AS x, ST_Y(ST_PointOnSurface(geom)) AS y, commune_id, {_BUFFER_M} AS buffer_m
FROM {table} WHERE deleted_at IS NULL {extra}"""


TARGETS = {
    "units": Target(
        "units",
        """
        SELECT id, ST_AsBinary(geom) AS zone, md5(ST_AsEWKB(geom)) AS geom_md5, NULL::float8 AS x,
               NULL::float8 AS y, NULL::int AS commune_id, NULL::float8 AS buffer_m
        FROM admin_units""",
    ),
    "model": Target("model", _asset_sql("livelihood_models")),
    "work": Target("work", _asset_sql("infrastructure_works")),
    "water_scheme": Target("water_scheme", _asset_sql("water_schemes")),
}


@dataclass
class RasterInfo:
    id: int
    name: str
    path: str
    grid: tuple
    threshold: Threshold | None

    @property
    def threshold_key(self) -> str:
        return self.threshold.key if self.threshold else NO_THRESHOLD


def _thresholds(session: Session) -> dict[tuple[str, int | None], Threshold]:
    rows = session.execute(text("SELECT hazard, return_period, op, value FROM exposure_thresholds"))
    return {(h, rp): Threshold(op, float(v)) for h, rp, op, v in rows}


def _rasters(session: Session, settings: Settings) -> list[RasterInfo]:
    thresholds = _thresholds(session)
    out = []
    rows = session.execute(
        text("SELECT id, name, hazard, return_period, path FROM rasters WHERE retired_at IS NULL ORDER BY id")
    ).all()
    for rid, name, hazard, rp, rel in rows:
        path = settings.raster_store / rel
        with rasterio.open(path) as ds:
            grid = (ds.crs.to_string() if ds.crs else None, tuple(ds.transform)[:6], ds.width, ds.height)
        thr = thresholds.get((hazard, rp)) or thresholds.get((hazard, None))
        out.append(RasterInfo(rid, name, str(path), grid, thr))
    return out


_RESULT = {
    "units": ("area_exposure", "unit_id"),
    "model": ("asset_exposure", "asset_id"),
    "work": ("asset_exposure", "asset_id"),
    "water_scheme": ("asset_exposure", "asset_id"),
}


def _stale_ids(session: Session, target: Target, raster: RasterInfo) -> list[int]:
    """Zones of the target without a current row for the raster: new or changed geometry or threshold."""
    table, key = _RESULT[target.name]
    kind = "" if target.name == "units" else f"AND e.asset_kind = '{target.name}'"
    return list(
        session.execute(
            text(f"""
        SELECT z.id FROM ({target.zones_sql}) z
        WHERE NOT EXISTS (SELECT 1 FROM {table} e WHERE e.raster_id = :r AND e.{key} = z.id {kind}
                          AND e.geom_md5 = z.geom_md5 AND e.threshold_key = :t)
        ORDER BY z.id"""),
            {"r": raster.id, "t": raster.threshold_key},
        ).scalars()
    )


def _zones(
    session: Session, target: Target, ids: Sequence[int], crs: str | None
) -> tuple[Sequence[RowMapping], np.ndarray, np.ndarray | None]:
    """The target's zones: their rows, their geometries and (assets) their points, in the raster's ``crs``."""
    rows = (
        session.execute(
            text(f"SELECT * FROM ({target.zones_sql}) z WHERE z.id = ANY(:ids) ORDER BY z.id"), {"ids": list(ids)}
        )
        .mappings()
        .all()
    )
    geoms = shapely.from_wkb([bytes(r["zone"]) for r in rows])
    xy = None if target.name == "units" else _xy([(r["x"], r["y"]) for r in rows])
    if crs:
        geoms = transform(geoms, WGS84, crs)
        xy = None if xy is None else transform_xy(xy, WGS84, crs)
    return rows, geoms, xy


def _xy(points: Sequence[tuple[float, float]]) -> np.ndarray:
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _write_zone_rows(
    session: Session,
    target: Target,
    raster: RasterInfo,
    zones: Sequence[RowMapping],
    stats: list[ZoneStats],
    shares: list[float] | None,
    point_values: np.ndarray | None,
) -> int:
    table, key = _RESULT[target.name]
    rows = []
    for i, (z, st) in enumerate(zip(zones, stats, strict=True)):
        share = _num(shares[i]) if shares is not None else None
        row = dict(
            raster_id=raster.id,
            zone_id=z["id"],
            count=float(st.count),
            mean=_num(st.mean),
            min=_num(st.min),
            max=_num(st.max),
            p50=_num(st.p50),
            p90=_num(st.p90),
            sum=_num(st.sum),
            share_above=share,
            geom_md5=z["geom_md5"],
            threshold_key=raster.threshold_key,
        )
        if target.name != "units":
            value_at = _num(point_values[i]) if point_values is not None else None
            row.update(
                kind=target.name,
                commune_id=z["commune_id"],
                buffer_m=z["buffer_m"],
                value_at=value_at,
                exposed=bool(share is not None and share > 0),
            )
        rows.append(row)
    if not rows:
        return 0
    if target.name == "units":
        session.execute(
            text("""
            INSERT INTO area_exposure (raster_id, unit_id, count, mean, min, max, p50, p90, sum, share_above,
                                       geom_md5, threshold_key)
            VALUES (:raster_id, :zone_id, :count, :mean, :min, :max, :p50, :p90, :sum, :share_above,
                    :geom_md5, :threshold_key)
            ON CONFLICT (raster_id, unit_id) DO UPDATE SET count = EXCLUDED.count, mean = EXCLUDED.mean,
              min = EXCLUDED.min, max = EXCLUDED.max, p50 = EXCLUDED.p50, p90 = EXCLUDED.p90, sum = EXCLUDED.sum,
              share_above = EXCLUDED.share_above, geom_md5 = EXCLUDED.geom_md5,
              threshold_key = EXCLUDED.threshold_key, computed_at = now()"""),
            rows,
        )
    else:
        session.execute(
            text("""
            INSERT INTO asset_exposure (raster_id, asset_kind, asset_id, commune_id, buffer_m, value_at, exposed,
                                        count, mean, min, max, p50, p90, sum, share_above, geom_md5, threshold_key)
            VALUES (:raster_id, :kind, :zone_id, :commune_id, :buffer_m, :value_at, :exposed, :count, :mean, :min,
                    :max, :p50, :p90, :sum, :share_above, :geom_md5, :threshold_key)
            ON CONFLICT (raster_id, asset_kind, asset_id) DO UPDATE SET commune_id = EXCLUDED.commune_id,
              buffer_m = EXCLUDED.buffer_m, value_at = EXCLUDED.value_at, exposed = EXCLUDED.exposed,
              count = EXCLUDED.count, mean = EXCLUDED.mean, min = EXCLUDED.min, max = EXCLUDED.max,
              p50 = EXCLUDED.p50, p90 = EXCLUDED.p90, sum = EXCLUDED.sum, share_above = EXCLUDED.share_above,
              geom_md5 = EXCLUDED.geom_md5, threshold_key = EXCLUDED.threshold_key, computed_at = now()"""),
            rows,
        )
    return len(rows)


def _zone_target(session: Session, target: Target, members: list[RasterInfo], step: str) -> int:
    """One target on the rasters of one grid: weights once for every stale zone, stats per raster."""
    stale = {r.id: _stale_ids(session, target, r) for r in members}
    needed = sorted(set().union(*stale.values()))
    if not needed:
        report(f"{step}: {target.name}: up to date")
        return 0
    crs, affine, width, height = members[0].grid
    zones, geoms, xy = _zones(session, target, needed, crs)
    report(f"{step}: {target.name}: coverage weights of {len(zones):,} zones")
    weights = coverage_weights(list(geoms), rasterio.Affine(*affine), width, height, crs)
    index = {z["id"]: i for i, z in enumerate(zones)}
    written = 0
    for raster in members:
        ids = stale[raster.id]
        if not ids:
            continue
        report(f"{step}: {target.name}: statistics of {raster.name} for {len(ids):,} zones")
        with rasterio.open(raster.path) as ds:
            # one pass: the statistics and the share beyond the threshold together
            stats = zonal_stats(ds, weights, threshold=raster.threshold.zonal_threshold if raster.threshold else None)
            shares = [raster.threshold.share(z.share_above) for z in stats] if raster.threshold else None
            points = None if xy is None else sample_points(ds, xy)
        pick = [index[i] for i in ids]
        written += _write_zone_rows(
            session,
            target,
            raster,
            [zones[i] for i in pick],
            [stats[i] for i in pick],
            [shares[i] for i in pick] if shares is not None else None,
            points[pick] if points is not None else None,
        )
    return written


def _households(session: Session, members: list[RasterInfo], step: str) -> int:
    written = 0
    crs = members[0].grid[0]
    for raster in members:
        rows = session.execute(
            text("""
            SELECT h.id, ST_X(h.geom) AS x, ST_Y(h.geom) AS y, md5(ST_AsEWKB(h.geom)) AS geom_md5
            FROM households h
            WHERE h.geom IS NOT NULL AND h.deleted_at IS NULL AND NOT EXISTS (
                SELECT 1 FROM household_exposure e WHERE e.raster_id = :r AND e.household_id = h.id
                AND e.geom_md5 = md5(ST_AsEWKB(h.geom)) AND e.threshold_key = :t)
            ORDER BY h.id"""),
            {"r": raster.id, "t": raster.threshold_key},
        ).all()
        if not rows:
            continue
        report(f"{step}: households: values of {raster.name} at {len(rows):,} households")
        xy = _xy([(r.x, r.y) for r in rows])
        values = sample_points(raster.path, transform_xy(xy, WGS84, crs) if crs else xy)
        exposed = raster.threshold.holds(values) if raster.threshold else np.zeros(len(rows), dtype=bool)
        session.execute(
            text("""
            INSERT INTO household_exposure (raster_id, household_id, value, exposed, geom_md5, threshold_key)
            VALUES (:r, :h, :v, :e, :g, :t)
            ON CONFLICT (raster_id, household_id) DO UPDATE SET value = EXCLUDED.value, exposed = EXCLUDED.exposed,
              geom_md5 = EXCLUDED.geom_md5, threshold_key = EXCLUDED.threshold_key, computed_at = now()"""),
            [
                {"r": raster.id, "h": r.id, "v": _num(v), "e": bool(e), "g": r.geom_md5, "t": raster.threshold_key}
                for r, v, e in zip(rows, values.tolist(), exposed.tolist(), strict=True)
            ],
        )
        written += len(rows)
    return written


_AREA_HOUSEHOLDS = text("""
WITH placed AS (
    SELECT DISTINCT hu.household_id, u.unit_id
    FROM household_units hu, unnest(ARRAY[hu.commune_id, hu.district_id, hu.province_id]) AS u(unit_id)
    WHERE u.unit_id IS NOT NULL
), counts AS (
    SELECT e.raster_id, p.unit_id, count(*) AS households, count(*) FILTER (WHERE e.exposed) AS exposed
    FROM household_exposure e JOIN placed p ON p.household_id = e.household_id
    GROUP BY e.raster_id, p.unit_id
), wanted AS (
    SELECT a.raster_id, a.unit_id, coalesce(c.households, 0) AS households, coalesce(c.exposed, 0) AS exposed
    FROM area_exposure a LEFT JOIN counts c ON c.raster_id = a.raster_id AND c.unit_id = a.unit_id
)
UPDATE area_exposure a SET households = w.households, households_exposed = w.exposed
FROM wanted w
WHERE a.raster_id = w.raster_id AND a.unit_id = w.unit_id
  AND (a.households, a.households_exposed) IS DISTINCT FROM (w.households, w.exposed)
""")


def _drop_gone(session: Session) -> int:
    """Rows of assets deleted (soft or hard) since they were computed."""
    gone = 0
    for kind, table in (
        ("model", "livelihood_models"),
        ("work", "infrastructure_works"),
        ("water_scheme", "water_schemes"),
    ):
        gone += rowcount(
            session.execute(
                text(f"""
            DELETE FROM asset_exposure e WHERE e.asset_kind = :k AND NOT EXISTS (
                SELECT 1 FROM {table} t WHERE t.id = e.asset_id AND t.deleted_at IS NULL)"""),
                {"k": kind},
            )
        )
    return gone


def _groups(rasters: Iterable[RasterInfo]) -> list[list[RasterInfo]]:
    by_grid: dict[tuple, list[RasterInfo]] = defaultdict(list)
    for r in rasters:
        by_grid[r.grid].append(r)
    return list(by_grid.values())


def exposure(session: Session, settings: Settings | None = None) -> int:
    """Compute what is missing or out of date; returns rows written or removed."""
    settings = settings or Settings.from_env()
    rasters = _rasters(session, settings)
    written = _drop_gone(session)
    groups = _groups(rasters)
    for g, members in enumerate(groups, 1):
        step = f"grid {g}/{len(groups)} ({len(members)} raster{'s' if len(members) > 1 else ''})"
        for target in TARGETS.values():
            written += _zone_target(session, target, members, step)
        written += _households(session, members, step)
    report("households exposed per area")
    written += rowcount(session.execute(_AREA_HOUSEHOLDS))
    report(f"done: {written:,} rows written or removed")
    return written
