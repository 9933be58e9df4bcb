"""VN-2000 coordinates to WGS 84, with the datum shift Vietnam's survey files need.

VN-2000 (EPSG:4756) sits on the WGS 84 ellipsoid but not at its origin: WGS 84 coordinates
differ by about 200 m on the ground. EPSG gives the shift as "VN-2000 to WGS 84 (2)"
(EPSG:6960, a 7-parameter coordinate-frame Helmert); PROJ's ``+towgs84`` takes the same
parameters in the position-vector convention, i.e. with the rotations' signs flipped.

Files come as geographic VN-2000 (EPSG:4756), UTM zones 48N/49N (EPSG:3405/3406) or the
provincial 3° transverse Mercator zones (scale 0.9999, false easting 500 km) of Circular
973/2001/TT-TCĐC, whose central meridian depends on the province. A ``--crs`` value may be an
EPSG code, ``vn2000-tm3:<central meridian in degrees>``, ``vn2000:<province>`` (the provinces
below), or any PROJ/WKT string; a CRS read from a file (a Shapefile's .prj often names
"VN_2000" without its shift) is rebuilt with the shift whenever its datum is VN-2000.
No database code here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from spatial import ParameterError

#: EPSG:6960 in PROJ's position-vector convention (dx, dy, dz m; rx, ry, rz arc-seconds; ds ppm)
VN2000_TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
#: central meridians of the provincial 3° zones (Circular 973/2001/TT-TCĐC; see DOMAIN.md)
PROVINCE_MERIDIANS = {
    "lang_son": 107.25,
    "cao_bang": 105.75,
    "thai_nguyen": 106.5,
    "phu_tho": 104.75,
    "quang_ngai": 108.0,
}


def _slug(name: str) -> str:
    d = unicodedata.normalize("NFD", name.lower().replace("đ", "d"))
    return re.sub(r"[^a-z0-9]+", "_", "".join(c for c in d if not unicodedata.combining(c))).strip("_")


def vn2000_tm3(central_meridian: float) -> CRS:
    """A VN-2000 provincial 3° TM zone (k = 0.9999, false easting 500 km) with the datum shift."""
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0=0 +lon_0={central_meridian:g} +k=0.9999 +x_0=500000 +y_0=0 "
        f"+ellps=WGS84 +towgs84={VN2000_TOWGS84} +units=m +no_defs"
    )


def _is_vn2000(crs: CRS) -> bool:
    datum = crs.datum.name if crs.datum is not None else ""
    return bool(re.search(r"vn[-_ ]?2000|vietnam[-_ ]?2000", datum, re.I) or re.search(r"vn[-_ ]?2000", crs.name, re.I))


def _proj4(crs: CRS) -> str:
    import warnings

    with warnings.catch_warnings():  # "you will likely lose information": the parameters are what we need
        warnings.simplefilter("ignore", UserWarning)
        return crs.to_proj4()


def _with_shift(crs: CRS) -> CRS:
    """The same VN-2000 CRS, with the datum shift spelled out (whatever the file's WKT said)."""
    if crs.is_geographic:
        return CRS.from_proj4(f"+proj=longlat +ellps=WGS84 +towgs84={VN2000_TOWGS84} +no_defs")
    proj4 = re.sub(r"\+(towgs84|datum|ellps|nadgrids)=\S+", "", _proj4(crs)).replace("+type=crs", "")
    return CRS.from_proj4(f"{proj4} +ellps=WGS84 +towgs84={VN2000_TOWGS84}")


def parse_crs(value: str | int, parameter: str = "crs") -> CRS:
    """A CRS from ``--crs`` or a file: EPSG code, ``vn2000-tm3:107.25``, ``vn2000:lang_son``,
    PROJ or WKT. VN-2000 ones carry the datum shift. Raises ParameterError naming ``parameter``."""
    text = str(value).strip()
    m = re.fullmatch(r"(?i)vn-?2000[-_ ]?tm-?3[: ]\s*([0-9]+(?:\.[0-9]+)?)", text)
    if m:
        meridian = float(m.group(1))
        if not 100 <= meridian <= 112:
            raise ParameterError(parameter, f"central meridian {meridian} is outside Vietnam (100° to 112°)")
        return vn2000_tm3(meridian)
    m = re.fullmatch(r"(?i)vn-?2000[: ]\s*(.+)", text)
    if m and _slug(m.group(1)) in PROVINCE_MERIDIANS:
        return vn2000_tm3(PROVINCE_MERIDIANS[_slug(m.group(1))])
    if m and not m.group(1).strip().isdigit():
        raise ParameterError(
            parameter,
            f"no 3° zone known for {m.group(1)!r}: give vn2000-tm3:<central meridian>",
            sorted(f"vn2000:{p}" for p in PROVINCE_MERIDIANS),
        )
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise ParameterError(
            parameter, f"not a coordinate reference system ({str(exc).splitlines()[0][:160]})"
        ) from None
    return _with_shift(crs) if _is_vn2000(crs) else crs


@lru_cache(maxsize=32)
def _transformer(wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(wkt), CRS.from_epsg(4326), always_xy=True)


def to_wgs84_transformer(crs: CRS) -> Transformer | None:
    """lon/lat in WGS 84 from ``crs`` (x = easting/longitude); None when it is WGS 84 already."""
    if crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    return _transformer(crs.to_wkt())


def describe(crs: CRS) -> str:
    """A short name for the report ("EPSG:3405 VN-2000 / UTM zone 48N, with the VN-2000 shift")."""
    code = crs.to_epsg(min_confidence=90)
    name = crs.name if crs.name and crs.name != "unknown" else _proj4(crs).replace(" +type=crs", "")
    shift = ", with the VN-2000 datum shift (EPSG:6960)" if "towgs84" in crs.to_wkt().lower() or _is_vn2000(crs) else ""
    return f"{'EPSG:' + str(code) + ' ' if code else ''}{name}{shift}"
