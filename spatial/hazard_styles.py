"""How each hazard is drawn on the map: one colour ramp per hazard, shared by the tile
renderer (``spatial.raster_tiles``) and the map's legend (``/tiles/rasters/<id>/legend.json``).

Pure: no database, no file access. A continuous ramp is a 256-entry RGBA lookup table for
values rescaled to 0–255 over the ramp's range (values beyond it take the end colours); a
class ramp maps each class value to a colour. Nodata is always transparent; so is dry ground
(flood depth 0 m) and landslide class 0 (flat ground), which would otherwise paint the whole
province.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: bump when a ramp changes, so cached tiles (ETags) are not reused with the old colours
STYLE_VERSION = 1

RGBA = tuple[int, int, int, int]


@dataclass(frozen=True)
class Stop:
    value: float
    colour: str  # "#rrggbb"
    #: for class ramps: the class's name key (the map translates it)
    label: str | None = None


@dataclass(frozen=True)
class HazardStyle:
    """A hazard's colour ramp.

    ``kind`` is ``continuous`` (colours interpolated between ``stops``, from the first stop's
    value to the last) or ``classes`` (one colour per class value, others transparent).
    ``transparent_at_or_below``: values at or below it are not drawn (dry ground).
    ``colormap_name``: a continuous ramp taken from rio-tiler's named colormaps; ``stops``
    then say only where the legend shows values.
    """

    hazard: str
    kind: str
    stops: tuple[Stop, ...]
    transparent_at_or_below: float | None = None
    colormap_name: str | None = None

    @property
    def value_range(self) -> tuple[float, float]:
        return self.stops[0].value, self.stops[-1].value

    def lookup_table(self) -> dict[int, RGBA]:
        """A continuous ramp as a GDAL-style colour table: index 0–255 → RGBA (opaque)."""
        if self.kind != "continuous":
            raise ValueError("only a continuous ramp has a lookup table")
        return dict(_lookup_table(self))

    def class_colours(self) -> dict[int, RGBA]:
        """A class ramp: class value → RGBA; a class without colour is transparent."""
        if self.kind != "classes":
            raise ValueError("only a class ramp has class colours")
        return {int(s.value): (*_rgb(s.colour), 255) for s in self.stops if s.colour}

    def colour_at(self, value: float) -> RGBA | None:
        """The colour a pixel of this value is drawn in; None where it is transparent."""
        if self.transparent_at_or_below is not None and value <= self.transparent_at_or_below:
            return None
        if self.kind == "classes":
            return self.class_colours().get(int(value)) if float(value).is_integer() else None
        lo, hi = self.value_range
        # as rio-tiler rescales: linear over the range, clipped, then truncated to an integer index
        index = int((min(max(value, lo), hi) - lo) / (hi - lo) * 255.0)
        return _lookup_table(self)[index][1]

    def legend(self) -> dict[str, Any]:
        """The ramp as JSON for the map's legend: stops (value → colour) and, for a
        continuous ramp, a gradient of evenly spaced colours from the low end to the high end."""
        out: dict[str, Any] = {
            "hazard": self.hazard,
            "kind": self.kind,
            "style_version": STYLE_VERSION,
            "min": self.value_range[0],
            "max": self.value_range[1],
            "transparent_at_or_below": self.transparent_at_or_below,
            "stops": [
                {"value": s.value, "colour": s.colour or None, **({"label": s.label} if s.label else {})}
                for s in self.stops
            ],
        }
        if self.kind == "continuous":
            table = self.lookup_table()
            lo, hi = self.value_range
            out["stops"] = [{"value": s.value, "colour": _hex(table[_index(s.value, lo, hi)])} for s in self.stops]
            out["gradient"] = [_hex(table[round(i * 255 / 10)]) for i in range(11)]
        return out


@lru_cache(maxsize=64)
def _lookup_table(style: HazardStyle) -> tuple[tuple[int, RGBA], ...]:
    if style.colormap_name:
        from rio_tiler.colormap import cmap

        table = cmap.get(style.colormap_name)
        return tuple((int(i), (int(c[0]), int(c[1]), int(c[2]), 255)) for i, c in table.items())  # type: ignore[union-attr]
    lo, hi = style.value_range
    positions = [(s.value - lo) / (hi - lo) * 255.0 for s in style.stops]
    colours = [_rgb(s.colour) for s in style.stops]
    return tuple((i, (*_interpolate(positions, colours, float(i)), 255)) for i in range(256))


def _index(value: float, lo: float, hi: float) -> int:
    return int((value - lo) / (hi - lo) * 255.0)  # truncated, as the tiles are drawn


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _hex(rgba: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def _interpolate(positions: list[float], colours: list[tuple[int, int, int]], at: float) -> tuple[int, int, int]:
    if at <= positions[0]:
        return colours[0]
    for (p0, c0), (p1, c1) in zip(zip(positions, colours), zip(positions[1:], colours[1:])):  # noqa: B905
        if at <= p1:
            f = (at - p0) / (p1 - p0) if p1 > p0 else 1.0
            return tuple(int(round(a + (b - a) * f)) for a, b in zip(c0, c1))  # type: ignore[return-value]  # noqa: B905
    return colours[-1]


#: water depth (m): light to dark blue over 0–2 m, deeper water in the darkest blue; dry ground not drawn
FLOOD_DEPTH = HazardStyle(
    "flood_depth",
    "continuous",
    (
        Stop(0.0, "#c6dbef"),
        Stop(0.5, "#6baed6"),
        Stop(1.0, "#2171b5"),
        Stop(1.5, "#08519c"),
        Stop(2.0, "#08306b"),
    ),
    transparent_at_or_below=0.0,
)

#: susceptibility classes 0–5 (NASA's global map): 0 flat ground, not drawn; 1 very low … 5 very high
LANDSLIDE = HazardStyle(
    "landslide",
    "classes",
    (
        Stop(0, "", "none"),
        Stop(1, "#fde0dd", "very_low"),
        Stop(2, "#fa9fb5", "low"),
        Stop(3, "#f768a1", "moderate"),
        Stop(4, "#c51b8a", "high"),
        Stop(5, "#7a0177", "very_high"),
    ),
)

#: SPEI-like index (standard deviations): brown for drier, green for wetter, centred at 0;
#: −1, −1.5 and −2 are the thresholds of moderate, severe and extreme drought
DROUGHT_INDEX = HazardStyle(
    "drought_index",
    "continuous",
    (
        Stop(-2.5, "#543005"),
        Stop(-2.0, "#8c510a"),
        Stop(-1.5, "#bf812d"),
        Stop(-1.0, "#dfc27d"),
        Stop(0.0, "#f5f5f5"),
        Stop(1.0, "#80cdc1"),
        Stop(1.5, "#35978f"),
        Stop(2.0, "#01665e"),
        Stop(2.5, "#003c30"),
    ),
)

STYLES = {s.hazard: s for s in (FLOOD_DEPTH, LANDSLIDE, DROUGHT_INDEX)}


def style_for(hazard: str, value_min: float | None = None, value_max: float | None = None) -> HazardStyle:
    """The ramp of a hazard; rainfall and other hazards: viridis over the raster's value range."""
    if hazard in STYLES:
        return STYLES[hazard]
    lo = 0.0 if value_min is None else float(value_min)
    hi = lo + 1.0 if value_max is None or value_max <= lo else float(value_max)
    stops = tuple(Stop(lo + (hi - lo) * i / 4, "") for i in range(5))
    return HazardStyle(hazard, "continuous", stops, colormap_name="viridis")
