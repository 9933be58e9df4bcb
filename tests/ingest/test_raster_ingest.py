"""Raster ingest on a real PostGIS: idempotent, all-or-nothing, attributed; CLI, admin page, API; demo rasters."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.crs import CRS
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ingest.demo_rasters import CRS as DEMO_CRS
from ingest.demo_rasters import LANDSLIDE_NODATA, make_terrain
from ingest.raster import RasterMetadata, ingest_raster
from spatial import ParameterError
from spatial.cluster import database_url
from spatial.db import engine_for, transaction
from spatial.models import Raster
from spatial.raster import RasterError
from spatial.raster_catalogue import stored_file
from tests.conftest import DEMO_SEED, client_for
from tests.spatial.test_raster import LANG_SON, ramp, write_tif


def _tif(tmp_path: Path, name: str = "flood.tif", seed: int = 1) -> Path:
    (x, y), pixel = LANG_SON["EPSG:3405"]
    data = ramp() + seed  # different bytes for different seeds
    return write_tif(tmp_path / name, data, crs="EPSG:3405", origin=(x, y), pixel=pixel, nodata=-9999.0)


def _stored(settings) -> set[str]:
    return {p.name for p in settings.raster_store.iterdir()} if settings.raster_store.exists() else set()


FLOOD = RasterMetadata(
    hazard="flood_depth", return_period=100, scenario="historical", source="test", licence="CC-BY-4.0"
)


def test_ingest_then_reingest_is_a_no_op(empty_db, empty_settings, tmp_path):
    src = _tif(tmp_path, seed=11)
    row, new = ingest_raster(empty_db, src, "flood.tif", FLOOD, "tester", settings=empty_settings)
    assert new and row.id
    assert row.hazard == "flood_depth" and row.unit == "m" and row.return_period == 100
    assert row.source_crs == "EPSG:3405" and row.crs == "EPSG:3405"  # stored on the uploaded grid
    assert (row.source_resolution_x, row.source_resolution_y) == (row.resolution_x, row.resolution_y) == (250.0, 250.0)
    assert row.created_by == "tester" and row.checksum == __import__("hashlib").sha256(src.read_bytes()).hexdigest()
    cog = stored_file(empty_settings, row)
    assert cog.name == f"{row.checksum}.tif" and cog.exists()
    assert empty_db.scalar(text("SELECT ST_SRID(bounds) FROM rasters WHERE id = :i"), {"i": row.id}) == 4326
    assert empty_db.scalar(
        text("SELECT ST_Contains(bounds, ST_SetSRID(ST_Point(106.75, 21.85), 4326)) FROM rasters WHERE id = :i"),
        {"i": row.id},
    )
    before = _stored(empty_settings)

    # the same bytes again, even under another name and from an open file: the row already there
    with open(src, "rb") as fh:
        again, new_again = ingest_raster(
            empty_db, fh, "renamed.tif", RasterMetadata(hazard="other"), "someone", settings=empty_settings
        )
    assert not new_again and again.id == row.id and again.hazard == "flood_depth"
    assert empty_db.scalar(select(func.count()).select_from(Raster).where(Raster.checksum == row.checksum)) == 1
    assert _stored(empty_settings) == before  # no second file, no leftover temporary folder


def test_a_crs_without_an_epsg_code_is_stored_as_wkt(empty_db, empty_settings, tmp_path):
    """A survey's own transverse Mercator on the site's meridian: no EPSG code, so the stored CRS is WKT."""
    tm3 = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=106.73 +k=1 +x_0=20000 +y_0=0 +ellps=WGS84 +units=m")
    x, y = Transformer.from_crs(4326, tm3, always_xy=True).transform(106.70, 21.90)
    src = write_tif(tmp_path / "flood_tm3.tif", ramp() + 31, crs=tm3.to_wkt(), origin=(x, y), pixel=250.0)
    row, new = ingest_raster(empty_db, src, src.name, FLOOD, "tester", settings=empty_settings)
    assert new and row.crs == row.source_crs and len(row.crs) > 40 and CRS.from_wkt(row.crs) == tm3
    with rasterio.open(stored_file(empty_settings, row)) as cog:
        assert cog.crs == tm3 and cog.transform.c == x
    assert empty_db.scalar(
        text("SELECT ST_Contains(bounds, ST_SetSRID(ST_Point(106.75, 21.85), 4326)) FROM rasters WHERE id = :i"),
        {"i": row.id},
    )


def test_failure_leaves_no_row_and_no_file(empty_db, empty_settings, tmp_path):
    before = _stored(empty_settings)
    count = empty_db.scalar(select(func.count()).select_from(Raster))
    (tmp_path / "flood.vrt").write_text('<VRTDataset rasterXSize="1" rasterYSize="1"></VRTDataset>')
    nocrs = write_tif(tmp_path / "nocrs.tif", ramp(), crs=None)
    small = replace(empty_settings, raster_max_pixels=100)
    for src, settings, match in (
        (tmp_path / "flood.vrt", empty_settings, "flood.vrt: VRT rasters are refused"),
        (nocrs, empty_settings, "nocrs.tif: has no CRS"),
        (_tif(tmp_path, "big.tif", seed=12), small, "big.tif: .* more than the limit"),
    ):
        with pytest.raises(RasterError, match=match):
            ingest_raster(empty_db, src, src.name, FLOOD, "tester", settings=settings)
    assert empty_db.scalar(select(func.count()).select_from(Raster)) == count
    assert _stored(empty_settings) == before


def test_rolled_back_transaction_removes_the_file(empty_settings, tmp_path):
    """The COG is renamed into place before the commit; a rollback takes it away again."""
    src = _tif(tmp_path, seed=13)
    with pytest.raises(RuntimeError, match="after ingest"), transaction(empty_settings) as s:
        row, _ = ingest_raster(s, src, "flood.tif", FLOOD, "tester", settings=empty_settings)
        cog = stored_file(empty_settings, row)
        assert cog.exists()
        raise RuntimeError("something else failed after ingest")
    assert not cog.exists()
    with transaction(empty_settings) as s:
        assert s.scalar(select(func.count()).select_from(Raster).where(Raster.checksum == row.checksum)) == 0


def test_bad_metadata_is_a_parameter_error(empty_db, empty_settings, tmp_path):
    src = _tif(tmp_path, seed=14)
    with pytest.raises(ParameterError, match="hazard: unknown hazard 'tsunami'"):
        ingest_raster(empty_db, src, "f.tif", RasterMetadata(hazard="tsunami"), "t", settings=empty_settings)
    with pytest.raises(ParameterError, match="epoch"):
        ingest_raster(
            empty_db, src, "f.tif", RasterMetadata(hazard="rainfall", epoch="2040"), "t", settings=empty_settings
        )


def test_cli_import_json_and_idempotent(empty_settings, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import main

    src = _tif(tmp_path, "flood_rp10.tif", seed=15)
    args = [
        "import",
        "raster",
        str(src),
        "--hazard",
        "flood_depth",
        "--return-period",
        "10",
        "--scenario",
        "ssp245",
        "--epoch",
        "2050",
        "--json",
    ]
    runner = CliRunner(env={"SINHKE_DATABASE_URL": database_url(empty_settings)})
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    entry = json.loads(first.stdout.strip().splitlines()[-1])
    assert entry["id"] and entry["new"] is True and entry["epoch"] == "2050" and entry["return_period"] == 10
    assert entry["ingested_by"].startswith("cli") and entry["bounds"]["type"] == "Polygon"
    second = runner.invoke(main, args)
    again = json.loads(second.stdout.strip().splitlines()[-1])
    assert (again["id"], again["new"]) == (entry["id"], False)
    with transaction(empty_settings) as s:
        actors = s.execute(
            text("SELECT actor, action FROM audit_log WHERE table_name = 'rasters' AND row_id = :i"),
            {"i": str(entry["id"])},
        ).all()
        assert [a for _, a in actors] == ["insert"] and actors[0][0].startswith("cli")
        s.execute(text("DELETE FROM rasters WHERE id = :i"), {"i": entry["id"]})  # the CLI committed it itself


def test_cli_refusal_is_one_line(empty_settings, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import main

    (tmp_path / "flood.vrt").write_text("<VRTDataset/>")
    for path, match in (
        (tmp_path / "flood.vrt", "error: flood.vrt: VRT rasters are refused"),
        (Path("/vsicurl/http://127.0.0.1:9/flood.tif"), "error: flood.tif: no such file"),
    ):
        out = CliRunner(env={"SINHKE_DATABASE_URL": database_url(empty_settings)}).invoke(
            main, ["import", "raster", str(path), "--hazard", "flood_depth"]
        )
        assert out.exit_code == 1 and match in out.stderr and "Traceback" not in out.output


# --------------------------------------------------------------------------- web
def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _upload(client, path: Path, **fields):
    data = {
        "hazard": "flood_depth",
        "return_period": "10",
        **fields,
        "file": (io.BytesIO(path.read_bytes()), path.name),
    }
    return client.post("/admin/rasters", data=data, content_type="multipart/form-data")


def test_admin_uploads_and_everyone_reads(app, accounts, db, tmp_path):
    admin = client_for(app, accounts, "admin")
    src = _tif(tmp_path, "upload_rp10.tif", seed=21)
    r = _upload(admin, src, scenario="historical", licence="CC-BY-4.0")
    assert r.status_code == 303, r.get_data(as_text=True)
    added = int(re.search(r"added=(\d+)", r.headers["Location"]).group(1))
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "upload_rp10.tif" in page and "EPSG:3405" in page
    again = _upload(admin, src)
    assert (
        again.status_code == 303
        and f"added={added}" in again.headers["Location"]
        and "new=0" in again.headers["Location"]
    )
    for role in ("admin", "planner", "extension_worker", "evaluator"):
        c = client_for(app, accounts, role)
        listed = c.get("/api/rasters").get_json()["rasters"]
        assert added in {x["id"] for x in listed}
        one = c.get(f"/api/rasters/{added}").get_json()
        assert one["filename"] == "upload_rp10.tif" and one["ingested_by"] == accounts.name("admin")
        assert one["crs"] == one["source_crs"] == "EPSG:3405"
    assert admin.get("/api/rasters?hazard=flood_depth").status_code == 200
    bad = admin.get("/api/rasters?hazard=tsunami")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "hazard"
    assert admin.get("/api/rasters/999999").status_code == 404


def test_upload_refused_with_the_reason_and_nothing_stored(app, accounts, db, demo_settings, tmp_path):
    admin = client_for(app, accounts, "admin")
    count = db.scalar(select(func.count()).select_from(Raster))
    before = _stored(demo_settings)
    vrt = tmp_path / "flood.vrt"
    vrt.write_text('<VRTDataset rasterXSize="1" rasterYSize="1"></VRTDataset>')
    r = _upload(admin, vrt)
    assert r.status_code == 400
    assert "flood.vrt: VRT rasters are refused: they make GDAL read other files" in r.get_data(as_text=True)
    r = _upload(admin, _tif(tmp_path, seed=22), hazard="tsunami")
    assert r.status_code == 400 and "hazard" in r.get_data(as_text=True)
    r = admin.post("/admin/rasters", data={"hazard": "flood_depth"}, content_type="multipart/form-data")
    assert r.status_code == 400 and "choose a GeoTIFF" in r.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Raster)) == count
    assert _stored(demo_settings) == before


@pytest.mark.parametrize("role", ["planner", "extension_worker", "evaluator"])
def test_non_admin_cannot_upload(app, accounts, db, tmp_path, role):
    c = client_for(app, accounts, role)
    assert c.get("/admin/rasters").status_code == 403
    r = _upload(c, _tif(tmp_path, seed=23))
    assert r.status_code == 403
    assert db.scalar(select(func.count()).select_from(Raster).where(Raster.filename == "flood.tif")) == 0


def test_database_refuses_writes_from_non_admins(db, accounts):
    """Row-level security backs the route check: the application role writes rasters only as an admin."""
    from spatial.accounts import apply_scope, get_user, principal

    planner = principal(get_user(db, accounts.name("planner")))
    apply_scope(db, planner)
    assert db.scalar(select(func.count()).select_from(Raster)) >= 4  # reads: the demo rasters
    assert db.execute(text("UPDATE rasters SET name = 'x'")).rowcount == 0
    assert db.execute(text("DELETE FROM rasters")).rowcount == 0


def test_upload_form_has_csrf(app, accounts):
    from tests.webapp.test_access import _login

    c = _login(app, accounts.name("admin"), accounts.password)
    page = c.get("/admin/rasters").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and _csrf(page)
    r = c.post("/admin/rasters", data={"hazard": "flood_depth"})  # no token
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)


def test_openapi_documents_rasters(anonymous):
    paths = anonymous.get("/api/openapi.json").get_json()["paths"]
    assert "/api/rasters" in paths and "/api/rasters/{id}" in paths


# --------------------------------------------------------------------------- demo rasters
@pytest.fixture(scope="module")
def demo_catalogue(demo_settings):
    with Session(engine_for(demo_settings)) as s:  # reads the committed demo, once for the module
        rows = s.scalars(select(Raster).where(Raster.created_by == "demo").order_by(Raster.id)).all()
        return {(r.hazard, r.return_period): r for r in rows}


def test_demo_rasters_catalogued(demo_catalogue):
    assert set(demo_catalogue) == {
        ("flood_depth", 10),
        ("flood_depth", 100),
        ("landslide", None),
        ("drought_index", None),
    }
    for r in demo_catalogue.values():
        assert r.source_crs == r.crs == DEMO_CRS == "EPSG:3405"
        assert r.source_resolution_x == 250.0
    slide = demo_catalogue[("landslide", None)]
    assert slide.dtype == "uint8" and slide.nodata == LANDSLIDE_NODATA
    assert 0 <= slide.value_min and slide.value_max == 5
    drought = demo_catalogue[("drought_index", None)]
    assert -3 <= drought.value_min < -1 and drought.value_max <= 3 and drought.unit == "sd"


def test_demo_flood_100_year_covers_10_year(demo_catalogue, demo_settings):
    f10, f100 = demo_catalogue[("flood_depth", 10)], demo_catalogue[("flood_depth", 100)]
    with rasterio.open(stored_file(demo_settings, f10)) as a, rasterio.open(stored_file(demo_settings, f100)) as b:
        assert a.transform == b.transform and a.shape == b.shape
        d10, d100 = a.read(1, masked=True), b.read(1, masked=True)  # small demo rasters: read whole in a test
    wet10, wet100 = d10.filled(0) > 0, d100.filled(0) > 0
    assert wet10.sum() > 0 and not (wet10 & ~wet100).any()  # the 100-year extent holds the 10-year one
    assert wet100.sum() > wet10.sum() * 1.2 and (d100.filled(0) >= d10.filled(0)).all()
    assert f100.value_max > f10.value_max


def test_demo_landslide_classes_follow_slope(db):
    from geoalchemy2.shape import to_shape

    from ingest.demo_rasters import landslide_classes
    from spatial.geometry import to_metric
    from spatial.models import AdminUnit

    geom = db.scalar(select(AdminUnit.geom).where(AdminUnit.level == "province", AdminUnit.boundary == "current"))
    terrain = make_terrain(to_metric(to_shape(geom)), DEMO_SEED)
    classes = landslide_classes(terrain)
    inside = classes[terrain.inside]
    assert set(np.unique(inside)) <= set(range(6)) and (classes[~terrain.inside] == LANDSLIDE_NODATA).all()
    mean_slope = [terrain.slope[terrain.inside][inside == c].mean() for c in range(1, 6)]
    assert mean_slope == sorted(mean_slope)  # steeper slopes, higher classes
    assert (np.bincount(inside, minlength=6)[1:] > 0).all()


def test_demo_rasters_are_deterministic(db, tmp_path):
    from geoalchemy2.shape import to_shape

    from ingest.demo_rasters import demo_rasters, write_geotiff
    from spatial.geometry import to_metric
    from spatial.models import AdminUnit

    geom = to_metric(
        to_shape(
            db.scalar(select(AdminUnit.geom).where(AdminUnit.level == "province", AdminUnit.boundary == "current"))
        )
    )
    checksums = set(db.scalars(select(Raster.checksum).where(Raster.created_by == "demo")))
    import hashlib

    made = set()
    terrain = make_terrain(geom, DEMO_SEED)
    for r in demo_rasters(terrain, DEMO_SEED):
        write_geotiff(tmp_path / r.filename, terrain, r.data, r.nodata)
        made.add(hashlib.sha256((tmp_path / r.filename).read_bytes()).hexdigest())
    assert made == checksums  # same seed, same bytes: a second demo load catalogues nothing new
