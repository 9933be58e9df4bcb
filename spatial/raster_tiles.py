"""Web Mercator map tiles (XYZ, 256 px PNG) of a catalogued COG, drawn in its hazard's ramp.

Pure: no database. The caller hands over the path of a file the catalogue stored
(``raster_catalogue.stored_file``), never a string a person typed; it is opened with the
GTiff driver only, inside the same GDAL options as ingest (no sidecars, no network).
rio-tiler reads the tile (from the COG's overviews when zoomed out), reprojecting it from the
COG's own CRS (the uploaded file's, e.g. EPSG:3405) as it reads, and applies the ramp.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio

# imported with the app, not at the first tile: threads of a server importing rio-tiler at once
# saw half-initialised modules
from rio_tiler.colormap import cmap  # noqa: F401 - hazard_styles' named ramps
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from rio_tiler.utils import render

from spatial.geometry import check_tile_grid
from spatial.hazard_styles import HazardStyle
from spatial.raster import GDAL_OPTIONS

TILE_SIZE = 256
MIN_ZOOM = 0
#: beyond this a 250 m (or 90 m) hazard pixel covers thousands of screen pixels: nothing to see
MAX_ZOOM = 20


def check_tile_address(z: int, x: int, y: int) -> None:
    """Refuse a zoom outside MIN_ZOOM–MAX_ZOOM and columns or rows that do not exist at that zoom."""
    check_tile_grid(z, x, y, MIN_ZOOM, MAX_ZOOM)


@lru_cache(maxsize=1)
def empty_tile() -> bytes:
    """A fully transparent 256 × 256 PNG: what a tile outside the raster shows."""
    data = np.zeros((3, TILE_SIZE, TILE_SIZE), dtype="uint8")  # RGBA like every other tile
    return render(data, np.zeros((TILE_SIZE, TILE_SIZE), dtype="uint8"), img_format="PNG")


def render_tile(path: Path, style: HazardStyle, x: int, y: int, z: int) -> bytes:
    """The tile z/x/y of the COG at ``path`` as a PNG: the ramp's colours, nodata and values the
    ramp leaves out transparent; a tile outside the raster's bounds is the empty tile."""
    check_tile_address(z, x, y)
    if not isinstance(path, Path) or str(path).startswith("/vsi"):
        raise ValueError("only a file of the raster catalogue may be opened")
    with rasterio.Env(**GDAL_OPTIONS):
        with rasterio.open(path, driver="GTiff") as src, Reader(None, dataset=src) as reader:
            try:
                image = reader.tile(x, y, z, tilesize=TILE_SIZE, indexes=1, resampling_method="nearest")
            except TileOutsideBounds:
                return empty_tile()
        return _draw(image, style).render(img_format="PNG")


def _draw(image: ImageData, style: HazardStyle) -> ImageData:
    """The one-band ImageData in the style's colours (an RGB ImageData with an alpha mask)."""
    values = image.array
    values.fill_value = 0  # the nodata fill (1e30, −9999) may not survive the cast to 8 bits
    if style.transparent_at_or_below is not None:
        values.mask = np.ma.getmaskarray(values) | (values.data <= style.transparent_at_or_below)
    if style.kind == "classes":
        return image.apply_colormap(style.class_colours())
    lo, hi = style.value_range
    image.rescale(in_range=((lo, hi),))
    return image.apply_colormap(style.lookup_table())
