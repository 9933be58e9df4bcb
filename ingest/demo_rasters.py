"""Synthetic climate-risk rasters over the demo province, from a synthetic terrain.

A terrain is drawn in EPSG:3405 (VN-2000 / UTM 48N, as many uploads from Vietnam are): a few
meandering rivers with flat valley floors, mountains rising away from them, and rugged
short-wavelength relief. From it:

- flood depth (m) for the 10- and 100-year floods: water stands to a stage above the
  nearest river's bed, so low ground near the rivers floods, and the 100-year flood is
  deeper and reaches further than the 10-year one;
- landslide susceptibility classes 0–5 from the slope (steep slopes score high);
- a drought index like SPEI (standard deviations), drier on high ground and in the east.

Outside the province every raster is nodata. Deterministic for a seed; 250 m pixels keep
``make demo`` quick. The rasters are then catalogued through ``ingest_raster`` like any upload.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from geoalchemy2.shape import to_shape
from scipy import ndimage
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import IngestError
from ingest.raster import RasterMetadata, ingest_raster
from spatial.geometry import to_metric
from spatial.models import AdminUnit, Raster
from spatial.settings import Settings

PIXEL_M = 250.0
CRS = "EPSG:3405"
#: water level above the nearest river bed (m) for each return period (years)
FLOOD_STAGE_M = {10: 3.0, 100: 5.5}
#: slope (degrees) from which each landslide class starts; below the first: class 0
LANDSLIDE_SLOPES = (2.0, 8.0, 15.0, 25.0, 35.0)
#: amplitude (m, one standard deviation) of the short-wavelength hills away from the valleys
RUGGED_M = 150.0
FLOOD_NODATA = -9999.0
LANDSLIDE_NODATA = 255
DROUGHT_NODATA = 1e30  # as in the SPEI database
SOURCE = "sinhke demo: synthetic terrain, not real hazard data"
LICENCE = "MIT (generated)"
DEMO_USER = "demo"  # who ingests them, as for the rest of the demo


@dataclass(frozen=True)
class Terrain:
    """A synthetic terrain on a grid in EPSG:3405 (rows north to south)."""

    west: float
    north: float
    elevation: np.ndarray  # m
    river: np.ndarray  # bool
    above_river: np.ndarray  # m above the nearest river pixel's bed (height above nearest drainage)
    slope: np.ndarray  # degrees
    inside: np.ndarray  # bool: within the province

    @property
    def transform(self):
        return _transform(self.west, self.north)


def _transform(west: float, north: float):
    from affine import Affine

    return Affine(PIXEL_M, 0.0, float(west), 0.0, -PIXEL_M, float(north))


def make_terrain(province_3405: BaseGeometry, seed: int) -> Terrain:
    """Rivers, valley floors and mountains over the province's extent, deterministic for ``seed``."""
    from rasterio.features import geometry_mask

    rng = np.random.default_rng([seed, 3405])
    minx, miny, maxx, maxy = province_3405.bounds
    west, north = np.floor(minx / PIXEL_M) * PIXEL_M, np.ceil(maxy / PIXEL_M) * PIXEL_M
    nx = int(np.ceil((maxx - west) / PIXEL_M))
    ny = int(np.ceil((north - miny) / PIXEL_M))

    river = np.zeros((ny, nx), bool)
    t = np.linspace(0.0, 1.0, 4 * (nx + ny))
    for k in range(4):  # a main river across, and tributaries
        if k == 0:
            (r0, c0), (r1, c1) = (rng.uniform(0.2, 0.8) * ny, 0.0), (rng.uniform(0.2, 0.8) * ny, nx - 1.0)
        else:
            r0, c0 = (0.0, rng.uniform(0.1, 0.9) * nx) if k % 2 else (ny - 1.0, rng.uniform(0.1, 0.9) * nx)
            r1, c1 = rng.uniform(0.35, 0.65) * ny, rng.uniform(0.3, 0.7) * nx
        amp, waves, phase = rng.uniform(0.03, 0.08) * min(nx, ny), rng.uniform(1.5, 3.5), rng.uniform(0, 2 * np.pi)
        bend = amp * np.sin(2 * np.pi * waves * t + phase)
        dr, dc = r1 - r0, c1 - c0
        norm = np.hypot(dr, dc)
        rows = np.clip(np.round(r0 + dr * t - dc / norm * bend), 0, ny - 1).astype(int)
        cols = np.clip(np.round(c0 + dc * t + dr / norm * bend), 0, nx - 1).astype(int)
        river[rows, cols] = True

    dist_px, (near_r, near_c) = ndimage.distance_transform_edt(~river, return_indices=True)
    dist = dist_px * PIXEL_M
    # the valley floor: wide along the main river, narrower elsewhere, gently rising (2.5 m per km)
    floor_w = 1500.0 + 1500.0 * _smooth_noise(rng, (ny, nx), 40)
    floor_rise = 0.0025 * np.minimum(dist, floor_w)
    mountains = 800.0 * (1.0 - np.exp(-np.maximum(dist - floor_w, 0.0) / 5000.0))
    # karst hills: short-wavelength relief, absent on the valley floors
    rugged = RUGGED_M * _standard_noise(rng, (ny, nx), 1.5) * (1.0 - np.exp(-np.maximum(dist - floor_w, 0.0) / 1000.0))
    bed = 250.0 + 250.0 * _smooth_noise(rng, (ny, nx), 80)  # river beds: a regional trend, smooth
    elevation = bed[near_r, near_c] + floor_rise + mountains + rugged
    above_river = np.maximum(elevation - elevation[near_r, near_c], 0.0)
    gy, gx = np.gradient(elevation, PIXEL_M)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    inside = geometry_mask([province_3405], out_shape=(ny, nx), transform=_transform(west, north), invert=True)
    return Terrain(
        west=float(west),
        north=float(north),
        elevation=elevation,
        river=river,
        above_river=above_river,
        slope=slope,
        inside=inside,
    )


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Spatially smooth noise, rescaled to [0, 1]."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="reflect")
    lo, hi = field.min(), field.max()
    return (field - lo) / (hi - lo) if hi > lo else np.zeros(shape)


def _standard_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Spatially smooth noise with mean 0 and standard deviation 1."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="reflect")
    return (field - field.mean()) / (field.std() or 1.0)


def flood_depth(terrain: Terrain, return_period: int) -> np.ndarray:
    """Water depth (m) where the flood stage stands above the ground; nodata outside the province."""
    depth = np.clip(FLOOD_STAGE_M[return_period] - terrain.above_river, 0.0, None).astype("float32")
    return np.where(terrain.inside, np.round(depth, 2), FLOOD_NODATA).astype("float32")


def landslide_classes(terrain: Terrain) -> np.ndarray:
    """0 (flat, rivers) to 5 (steepest slopes); nodata 255 outside the province."""
    classes = np.digitize(terrain.slope, LANDSLIDE_SLOPES).astype("uint8")
    classes[terrain.river] = 0
    return np.where(terrain.inside, classes, LANDSLIDE_NODATA).astype("uint8")


def drought_index(terrain: Terrain, seed: int) -> np.ndarray:
    """SPEI-like standard deviations: negative is drier; drier on high ground and to the east."""
    rng = np.random.default_rng([seed, 4756])
    ny, nx = terrain.elevation.shape
    east = np.linspace(0.0, 1.0, nx)[None, :]
    high = (terrain.elevation - terrain.elevation.min()) / max(np.ptp(terrain.elevation), 1.0)
    spei = 0.4 - 1.2 * east - 0.9 * high + 1.2 * (_smooth_noise(rng, (ny, nx), 25) - 0.5)
    spei = np.clip(np.round(spei, 3), -3.0, 3.0)
    return np.where(terrain.inside, spei, DROUGHT_NODATA).astype("float32")


@dataclass(frozen=True)
class DemoRaster:
    filename: str
    metadata: RasterMetadata
    data: np.ndarray
    nodata: float


def demo_rasters(terrain: Terrain, seed: int) -> list[DemoRaster]:
    """The demo's hazard layers, as arrays with their catalogue metadata."""
    common = dict(source=SOURCE, licence=LICENCE, scenario="historical", epoch="baseline")
    out = [
        DemoRaster(
            f"demo_flood_depth_rp{rp}.tif",
            RasterMetadata(
                hazard="flood_depth", unit="m", return_period=rp, name=f"Flood depth, 1-in-{rp}-year (demo)", **common
            ),
            flood_depth(terrain, rp),
            FLOOD_NODATA,
        )
        for rp in sorted(FLOOD_STAGE_M)
    ]
    out.append(
        DemoRaster(
            "demo_landslide_susceptibility.tif",
            RasterMetadata(hazard="landslide", unit="class", name="Landslide susceptibility 0-5 (demo)", **common),  # type: ignore[arg-type]
            landslide_classes(terrain),
            LANDSLIDE_NODATA,
        )
    )
    out.append(
        DemoRaster(
            "demo_drought_spei.tif",
            RasterMetadata(hazard="drought_index", unit="sd", name="Drought index, SPEI-like (demo)", **common),  # type: ignore[arg-type]
            drought_index(terrain, seed),
            DROUGHT_NODATA,
        )
    )
    return out


def write_geotiff(path: Path, terrain: Terrain, data: np.ndarray, nodata: float) -> None:
    """One band in EPSG:3405, tiled and compressed; the same bytes for the same data."""
    import rasterio

    profile = dict(
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype.name,
        crs=CRS,
        transform=terrain.transform,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    )
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def load_demo_rasters(
    session: Session,
    settings: Settings,
    seed: int,
    progress: Callable[[str], None] = lambda _: None,
    *,
    only_missing: bool = False,
) -> list[Raster]:
    """Generate the demo rasters over the loaded province and catalogue them (a no-op when they are).

    ``only_missing``: do nothing when demo rasters of any seed are catalogued already.
    """
    if only_missing and session.scalar(select(Raster.id).where(Raster.created_by == DEMO_USER).limit(1)):
        return []
    rows = []
    with tempfile.TemporaryDirectory(prefix="sinhke-demo-rasters-") as folder:
        for r, path in write_demo_uploads(session, seed, Path(folder)):
            row, new = ingest_raster(session, path, r.filename, r.metadata, DEMO_USER, settings=settings)
            progress(f"raster {r.filename}: {'catalogued' if new else 'already catalogued'} as {row.id}")
            rows.append(row)
    return rows


def write_demo_uploads(session: Session, seed: int, folder: Path) -> list[tuple[DemoRaster, Path]]:
    """The GeoTIFFs the demo uploads (EPSG:3405), written into ``folder``: the same bytes for the same seed."""
    geom = session.scalar(
        select(AdminUnit.geom).where(AdminUnit.level == "province", AdminUnit.boundary == "current").limit(1)
    )
    if geom is None:
        raise IngestError("demo rasters: no province loaded (run sinhke demo first)")
    terrain = make_terrain(to_metric(to_shape(geom)), seed)
    out = []
    for r in demo_rasters(terrain, seed):
        write_geotiff(folder / r.filename, terrain, r.data, r.nodata)
        out.append((r, folder / r.filename))
    return out
