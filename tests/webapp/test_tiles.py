"""Hazard raster tiles and legends, on the demo's catalogued COGs.

Tiles are decoded with GDAL's PNG driver and compared, pixel by pixel, with the values read
directly from the COG with rasterio at the same places, drawn through the same ramp.
"""

from __future__ import annotations

import warnings

import morecantile
import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from sqlalchemy import select
from sqlalchemy.orm import Session

from spatial import NotFound
from spatial.db import engine_for
from spatial.geometry import WGS84, transform_xy
from spatial.hazard_styles import style_for
from spatial.models import Raster
from spatial.raster_catalogue import readable_cog, stored_file
from tests.conftest import ROLES, client_for

TMS = morecantile.tms.get("WebMercatorQuad")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rasters(demo_settings) -> dict[str, dict]:
    """The demo's catalogued rasters by key (flood_depth_100, landslide, …), with their COG's path."""
    with Session(engine_for(demo_settings)) as s:  # reads the committed demo, once for the module
        rows = s.execute(select(Raster)).scalars().all()
        out = {}
        for r in rows:
            key = f"{r.hazard}_{r.return_period}" if r.return_period else r.hazard
            out[key] = {
                "id": r.id,
                "hazard": r.hazard,
                "path": stored_file(demo_settings, r),
                "value_min": r.value_min,
                "value_max": r.value_max,
                "nodata": r.nodata,
            }
    assert {"flood_depth_10", "flood_depth_100", "landslide", "drought_index"} <= set(out)
    return out


def decode(png: bytes) -> np.ndarray:
    """RGBA (4, height, width) of a PNG, through GDAL's PNG driver."""
    assert png.startswith(PNG_SIGNATURE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a PNG has no geotransform
        with rasterio.MemoryFile(png) as mem, mem.open(driver="PNG") as img:
            data = img.read()
    if data.shape[0] == 2:  # grey + alpha
        data = np.stack([data[0], data[0], data[0], data[1]])
    assert data.shape[0] == 4, data.shape
    return data


def tile_with_both(raster: dict, z: int) -> morecantile.Tile:
    """A tile at zoom z holding both drawn pixels and transparent ones: around a drawn pixel
    that has a not-drawn pixel (nodata, dry ground, class 0) within a few pixels."""
    style = style_for(raster["hazard"], raster["value_min"], raster["value_max"])
    with rasterio.open(raster["path"]) as src:
        values = src.read(1)
        drawn = values != src.nodata
        if style.transparent_at_or_below is not None:
            drawn &= values > style.transparent_at_or_below
        if style.kind == "classes":
            drawn &= np.isin(values, list(style.class_colours()))
        # a drawn pixel with a not-drawn one 3 pixels to its east
        rows, cols = np.nonzero(drawn[:, :-3] & ~drawn[:, 3:])
        assert len(rows), "no edge between drawn and transparent pixels"
        i = len(rows) // 2
        ((lon, lat),) = transform_xy(np.array([src.xy(int(rows[i]), int(cols[i]))]), src.crs.to_string(), WGS84)
    return TMS.tile(lon, lat, z)


def expected_pixels(raster: dict, tile: morecantile.Tile, step: int = 8) -> tuple[list, np.ndarray]:
    """(row, col) of sampled tile pixels and the RGBA each should have (alpha 0: transparent),
    from the COG's value at the pixel's centre."""
    style = style_for(raster["hazard"], raster["value_min"], raster["value_max"])
    left, bottom, right, top = TMS.xy_bounds(tile)
    size = 256
    places, colours = [], []
    with rasterio.open(raster["path"]) as src:
        for row in range(step // 2, size, step):
            for col in range(step // 2, size, step):
                x = left + (col + 0.5) * (right - left) / size
                y = top - (row + 0.5) * (top - bottom) / size
                ((cx, cy),) = transform_xy(np.array([TMS.lnglat(x, y)]), WGS84, src.crs.to_string())
                r, c = src.index(cx, cy)
                if not (0 <= r < src.height and 0 <= c < src.width):
                    value = None
                else:
                    value = src.read(1, window=((r, r + 1), (c, c + 1)))[0, 0]
                    if value == src.nodata:
                        value = None
                colour = style.colour_at(float(value)) if value is not None else None
                places.append((row, col))
                colours.append(colour or (0, 0, 0, 0))
    return places, np.array(colours)


def get_tile(client, raster_id: int, tile: morecantile.Tile):  # type: ignore[no-untyped-def]
    return client.get(f"/tiles/rasters/{raster_id}/{tile.z}/{tile.x}/{tile.y}.png")


@pytest.mark.parametrize("key", ["flood_depth_100", "landslide", "drought_index"])
def test_tile_inside_matches_the_raster(client, rasters, key):
    raster = rasters[key]
    tile = tile_with_both(raster, 12)
    response = get_tile(client, raster["id"], tile)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    rgba = decode(response.data)
    assert rgba.shape == (4, 256, 256)
    alpha = rgba[3]
    assert set(np.unique(alpha)) <= {0, 255}
    assert (alpha == 255).sum() > 0, "nothing drawn in a tile inside the raster"
    assert (alpha == 0).sum() > 0, "nothing transparent where there is nodata or a value not drawn"

    places, want = expected_pixels(raster, tile)
    got = np.array([rgba[:, r, c] for r, c in places])
    # transparent exactly where the COG has nodata or a value the ramp leaves out; elsewhere the ramp's
    # colour (one index of the 256-colour table apart at most); a sample right on a pixel edge may
    # fall on the neighbouring pixel
    same_alpha = got[:, 3] == want[:, 3]
    close = np.abs(got[:, :3].astype(int) - want[:, :3].astype(int)).max(axis=1) <= 3
    agree = same_alpha & ((want[:, 3] == 0) | close)
    assert agree.mean() >= 0.98, f"{(~agree).sum()} of {len(agree)} sampled pixels differ from the raster"
    assert (want[:, 3] == 255).sum() > 10 and (want[:, 3] == 0).sum() > 10


def test_tile_outside_is_empty_and_transparent(client, rasters):
    raster = rasters["flood_depth_10"]
    for tile in (morecantile.Tile(0, 0, 8), TMS.tile(105.0, 21.0, 10)):  # the Arctic, Hà Nội's west
        response = get_tile(client, raster["id"], tile)
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        rgba = decode(response.data)
        assert rgba.shape == (4, 256, 256)
        assert rgba[3].max() == 0


def test_zoomed_out_tile_reads_overviews(client, rasters):
    """The whole province on one tile: drawn and transparent pixels, in a few hundred milliseconds."""
    raster = rasters["drought_index"]
    response = get_tile(client, raster["id"], TMS.tile(106.6, 21.85, 6))
    rgba = decode(response.data)
    assert 0 < (rgba[3] == 255).sum() < 256 * 256


def test_every_role_reads_tiles_and_anonymous_does_not(app, accounts, anonymous, rasters):
    raster = rasters["landslide"]
    tile = tile_with_both(raster, 10)
    for role in ROLES:
        assert get_tile(client_for(app, accounts, role), raster["id"], tile).status_code == 200, role
    response = get_tile(anonymous, raster["id"], tile)
    assert response.status_code == 401
    assert response.is_json
    assert anonymous.get(f"/tiles/rasters/{raster['id']}/legend.json").status_code == 401


def test_bad_addresses(client, rasters):
    rid = rasters["flood_depth_10"]["id"]
    response = client.get(f"/tiles/rasters/{rid}/23/0/0.png")
    assert response.status_code == 400
    assert response.json["error"]["parameter"] == "z"
    response = client.get(f"/tiles/rasters/{rid}/3/8/0.png")
    assert response.status_code == 400
    assert response.json["error"]["parameter"] == "x"
    response = client.get(f"/tiles/rasters/{rid}/3/0/9.png")
    assert response.status_code == 400
    assert response.json["error"]["parameter"] == "y"
    missing = max(r["id"] for r in rasters.values()) + 1000
    response = client.get(f"/tiles/rasters/{missing}/8/0/0.png")
    assert response.status_code == 404
    assert "no raster" in response.json["error"]["message"]
    assert client.get(f"/tiles/rasters/{missing}/legend.json").status_code == 404
    # the path is not a file name: anything but an integer id is no route at all
    assert client.get("/tiles/rasters/..%2F..%2Fetc%2Fpasswd/8/0/0.png").status_code == 404


def test_cache_headers_and_revalidation(client, rasters):
    raster = rasters["flood_depth_100"]
    tile = tile_with_both(raster, 11)
    first = get_tile(client, raster["id"], tile)
    etag = first.headers["ETag"]
    assert etag.strip('"').endswith(f"-{tile.z}-{tile.x}-{tile.y}")
    assert "private" in first.headers["Cache-Control"]
    assert "max-age=" in first.headers["Cache-Control"]
    again = client.get(f"/tiles/rasters/{raster['id']}/{tile.z}/{tile.x}/{tile.y}.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    # another raster's tile at the same address has another ETag
    other = get_tile(client, rasters["flood_depth_10"]["id"], tile)
    assert other.headers["ETag"] != etag


def test_legends(client, rasters):
    flood = client.get(f"/tiles/rasters/{rasters['flood_depth_100']['id']}/legend.json").json
    assert flood["hazard"] == "flood_depth" and flood["kind"] == "continuous"
    assert flood["unit"] == "m" and flood["return_period"] == 100
    assert flood["label"].startswith("Flood depth")
    assert (flood["min"], flood["max"]) == (0.0, 2.0)
    assert flood["transparent_at_or_below"] == 0.0
    assert [s["value"] for s in flood["stops"]] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert all(s["colour"].startswith("#") and len(s["colour"]) == 7 for s in flood["stops"])
    assert len(flood["gradient"]) == 11

    landslide = client.get(f"/tiles/rasters/{rasters['landslide']['id']}/legend.json").json
    assert landslide["kind"] == "classes" and landslide["unit"] == "class"
    assert [s["value"] for s in landslide["stops"]] == [0, 1, 2, 3, 4, 5]
    assert landslide["stops"][0]["colour"] is None  # class 0 is not drawn
    assert landslide["stops"][5]["label"] == "very_high"

    drought = client.get(f"/tiles/rasters/{rasters['drought_index']['id']}/legend.json").json
    assert (drought["min"], drought["max"]) == (-2.5, 2.5)
    centre = next(s for s in drought["stops"] if s["value"] == 0.0)
    assert all(int(centre["colour"][i : i + 2], 16) >= 240 for i in (1, 3, 5))  # near white at 0
    assert drought["stops"][0]["colour"] != drought["stops"][-1]["colour"]


def test_viridis_for_other_hazards_spans_the_raster_range():
    style = style_for("rainfall", 100.0, 300.0)
    legend = style.legend()
    assert (legend["min"], legend["max"]) == (100.0, 300.0)
    assert legend["stops"][0]["colour"] == "#440154"  # viridis' dark purple at the low end
    assert style.colour_at(50.0) == style.colour_at(100.0)  # clamped
    assert style.colour_at(300.0)[:3] == (253, 231, 36)


def test_only_files_in_the_raster_store_are_read(demo_settings):
    for path in ("../../../etc/passwd", "/etc/passwd", "/vsicurl/http://example.org/x.tif", "nope.tif"):
        with pytest.raises(NotFound):
            readable_cog(demo_settings, Raster(id=1, path=path))
