"""Climate-risk rasters: check an uploaded GeoTIFF and turn it into a Cloud-Optimized GeoTIFF.

Pure helpers, no database. GDAL is never handed a name a person typed: the upload is
copied, byte by byte, into a file we named in a folder we made, its first bytes must be
a TIFF header, and GDAL may open it with the GTiff driver only, with sidecar lookups off.
So a VRT (which makes GDAL read other files), ``/vsicurl/`` and the other virtual file
systems, and formats that reference other files never reach a driver that would follow
them. Sizes are checked from the header before a pixel is read; pixels are then read
block by block (the COG writer works by windows too), never whole.

The COG keeps the upload's grid exactly (CRS, transform, shape, data type, nodata): it is
the raster of record, on which exposure is computed. Only its extent is reprojected (to
WGS 84, for the catalogue and the map); tiles are reprojected on the fly when drawn.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

import numpy as np

from spatial import SinhkeError

#: what GDAL may do while it reads an upload or writes a COG
GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no sidecar (.ovr, .aux.xml, .msk) lookups
    "GDAL_PAM_ENABLED": "NO",  # no .aux.xml read or written beside our files
    "GDAL_CACHEMAX": 128,  # MB: the block cache, whatever the raster's size
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": "none",  # belt and braces: no network reads
    "GDAL_HTTP_TIMEOUT": "1",
}
#: data types a hazard raster may have (complex and other exotic types are refused)
DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
#: one block (tile or strip) decompressed: above this, reading "by block" reads too much at once
MAX_BLOCK_BYTES = 64 * 1024 * 1024
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
GDAL_NODATA_TAG = 42113
COPY_CHUNK = 1024 * 1024
#: tile size of the stored COGs (map tiles are 256 px)
COG_BLOCK = 256

#: first bytes of formats people upload by mistake, and why they are refused
_NOT_TIFF = (
    (b"<VRTDataset", "VRT rasters are refused: they make GDAL read other files, paths or URLs"),
    (b"PK\x03\x04", "archives (zip) are refused: upload the GeoTIFF itself"),
    (b"\x1f\x8b", "compressed files (gzip) are refused: upload the GeoTIFF itself"),
    (b"CDF\x01", "NetCDF files are refused: convert to GeoTIFF first"),
    (b"CDF\x02", "NetCDF files are refused: convert to GeoTIFF first"),
    (b"\x89HDF", "HDF5/NetCDF-4 files are refused: convert to GeoTIFF first"),
    (b"\x89PNG", "PNG images are refused: only GeoTIFF is accepted"),
    (b"\xff\xd8\xff", "JPEG images are refused: only GeoTIFF is accepted"),
)


class RasterError(SinhkeError):
    """An upload that cannot be catalogued; the message names the file and the reason."""

    def __init__(self, filename: str, reason: str):
        self.filename = filename
        self.reason = reason
        super().__init__(f"{filename}: {reason}")


@dataclass(frozen=True)
class RasterLimits:
    max_pixels: int
    max_bytes: int
    max_block_bytes: int = MAX_BLOCK_BYTES

    @classmethod
    def from_settings(cls, settings) -> RasterLimits:
        return cls(max_pixels=settings.raster_max_pixels, max_bytes=settings.raster_max_bytes)


@dataclass(frozen=True)
class SourceInfo:
    """What the uploaded GeoTIFF's header says, once checked."""

    width: int
    height: int
    count: int
    dtype: str
    crs: str
    resolution: tuple[float, float]
    nodata: float | None


@dataclass(frozen=True)
class CogInfo:
    """The stored COG: the upload's grid (which it keeps), its extent in WGS 84 and its valid values."""

    source: SourceInfo
    bounds: tuple[float, float, float, float]  # west, south, east, north (EPSG:4326)
    value_min: float | None
    value_max: float | None
    valid_pixels: int
    size_bytes: int


def safe_filename(name: str | None) -> str:
    """The base name of what a person called the file, for messages and the catalogue only."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return "".join(c for c in base if c.isprintable())[:255] or "upload.tif"


# --------------------------------------------------------------------------- upload
def copy_upload(source: IO[bytes] | Path, dest: Path, filename: str, max_bytes: int) -> tuple[str, int]:
    """Copy the upload into ``dest`` (our own name), hashing it; returns (sha256, size).

    A ``Path`` is opened by Python as a local file: a ``/vsicurl/…`` or other GDAL virtual
    path is simply a file that does not exist.
    """
    digest = hashlib.sha256()
    size = 0
    with _open_source(source, filename) as fin, open(dest, "xb") as fout:
        while chunk := fin.read(COPY_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise RasterError(filename, f"the file is larger than the limit of {max_bytes:,} bytes")
            digest.update(chunk)
            fout.write(chunk)
    if size == 0:
        raise RasterError(filename, "the file is empty")
    return digest.hexdigest(), size


@contextmanager
def _open_source(source: IO[bytes] | Path, filename: str) -> Iterator[IO[bytes]]:
    if isinstance(source, Path):
        try:
            fh = open(source, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise RasterError(filename, "no such file") from None
        except IsADirectoryError:
            raise RasterError(filename, "is a folder, not a file") from None
        except OSError as exc:
            raise RasterError(filename, f"cannot be read ({exc.strerror})") from None
        with fh:
            yield fh
    else:
        yield source


def sniff(path: Path, filename: str) -> None:
    """Refuse anything whose first bytes are not a TIFF header, naming what it looks like."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(TIFF_MAGIC):
        return
    for magic, reason in _NOT_TIFF:
        if head.startswith(magic):
            raise RasterError(filename, reason)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        raise RasterError(
            filename, "XML or HTML is refused (a VRT or similar makes GDAL read other files): only GeoTIFF is accepted"
        )
    raise RasterError(filename, "not a GeoTIFF (the file does not start with a TIFF header)")


def gdal_nodata_tag(path: Path) -> str | None:
    """The GDAL_NODATA TIFF tag of the first image, as written (GDAL drops values it cannot use)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
        order = "<" if head[:2] == b"II" else ">"
        big = struct.unpack(order + "H", head[2:4])[0] == 43
        if big:
            (ifd,) = struct.unpack(order + "Q", head[8:16])
            count_fmt, entry_fmt, entry_size, inline = "Q", "HHQQ", 20, 8
        else:
            (ifd,) = struct.unpack(order + "I", head[4:8])
            count_fmt, entry_fmt, entry_size, inline = "H", "HHII", 12, 4
        fh.seek(ifd)
        raw = fh.read(struct.calcsize(order + count_fmt))
        if len(raw) < struct.calcsize(order + count_fmt):
            return None
        (n,) = struct.unpack(order + count_fmt, raw)
        for _ in range(min(n, 4096)):
            entry = fh.read(entry_size)
            if len(entry) < entry_size:
                return None
            tag, typ, count, value = struct.unpack(order + entry_fmt, entry)
            if tag != GDAL_NODATA_TAG:
                continue
            if typ != 2 or count > 256:  # ASCII, short
                return "<unreadable>"
            if count <= inline:
                data = entry[-inline:][:count]
            else:
                fh.seek(value)
                data = fh.read(count)
            return data.split(b"\x00")[0].decode("ascii", "replace").strip()
    return None


# --------------------------------------------------------------------------- checks
@contextmanager
def open_geotiff(path: Path, filename: str) -> Iterator:
    """Open our own copy with the GTiff driver only; GDAL's refusals become RasterError."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if not isinstance(path, Path) or str(path).startswith("/vsi"):
        raise RasterError(filename, "only a file sinhke copied itself may be opened")
    with rasterio.Env(**GDAL_OPTIONS), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # reported as "no CRS" below
        try:
            src = rasterio.open(path, driver="GTiff")  # the only driver GDAL may try
        except RasterioIOError as exc:
            reason = _first_line(RasterioIOError(str(exc).replace(str(path), filename)))
            raise RasterError(filename, f"not a readable GeoTIFF ({reason})") from None
        with src:
            if src.driver != "GTiff":
                raise RasterError(filename, f"the {src.driver} format is refused: only GeoTIFF is accepted")
            yield src


def check_source(src, path: Path, filename: str, limits: RasterLimits) -> SourceInfo:
    """Dimensions, size, data type, CRS and nodata, from the header alone."""
    width, height, count = src.width, src.height, src.count
    if width < 1 or height < 1 or count < 1:
        raise RasterError(filename, f"has no pixels ({width} x {height}, {count} bands)")
    pixels = width * height * count
    if pixels > limits.max_pixels:
        raise RasterError(
            filename,
            f"{width:,} x {height:,} pixels x {count} bands is more than the limit of {limits.max_pixels:,} pixels",
        )
    dtypes = set(src.dtypes)
    if len(dtypes) != 1:
        raise RasterError(filename, f"bands of different data types ({', '.join(sorted(dtypes))}) are refused")
    dtype = src.dtypes[0]
    if dtype not in DTYPES:
        raise RasterError(filename, f"data type {dtype} is refused (allowed: {', '.join(DTYPES)})")
    itemsize = np.dtype(dtype).itemsize
    if pixels * itemsize > limits.max_bytes:
        raise RasterError(
            filename,
            f"{pixels * itemsize:,} bytes once decompressed is more than the limit of {limits.max_bytes:,} bytes",
        )
    bh, bw = src.block_shapes[0]
    block = bh * bw * itemsize * (count if src.interleaving and src.interleaving.name == "PIXEL" else 1)
    if block > limits.max_block_bytes:
        raise RasterError(
            filename,
            f"one block of {bw:,} x {bh:,} pixels is {block:,} bytes decompressed, more than "
            f"{limits.max_block_bytes:,}: write it tiled (e.g. gdal_translate -co TILED=YES)",
        )
    if src.crs is None:
        if src.gcps[1] is not None or src.gcps[0]:
            raise RasterError(filename, "has ground control points but no CRS and transform: warp it first")
        raise RasterError(filename, "has no CRS: the file must say in which coordinate system its pixels lie")
    t = src.transform
    if t.is_identity or t.a == 0 or t.e == 0:
        raise RasterError(filename, "has a CRS but no usable geotransform")
    nodata = check_nodata(src.nodata, gdal_nodata_tag(path), dtype, filename)
    epsg = src.crs.to_epsg()
    crs = f"EPSG:{epsg}" if epsg else src.crs.to_wkt()
    return SourceInfo(
        width=width, height=height, count=count, dtype=dtype, crs=crs, resolution=(abs(t.a), abs(t.e)), nodata=nodata
    )


def check_nodata(value: float | None, tag: str | None, dtype: str, filename: str) -> float | None:
    """A nodata value must be a number the data type can hold: finite, or NaN for floats.

    ``tag`` is the text the file holds; ``value`` what GDAL made of it (GDAL reads "lots!"
    as 0, turns 1e300 into inf for float32 and drops 99999 for int16, all silently).
    """
    number = value
    if tag is not None:
        try:
            number = float(tag)
        except ValueError:
            raise RasterError(filename, f"nodata {tag!r} is not a number") from None
    if number is None:
        return None
    if np.issubdtype(np.dtype(dtype), np.floating):
        if math.isinf(number):
            raise RasterError(filename, f"nodata {number} is not a finite number")
        if not math.isnan(number) and abs(number) > float(np.finfo(dtype).max):
            raise RasterError(filename, f"nodata {tag or number} cannot be represented in {dtype}")
    else:
        if math.isnan(number) or math.isinf(number) or number != int(number):
            raise RasterError(
                filename, f"nodata {tag or number} is not a whole number, so {dtype} pixels cannot hold it"
            )
        info = np.iinfo(dtype)
        if not info.min <= number <= info.max:
            raise RasterError(
                filename, f"nodata {tag or number} is outside the range of {dtype} ({info.min} to {info.max})"
            )
    return float(value if value is not None else number)


def value_range(src) -> tuple[float | None, float | None, int]:
    """Minimum, maximum and count of valid values over every band, read one block at a time."""
    lo, hi, n = math.inf, -math.inf, 0
    for band in range(1, src.count + 1):
        for _, window in src.block_windows(band):
            data = src.read(band, window=window, masked=True)
            values = data.compressed()
            if values.dtype.kind == "f":
                values = values[np.isfinite(values)]
            if values.size:
                lo, hi, n = min(lo, float(values.min())), max(hi, float(values.max())), n + int(values.size)
    return (lo, hi, n) if n else (None, None, 0)


def has_valid_pixel(src) -> bool:
    """Does any band hold one valid value? Blocks a sparse GeoTIFF never wrote are skipped unread
    (they are nodata by definition), and the scan stops at the first valid value, so an empty
    raster is refused before it is converted rather than after."""
    for band in range(1, src.count + 1):
        for (row, col), window in src.block_windows(band):
            if src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band) in (None, "0"):
                continue  # not written: sparse
            values = src.read(band, window=window, masked=True).compressed()
            if values.dtype.kind == "f":
                values = values[np.isfinite(values)]
            if values.size:
                return True
    return False


# --------------------------------------------------------------------------- conversion
def to_cog(upload: Path, dest: Path, filename: str, limits: RasterLimits, *, progress: TextIO | None = None) -> CogInfo:
    """Check ``upload`` and write it to ``dest`` as a COG with overviews, on the upload's own grid.

    Same CRS, transform, shape, data type and nodata as the upload, so statistics on the COG
    are statistics on the uploaded file. ``dest`` must not exist; on any failure it is removed.
    """
    from rio_cogeo.cogeo import cog_translate, cog_validate
    from rio_cogeo.profiles import cog_profiles

    sniff(upload, filename)
    try:
        with open_geotiff(upload, filename) as src:
            info = check_source(src, upload, filename, limits)
            bounds = wgs84_bounds(src, filename)
            if not has_valid_pixel(src):
                raise RasterError(filename, "every pixel is nodata: nothing to catalogue")
            float_data = np.dtype(info.dtype).kind == "f"
            profile = dict(
                cog_profiles.get("deflate"),
                predictor=3 if float_data else 2,
                blockxsize=COG_BLOCK,
                blockysize=COG_BLOCK,
            )
            # overviews down to one block, at least one level even for small rasters
            levels = max(1, math.ceil(math.log2(max(src.width, src.height) / COG_BLOCK)))
            cog_translate(
                src,
                str(dest),
                profile,
                nodata=info.nodata,
                in_memory=False,
                overview_level=levels,
                overview_resampling="average" if float_data else "nearest",
                config=GDAL_OPTIONS,
                quiet=progress is None,
                progress_out=progress,
            )
        valid, errors, _ = cog_validate(str(dest), config=GDAL_OPTIONS, quiet=True)
        if not valid:
            raise RasterError(filename, f"the converted COG is not valid: {'; '.join(errors)}")
        with open_geotiff(dest, filename) as cog:
            lo, hi, n = value_range(cog)
        if n == 0:
            raise RasterError(filename, "every pixel is nodata: nothing to catalogue")
        return CogInfo(
            source=info,
            bounds=bounds,
            value_min=lo,
            value_max=hi,
            valid_pixels=n,
            size_bytes=dest.stat().st_size,
        )
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def wgs84_bounds(src, filename: str) -> tuple[float, float, float, float]:
    """The raster's extent in WGS 84 (west, south, east, north), its edges densified, checked to lie on the Earth."""
    from rasterio.warp import transform_bounds

    try:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
    except Exception as exc:  # noqa: BLE001 - PROJ's reasons are many; name the file
        raise RasterError(
            filename, f"its extent cannot be placed in WGS 84 ({_first_line(exc)}): is the CRS right?"
        ) from None
    if not (-180.0 <= west < east <= 180.0 and -90.0 <= south < north <= 90.0):
        raise RasterError(
            filename,
            f"its extent ({west:.4f}, {south:.4f}, {east:.4f}, {north:.4f}) lies outside the Earth: is the CRS right?",
        )
    return west, south, east, north


def _first_line(exc: BaseException) -> str:
    """GDAL's reason, without the server's paths (the file is named by the caller's own name)."""
    text = str(exc).strip().splitlines()
    return _SERVER_PATH.sub("the file", text[0]) if text else type(exc).__name__


#: an absolute path as GDAL quotes it in a message ('/srv/…/upload.tif: not recognised …')
_SERVER_PATH = re.compile(r"(?<![\w.])/(?:[^\s:'\"]+/)*[^\s:'\"]*")
