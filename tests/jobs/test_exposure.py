"""The exposure job on the demo's rasters: exact statistics, households, incremental runs, API."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from pyogrio import read_info
from pyogrio.raw import read
from sqlalchemy import text

from ingest.demo_rasters import write_demo_uploads
from ingest.raster import RasterMetadata, ingest_raster
from jobs.exposure import exposure
from spatial.geometry import WGS84, transform, transform_xy
from spatial.settings import Settings
from tests.conftest import DEMO_SEED, client_for
from tests.spatial.test_raster import write_tif


def _raster(db, hazard: str, return_period: int | None = None):  # type: ignore[no-untyped-def]
    row = db.execute(
        text("SELECT id, path FROM rasters WHERE hazard = :h AND return_period IS NOT DISTINCT FROM :rp"),
        {"h": hazard, "rp": return_period},
    ).one()
    return row.id, Settings.from_env().raster_store / row.path


def test_every_raster_has_every_unit_and_asset(db):
    rasters = db.scalar(text("SELECT count(*) FROM rasters"))
    assert rasters >= 4
    assert db.scalar(text("SELECT count(*) FROM area_exposure")) == rasters * db.scalar(
        text("SELECT count(*) FROM admin_units")
    )
    for kind, table in (
        ("model", "livelihood_models"),
        ("work", "infrastructure_works"),
        ("water_scheme", "water_schemes"),
    ):
        n = db.scalar(text(f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL"))
        assert db.scalar(text("SELECT count(*) FROM asset_exposure WHERE asset_kind = :k"), {"k": kind}) == rasters * n
    assert db.scalar(text("SELECT count(*) FROM household_exposure")) == rasters * db.scalar(
        text("SELECT count(*) FROM households WHERE geom IS NOT NULL AND deleted_at IS NULL")
    )


def _uploaded_file(db, tmp_path, raster_id: int):  # type: ignore[no-untyped-def]
    """The demo's uploaded GeoTIFF of a raster, written again (the same bytes: its checksum is the row's)."""
    checksum = db.scalar(text("SELECT checksum FROM rasters WHERE id = :r"), {"r": raster_id})
    for _, path in write_demo_uploads(db, DEMO_SEED, tmp_path):
        if hashlib.sha256(path.read_bytes()).hexdigest() == checksum:
            return path
    raise AssertionError(f"no demo upload has the checksum of raster {raster_id}")


def _communes_in_raster_crs(db, raster_id: int, path, limit: int | None = None):  # type: ignore[no-untyped-def]
    """Current communes' results for a raster, with their polygons as GeoJSON in the CRS of the file at ``path``."""
    units = db.execute(
        text("""
        SELECT u.code, ST_AsBinary(u.geom) AS wkb, a.count, a.mean, a.min, a.max, a.p50, a.p90, a.sum,
               a.share_above
        FROM area_exposure a JOIN admin_units u ON u.id = a.unit_id
        WHERE a.raster_id = :r AND u.level = 'commune' AND u.boundary = 'current' ORDER BY u.code LIMIT :n"""),
        {"r": raster_id, "n": limit},
    ).all()
    with rasterio.open(path) as ds:
        crs = ds.crs.to_string()
    geoms = transform(shapely.from_wkb([bytes(u.wkb) for u in units]), WGS84, crs)
    # the demo's communes (a tessellation) have cuts and spikes micrometres wide; reprojected, some even cross
    # themselves by a micrometre. Coverage from the edges is unaffected, but exactextract is not: it counts a
    # cell a cut enters as empty and misses rows of cells along a crossing. Snapped to 0.1 mm (which moves a
    # commune's area by under 1e-8), they are polygons exactextract measures right.
    geoms = shapely.set_precision(geoms, 1e-4)
    return units, [{"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)} for g in geoms]


def test_commune_statistics_equal_exactextract(db, tmp_path):
    """Coverage-weighted statistics of communes equal exactextract's on the uploaded file (VN-2000 / UTM 48N)."""
    raster_id, _ = _raster(db, "flood_depth", 100)
    path = _uploaded_file(db, tmp_path, raster_id)
    units, features = _communes_in_raster_crs(db, raster_id, path, limit=12)
    theirs_all = exact_extract(
        str(path), features, ["count", "mean", "min", "max", "median", "quantile(q=0.9)", "sum", "coverage", "values"]
    )
    for unit, theirs in zip(units, theirs_all, strict=True):
        p = theirs["properties"]
        # the share of the valid area deeper than the threshold (0.15 m), from exactextract's cells
        coverage, values = np.asarray(p["coverage"]), np.asarray(p["values"])
        if coverage.sum() > 0:
            assert unit.share_above == pytest.approx(
                coverage[values > 0.15].sum() / coverage.sum(), rel=1e-6, abs=1e-9
            ), unit.code
        for ours, key in (
            (unit.count, "count"),
            (unit.mean, "mean"),
            (unit.min, "min"),
            (unit.max, "max"),
            (unit.p50, "median"),
            (unit.p90, "quantile_90"),
            (unit.sum, "sum"),
        ):
            assert ours == pytest.approx(p[key], rel=1e-6, abs=1e-9), (unit.code, key)


def test_vn2000_upload_on_its_own_grid_equals_exactextract_on_it(db, demo_settings, tmp_path):
    """A flood raster uploaded in VN-2000 / UTM 48N on a 90 m grid of its own: the communes' statistics,
    computed on the stored COG, equal exactextract's on the uploaded file to 1e-6."""
    communes = db.execute(
        text("SELECT ST_AsBinary(geom) FROM admin_units WHERE level = 'commune' AND boundary = 'current' ORDER BY code")
    ).scalars()
    metric = transform(shapely.from_wkb([bytes(g) for g in communes][:8]), WGS84, "EPSG:3405")
    minx, miny, maxx, maxy = shapely.total_bounds(metric)
    pixel = 90.0
    west, north = np.floor(minx) - 1_000.37, np.ceil(maxy) + 1_000.61  # cell edges on no round number
    shape = (int((north - miny + 1_000) // pixel), int((maxx - west + 1_000) // pixel))
    rng = np.random.default_rng(14)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    depth = np.maximum(0.0, 1.5 * np.sin(rows / 17.0) * np.cos(cols / 23.0) + rng.normal(0, 0.3, shape))
    depth = np.round(depth, 2).astype("float32")
    depth[: shape[0] // 5, : shape[1] // 4] = -9999.0  # a nodata corner
    upload = write_tif(
        tmp_path / "flood_vn2000.tif", depth, crs="EPSG:3405", origin=(west, north), pixel=pixel, nodata=-9999.0
    )
    row, new = ingest_raster(
        db,
        upload,
        upload.name,
        RasterMetadata(hazard="flood_depth", return_period=25),
        "tester",
        settings=demo_settings,
    )
    assert new and row.crs == row.source_crs == "EPSG:3405" and (row.width, row.height) == shape[::-1]
    exposure(db, demo_settings)

    units, features = _communes_in_raster_crs(db, row.id, upload)
    theirs_all = exact_extract(str(upload), features, ["count", "mean", "min", "max", "sum"])
    covered = 0
    for unit, theirs in zip(units, theirs_all, strict=True):
        p = theirs["properties"]
        assert unit.count == pytest.approx(p["count"], rel=1e-6, abs=1e-9), unit.code
        if p["count"] == 0:
            continue
        covered += 1
        for ours, key in ((unit.mean, "mean"), (unit.min, "min"), (unit.max, "max"), (unit.sum, "sum")):
            assert ours == pytest.approx(p[key], rel=1e-6, abs=1e-9), (unit.code, key)
    assert covered >= 8


def test_household_values_and_area_counts(db):
    raster_id, path = _raster(db, "landslide")
    # every household: on the source grid just one of the demo's stands in nodata (a cell centred outside the province)
    rows = db.execute(
        text("""
        SELECT e.value, e.exposed, ST_X(h.geom) AS x, ST_Y(h.geom) AS y
        FROM household_exposure e JOIN households h ON h.id = e.household_id
        WHERE e.raster_id = :r ORDER BY h.id"""),
        {"r": raster_id},
    ).all()
    with rasterio.open(path) as ds:
        nodata = ds.nodata
        xy = transform_xy(np.array([(r.x, r.y) for r in rows]), WGS84, ds.crs.to_string())
        sampled = [float(v[0]) for v in ds.sample(xy.tolist())]
    assert any(v == nodata for v in sampled) and any(v != nodata and v >= 4 for v in sampled)
    for row, value in zip(rows, sampled, strict=True):
        if value == nodata:
            assert row.value is None and not row.exposed
            continue
        assert row.value == pytest.approx(value)
        assert row.exposed == (value >= 4)  # landslide class 4 or 5 (exposure_thresholds)
    # every household is counted once per unit; communes add up to the province, on both versions
    for boundary in ("current", "legacy"):
        communes = db.execute(
            text("""
            SELECT sum(a.households), sum(a.households_exposed) FROM area_exposure a
            JOIN admin_units u ON u.id = a.unit_id
            WHERE a.raster_id = :r AND u.level = 'commune' AND u.boundary = :b"""),
            {"r": raster_id, "b": boundary},
        ).one()
        province = db.execute(
            text("""
            SELECT a.households, a.households_exposed FROM area_exposure a JOIN admin_units u ON u.id = a.unit_id
            WHERE a.raster_id = :r AND u.level = 'province' AND u.boundary = :b"""),
            {"r": raster_id, "b": boundary},
        ).one()
        assert tuple(communes) == tuple(province)
    exposed = db.scalar(
        text("SELECT count(*) FROM household_exposure WHERE raster_id = :r AND exposed"), {"r": raster_id}
    )
    assert province.households_exposed == exposed > 0


def test_asset_zones_are_buffers_in_metres_or_polygons(db):
    raster_id, _ = _raster(db, "flood_depth", 100)
    kinds = dict(
        db.execute(
            text("""
        SELECT e.asset_kind || ':' || coalesce(e.buffer_m::text, 'polygon'), count(*) FROM asset_exposure e
        WHERE e.raster_id = :r GROUP BY 1"""),
            {"r": raster_id},
        ).all()
    )
    assert "water_scheme:250" in kinds and "work:100" in kinds and "model:polygon" in kinds
    # a 250 m buffer covers about pi * 250² m²: ~12 cells of the demo's 250 m-ish grid, give or take
    counts = (
        db.execute(
            text("SELECT count FROM asset_exposure WHERE raster_id = :r AND asset_kind = 'water_scheme'"),
            {"r": raster_id},
        )
        .scalars()
        .all()
    )
    # the stored grid is the upload's: metre cells in EPSG:3405 (UTM's scale error here is under 1e-4)
    crs, rx, ry = db.execute(
        text("SELECT crs, resolution_x, resolution_y FROM rasters WHERE id = :r"), {"r": raster_id}
    ).one()
    assert crs == "EPSG:3405"
    cell_m2 = rx * ry
    assert np.median(counts) == pytest.approx(math.pi * 250**2 / cell_m2, rel=0.1)


def test_incremental_runs_recompute_only_what_changed(db):
    assert exposure(db) == 0  # nothing new since the fixture's run
    rasters = db.scalar(text("SELECT count(*) FROM rasters"))
    unit = db.execute(
        text("SELECT id, code FROM admin_units WHERE level = 'commune' AND boundary = 'current' ORDER BY code LIMIT 1")
    ).one()
    before = db.scalar(text("SELECT max(computed_at) FROM area_exposure WHERE unit_id <> :u"), {"u": unit.id})
    db.execute(text("UPDATE admin_units SET geom = ST_Multi(ST_Buffer(geom, -0.001)) WHERE id = :u"), {"u": unit.id})
    written = exposure(db)
    # the changed commune's rows, one per raster, plus the area counts that moved with it
    changed = db.scalar(
        text("SELECT count(*) FROM area_exposure WHERE unit_id = :u AND computed_at > :t"), {"u": unit.id, "t": before}
    )
    assert changed == rasters
    assert db.scalar(text("SELECT max(computed_at) FROM area_exposure WHERE unit_id <> :u"), {"u": unit.id}) == before
    assert written >= rasters
    # a changed threshold recomputes that hazard only
    db.execute(text("UPDATE exposure_thresholds SET value = 3 WHERE hazard = 'landslide'"))
    exposure(db)
    landslide, _ = _raster(db, "landslide")
    keys = dict(
        db.execute(
            text("SELECT raster_id = :r, array_agg(DISTINCT threshold_key) FROM household_exposure GROUP BY 1"),
            {"r": landslide},
        ).all()
    )
    assert keys[True] == [">=3.0"]
    assert ">=3.0" not in keys[False]


def test_progress_is_recorded_on_the_run(db):
    progress = db.scalar(text("SELECT progress FROM job_runs WHERE job = 'exposure' ORDER BY id DESC LIMIT 1"))
    assert progress and progress.startswith("done:")


def test_api_rows_and_scope(app, client, accounts, db, tmp_path):
    raster_id = db.scalar(text("SELECT id FROM rasters WHERE hazard = 'flood_depth' AND return_period = 100"))
    body = client.get(f"/api/exposure?raster={raster_id}&level=commune&boundaries=current").get_json()
    assert body["raster"]["threshold_op"] == ">" and body["raster"]["threshold_value"] == 0.15
    assert len(body["rows"]) == 65
    row = body["rows"][0]
    assert set(row) == {
        "code",
        "name",
        "count",
        "mean",
        "min",
        "max",
        "p50",
        "p90",
        "share_above",
        "households",
        "households_exposed",
    }
    legacy = client.get(f"/api/exposure?raster={raster_id}&level=district&boundaries=legacy").get_json()
    assert len(legacy["rows"]) == 11
    # a worker of commune A sees commune A (and the province it lies in is not theirs)
    worker = client_for(app, accounts, "extension_worker")
    mine = worker.get(f"/api/exposure?raster={raster_id}&level=commune&boundaries=current").get_json()["rows"]
    assert [r["code"] for r in mine] == [accounts.commune_a]
    # bad parameters name themselves
    for query, parameter in (
        ("raster=999999", "raster"),
        (f"raster={raster_id}&level=village", "level"),
        (f"raster={raster_id}&level=district&boundaries=current", "level"),
    ):
        r = client.get(f"/api/exposure?{query}")
        assert r.status_code == 400 and r.get_json()["error"]["parameter"] == parameter
    csv = client.get(f"/api/exposure?raster={raster_id}&level=commune&format=csv")
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").splitlines()[0].startswith("code,name,count")
    gpkg = client.get(f"/api/exposure?raster={raster_id}&level=commune&format=gpkg")
    assert gpkg.status_code == 200
    path = tmp_path / "exposure.gpkg"
    path.write_bytes(gpkg.data)
    assert read_info(path)["crs"] == "EPSG:4326"
    meta, _fids, geometry, fields = read(path)
    columns = list(meta["fields"])
    assert len(geometry) == 65 and all(g is not None for g in geometry)
    by_code = dict(zip(fields[columns.index("code")], fields[columns.index("households_exposed")], strict=True))
    assert by_code == {r["code"]: r["households_exposed"] for r in body["rows"]}
    # an asset's exposure to every raster, for its popup
    code = db.scalar(text("SELECT code FROM water_schemes ORDER BY code LIMIT 1"))
    asset = client.get(f"/api/exposure/water_scheme/{code}").get_json()
    assert asset["code"] == code and len(asset["rasters"]) >= 4
    assert client.get("/api/exposure/road/X").status_code == 400
    assert client.get("/api/exposure/model/NO-SUCH").status_code == 404
