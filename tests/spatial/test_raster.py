"""Raster checks and COG conversion (no database): every hostile input is refused, by name.

Rasters are small and built by the tests; nothing large is committed.
"""

from __future__ import annotations

import http.server
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from rio_cogeo.cogeo import cog_validate

from spatial.raster import RasterError, RasterLimits, check_nodata, copy_upload, sniff, to_cog

LIMITS = RasterLimits(max_pixels=4_000_000, max_bytes=32 * 1024 * 1024)
#: for sparse files, large in pixels and small on disk
LARGE = RasterLimits(max_pixels=100_000_000, max_bytes=1024**3)
#: Lạng Sơn city, in each VN-2000 CRS: (CRS, x, y of the upper-left corner, pixel size)
LANG_SON = {
    "EPSG:3405": (Transformer.from_crs(4326, 3405, always_xy=True).transform(106.70, 21.90), 250.0),
    "EPSG:3406": (Transformer.from_crs(4326, 3406, always_xy=True).transform(106.70, 21.90), 250.0),
    "EPSG:4756": ((106.70, 21.90), 0.0025),
}


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = "EPSG:3405",
    origin=(650_000.0, 2_420_000.0),
    pixel: float = 250.0,
    nodata: float | None = None,
    **extra,
) -> Path:
    profile = dict(
        driver="GTiff",
        width=data.shape[-1],
        height=data.shape[-2],
        count=1 if data.ndim == 2 else data.shape[0],
        dtype=data.dtype.name,
        nodata=nodata,
        **extra,
    )
    if crs is not None:
        profile.update(crs=crs, transform=Affine(pixel, 0.0, origin[0], 0.0, -pixel, origin[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data if data.ndim == 3 else data[None])
    return path


def ramp(h: int = 40, w: int = 50, dtype: str = "float32") -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) % 97).astype(dtype)


def convert(tmp_path: Path, src: Path, name: str | None = None, limits: RasterLimits = LIMITS):
    """As ingest does it: copy into our own file, then check and convert."""
    upload = tmp_path / "work" / "upload.tif"
    upload.parent.mkdir(exist_ok=True)
    upload.unlink(missing_ok=True)
    copy_upload(src, upload, name or src.name, limits.max_bytes)
    dest = tmp_path / "work" / "cog.tif"
    dest.unlink(missing_ok=True)
    return to_cog(upload, dest, name or src.name, limits), dest


def refused(tmp_path: Path, src: Path, match: str, limits: RasterLimits = LIMITS) -> RasterError:
    with pytest.raises(RasterError, match=match) as err:
        convert(tmp_path, src, limits=limits)
    assert str(err.value).startswith(f"{src.name}: ")  # the message names the file
    assert not (tmp_path / "work" / "cog.tif").exists()  # nothing half-written
    return err.value


# --------------------------------------------------------------------------- accepted
@pytest.mark.parametrize("crs", sorted(LANG_SON))
def test_vn2000_is_stored_on_its_own_grid(tmp_path, crs):
    """The COG keeps the upload's CRS, grid and pixels; only the catalogue's extent is in WGS 84."""
    (x, y), pixel = LANG_SON[crs]
    data = ramp()
    src = write_tif(tmp_path / "flood.tif", data, crs=crs, origin=(x, y), pixel=pixel, nodata=-9999.0)
    info, cog = convert(tmp_path, src)
    assert info.source.crs == crs
    assert info.source.resolution == (pixel, pixel) and (info.source.width, info.source.height) == (50, 40)
    # the extent is where PROJ puts the source's corners in WGS 84 (VN-2000's datum shift included)
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    xs = [x, x + 50 * pixel, x, x + 50 * pixel]
    ys = [y, y, y - 40 * pixel, y - 40 * pixel]
    lons, lats = to_wgs.transform(xs, ys)
    west, south, east, north = info.bounds
    tol = 1e-4  # degrees: the edges between the corners bow a little in WGS 84
    assert abs(west - min(lons)) < tol and abs(east - max(lons)) < tol
    assert abs(south - min(lats)) < tol and abs(north - max(lats)) < tol
    assert 106.6 < west < 106.8 and 21.7 < south < 21.95  # Lạng Sơn, not somewhere else
    with rasterio.open(src) as up, rasterio.open(cog) as out:
        assert out.crs == up.crs and out.transform == up.transform and out.shape == up.shape
        assert out.dtypes == up.dtypes and out.nodata == up.nodata == -9999.0
        assert np.array_equal(out.read(1), data)  # the same pixels: the source grid, not a warp of it
        assert out.overviews(1)  # overviews even for a small raster
    assert cog_validate(str(cog))[0]
    assert info.value_min == 0.0 and info.value_max == 96.0


def test_wgs84_input_is_not_warped_and_keeps_its_values(tmp_path):
    data = ramp(dtype="int16")
    src = write_tif(tmp_path / "rain.tif", data, crs="EPSG:4326", origin=(106.5, 22.0), pixel=0.01, nodata=-1)
    info, cog = convert(tmp_path, src)
    assert (info.source.width, info.source.height) == (50, 40) and info.source.dtype == "int16"
    with rasterio.open(cog) as out:
        assert np.array_equal(out.read(1), data)
        assert out.block_shapes[0] == (256, 256) or out.block_shapes[0][1] <= 256


def test_extent_off_the_earth_is_refused(tmp_path):
    """A CRS that does not fit the coordinates: degrees past 180, an easting 65,000 km out."""
    lon = write_tif(tmp_path / "lon.tif", ramp(), crs="EPSG:4326", origin=(500.0, 22.0), pixel=0.01)
    refused(tmp_path, lon, "outside the Earth|cannot be placed in WGS 84")
    far = write_tif(tmp_path / "far.tif", ramp(), crs="EPSG:3405", origin=(6.5e7, 2_420_000.0), pixel=250.0)
    refused(tmp_path, far, "outside the Earth|cannot be placed in WGS 84")


def test_value_range_ignores_nodata_and_nan(tmp_path):
    data = ramp()
    data[0, :] = -9999.0
    data[1, :5] = np.nan
    data[2, 0] = 500.0
    src = write_tif(tmp_path / "depth.tif", data, crs="EPSG:4326", origin=(106.5, 22.0), pixel=0.01, nodata=-9999.0)
    info, _ = convert(tmp_path, src)
    assert (info.value_min, info.value_max) == (0.0, 500.0)
    assert info.valid_pixels == 40 * 50 - 50 - 5


def test_nan_nodata_and_spei_nodata_are_sane(tmp_path):
    spei = write_tif(tmp_path / "spei.tif", ramp() / 50 - 1, nodata=1e30)  # as the SPEI database writes it
    assert np.float32(convert(tmp_path, spei)[0].source.nodata) == np.float32(1e30)
    nan = write_tif(tmp_path / "nan.tif", ramp(), nodata=float("nan"))
    assert np.isnan(convert(tmp_path, nan)[0].source.nodata)


# --------------------------------------------------------------------------- refused
def test_not_a_raster(tmp_path):
    text = tmp_path / "notes.tif"
    text.write_text("household survey notes, not a raster\n")
    refused(tmp_path, text, "not a GeoTIFF")
    csv = tmp_path / "flood.csv"
    csv.write_text("x,y,depth\n1,2,3\n")
    refused(tmp_path, csv, "not a GeoTIFF")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(RasterError, match="empty.tif: the file is empty"):
        convert(tmp_path, empty)


def test_vrt_is_refused_whatever_its_name(tmp_path):
    """A VRT would make GDAL read /etc/passwd, another upload or a URL: it never reaches GDAL."""
    vrt = (
        '<VRTDataset rasterXSize="10" rasterYSize="10"><VRTRasterBand dataType="Byte" band="1">'
        '<SimpleSource><SourceFilename relativeToVRT="0">/etc/passwd</SourceFilename>'
        "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>"
    )
    for name in ("flood.vrt", "flood.tif"):
        (tmp_path / name).write_text(vrt)
        err = refused(tmp_path, tmp_path / name, "VRT rasters are refused: they make GDAL read other files")
        assert err.filename == name
    (tmp_path / "xml.tif").write_text('<?xml version="1.0"?>\n' + vrt)
    refused(tmp_path, tmp_path / "xml.tif", "XML or HTML is refused")


def test_other_formats_are_named(tmp_path):
    (tmp_path / "f.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    refused(tmp_path, tmp_path / "f.zip", "archives")
    (tmp_path / "f.nc").write_bytes(b"CDF\x01" + b"\x00" * 60)
    refused(tmp_path, tmp_path / "f.nc", "NetCDF")
    (tmp_path / "f.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 60)
    refused(tmp_path, tmp_path / "f.png", "PNG")


def test_vsicurl_path_never_reaches_gdal(tmp_path):
    """A path string with /vsicurl/ is a local file name to us: no request leaves the machine."""
    good = write_tif(tmp_path / "good.tif", ramp())
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"/vsicurl/http://127.0.0.1:{server.server_port}/{good.name}"
        for hostile in (url, f"/vsizip/{good}", f"GTIFF_DIR:1:{good}"):
            with pytest.raises(RasterError, match="no such file"):
                copy_upload(Path(hostile), tmp_path / "upload.tif", "flood.tif", LIMITS.max_bytes)
            assert not (tmp_path / "upload.tif").exists()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert requests == []


def test_too_many_pixels(tmp_path):
    src = write_tif(tmp_path / "big.tif", np.zeros((200, 300), "uint8"))
    refused(
        tmp_path,
        src,
        r"300 x 200 pixels x 1 bands is more than the limit of 50,000 pixels",
        RasterLimits(max_pixels=50_000, max_bytes=10**9),
    )


def test_too_many_bytes_once_decompressed(tmp_path):
    src = write_tif(tmp_path / "wide.tif", np.zeros((100, 100), "float64"), compress="deflate")
    refused(
        tmp_path,
        src,
        r"80,000 bytes once decompressed is more than the limit of 50,000",
        RasterLimits(max_pixels=10**9, max_bytes=50_000),
    )


def test_file_larger_than_limit(tmp_path):
    src = write_tif(tmp_path / "raw.tif", np.ones((100, 100), "float32"))
    with pytest.raises(RasterError, match="raw.tif: the file is larger than the limit of 10,000 bytes"):
        convert(tmp_path, src, limits=RasterLimits(max_pixels=10**9, max_bytes=10_000))


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    """A few kilobytes that claim 100,000 x 100,000 pixels: refused before a pixel is read."""
    bomb = tmp_path / "bomb.tif"
    profile = dict(
        driver="GTiff",
        width=100_000,
        height=100_000,
        count=1,
        dtype="float32",
        crs="EPSG:3405",
        transform=Affine(1.0, 0, 600_000, 0, -1.0, 2_450_000),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        nodata=0,
        sparse_ok=True,
    )
    with rasterio.open(bomb, "w", **profile):
        pass  # sparse: no tile written at all
    assert bomb.stat().st_size < 2_000_000
    refused(tmp_path, bomb, "100,000 x 100,000 pixels x 1 bands is more than the limit")


def test_one_huge_strip_is_refused(tmp_path):
    """A file whose one tile is the whole image cannot be read "by block"."""
    src = write_tif(
        tmp_path / "tile.tif",
        np.zeros((320, 320), "float32"),
        tiled=True,
        blockxsize=320,
        blockysize=320,
        compress="deflate",
    )
    refused(
        tmp_path,
        src,
        "one block of 320 x 320 pixels is 409,600 bytes decompressed",
        RasterLimits(max_pixels=10**9, max_bytes=10**9, max_block_bytes=100_000),
    )


def test_no_crs(tmp_path):
    src = write_tif(tmp_path / "nocrs.tif", ramp(), crs=None)
    refused(tmp_path, src, "has no CRS")


def test_complex_data_type(tmp_path):
    src = write_tif(tmp_path / "complex.tif", ramp().astype("complex64"))
    refused(tmp_path, src, "data type complex64 is refused")


def test_all_nodata(tmp_path):
    src = write_tif(tmp_path / "blank.tif", np.full((20, 20), -9999.0, "float32"), nodata=-9999.0)
    refused(tmp_path, src, "every pixel is nodata")


def test_a_sparse_all_nodata_tiff_is_refused_before_any_conversion(tmp_path, monkeypatch):
    """A GeoTIFF whose blocks were never written (GDAL's SPARSE_OK) is refused from its block offsets,
    without reading its pixels or converting it (a 40,000-pixel-wide one took 28 s to be refused)."""
    import rio_cogeo.cogeo

    src = tmp_path / "sparse.tif"
    profile = dict(
        driver="GTiff", width=8192, height=8192, count=1, dtype="float32", nodata=-9999.0, crs="EPSG:3405",
        transform=Affine(30, 0, 600_000, 0, -30, 2_500_000), tiled=True, blockxsize=256, blockysize=256,
        sparse_ok=True, compress="deflate",
    )  # fmt: skip
    with rasterio.open(src, "w", **profile):
        pass  # nothing written: every block sparse
    assert src.stat().st_size < 100_000

    def converted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the empty raster was converted before it was refused")

    monkeypatch.setattr(rio_cogeo.cogeo, "cog_translate", converted)
    refused(tmp_path, src, "every pixel is nodata", limits=LARGE)


def test_one_written_block_among_sparse_ones_is_found(tmp_path):
    src = tmp_path / "mostly_sparse.tif"
    profile = dict(
        driver="GTiff", width=2048, height=2048, count=1, dtype="float32", nodata=-9999.0, crs="EPSG:3405",
        transform=Affine(30, 0, 600_000, 0, -30, 2_500_000), tiled=True, blockxsize=256, blockysize=256,
        sparse_ok=True,
    )  # fmt: skip
    with rasterio.open(src, "w", **profile) as dst:
        dst.write(np.full((256, 256), 1.5, "float32"), 1, window=rasterio.windows.Window(1536, 1792, 256, 256))
    info, _ = convert(tmp_path, src, limits=LARGE)
    assert info.valid_pixels == 256 * 256 and info.value_min == info.value_max == 1.5


def test_gdal_messages_never_show_the_server_path(tmp_path):
    src = tmp_path / "broken.tif"
    src.write_bytes(b"II*\x00" + b"\x00" * 200)  # a TIFF header and nothing readable
    err = refused(tmp_path, src, "not a readable GeoTIFF")
    assert str(tmp_path) not in str(err) and "/work" not in str(err)


def _patched_nodata(tmp_path: Path, name: str, dtype: str, written: str, replacement: bytes) -> Path:
    """Rewrite the GDAL_NODATA tag's text in place: GDAL writers refuse nonsense, files in the wild don't."""
    src = write_tif(tmp_path / f"orig-{name}", ramp(dtype=dtype), nodata=float(written))
    raw = src.read_bytes()
    tag = written.encode() + b"\x00"  # the ASCII tag's text and its terminator
    assert raw.count(tag) == 1 and len(replacement) == len(written)
    out = tmp_path / name
    out.write_bytes(raw.replace(tag, replacement + b"\x00"))
    return out


def test_nonsense_nodata(tmp_path):
    refused(
        tmp_path,
        _patched_nodata(tmp_path, "int16.tif", "int16", "-9999", b"99999"),
        r"nodata 99999 is outside the range of int16 \(-32768 to 32767\)",
    )
    refused(
        tmp_path,
        _patched_nodata(tmp_path, "frac.tif", "int16", "-9999", b"-9.75"),
        "nodata -9.75 is not a whole number",
    )
    refused(
        tmp_path,
        _patched_nodata(tmp_path, "byte.tif", "uint8", "200", b"-20"),
        "nodata -20 is outside the range of uint8",
    )
    refused(
        tmp_path, _patched_nodata(tmp_path, "text.tif", "float32", "-9999", b"lots!"), "nodata 'lots!' is not a number"
    )
    refused(
        tmp_path,
        _patched_nodata(tmp_path, "inf.tif", "float32", "-9999", b"inf\x00\x00"),
        "nodata inf is not a finite number",
    )
    refused(
        tmp_path,
        _patched_nodata(tmp_path, "f32.tif", "float32", "-9999", b"1e300"),
        "nodata 1e300 cannot be represented in float32",
    )


@pytest.mark.parametrize(
    ("value", "dtype", "ok"),
    [
        (None, "uint8", True),
        (0, "uint8", True),
        (255, "uint8", True),
        (256, "uint8", False),
        (-1, "uint8", False),
        (-32768, "int16", True),
        (0.5, "int16", False),
        (float("nan"), "int16", False),
        (float("nan"), "float32", True),
        (1e30, "float32", True),
        (3.5e38, "float32", False),
        (float("-inf"), "float64", False),
        (-9999.0, "float64", True),
    ],
)
def test_check_nodata_rules(value, dtype, ok):
    if ok:
        check_nodata(value, None if value is None else str(value), dtype, "x.tif")
    else:
        with pytest.raises(RasterError, match="x.tif: nodata"):
            check_nodata(value, str(value), dtype, "x.tif")


def test_sniff_accepts_bigtiff(tmp_path):
    src = write_tif(tmp_path / "big.tif", ramp(), BIGTIFF="YES", nodata=-1.0)
    sniff(src, "big.tif")
    assert convert(tmp_path, src)[0].source.nodata == -1.0
