"""Real administrative units of one province, read at run time from ``vietnamadminunits``.

The package (MIT) carries names, codes, centroids, bounding boxes, areas and the
2025 old→new crosswalk, but no polygons. Nothing of it is copied into this repo.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest import IngestError

URBAN_TYPES = {"Phường", "Thị trấn"}


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    @classmethod
    def parse(cls, text: str) -> Bounds:
        # "21.32515,106.09538 – 22.461466,107.363976"  (lat,lon – lat,lon)
        a, b = (part.strip() for part in text.replace("–", "-").split(" - "))
        lat1, lon1 = (float(v) for v in a.split(","))
        lat2, lon2 = (float(v) for v in b.split(","))
        return cls(min(lat1, lat2), min(lon1, lon2), max(lat1, lat2), max(lon1, lon2))


@dataclass(frozen=True)
class Unit:
    level: str
    code: str
    name: str
    unit_type: str
    lat: float
    lon: float
    parent_code: str | None = None
    bounds: Bounds | None = None
    area_km2: float | None = None
    key: str = ""

    @property
    def area_type(self) -> str:
        return "urban" if self.unit_type in URBAN_TYPES else "rural"


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    legacy_province: Unit
    current_province: Unit
    districts: list[Unit]
    legacy_communes: list[Unit]
    current_communes: list[Unit]
    #: (old commune code, new commune code, is the package's default new unit)
    crosswalk: list[tuple[str, str, bool]]


def _unit_type(full_name: str, types: tuple[str, ...]) -> str:
    for t in sorted(types, key=len, reverse=True):
        if full_name.startswith(t + " "):
            return t
    return full_name.split(" ")[0]


def load_province(short_name: str) -> Province:
    """Legacy (province → district → commune) and 2025 (province → commune) units."""
    from vietnamadminunits.converter import converter_2025 as conv
    from vietnamadminunits.database import query

    legacy = [r for r in query("SELECT * FROM admin_units_legacy") if r["provinceShort"] == short_name]
    current = [r for r in query("SELECT * FROM admin_units") if r["provinceShort"] == short_name]
    if not legacy or not current:
        raise IngestError(f"province {short_name!r} is not in vietnamadminunits")
    first = legacy[0]
    legacy_province = Unit(
        level="province",
        code=first["provinceCode"],
        name=first["province"],
        unit_type=_unit_type(first["province"], ("Tỉnh", "Thành phố")),
        lat=first["provinceLat"],
        lon=first["provinceLon"],
        bounds=Bounds.parse(first["provinceBounds"]),
        key=first["provinceKey"],
    )
    cur0 = current[0]
    current_province = Unit(
        level="province",
        code=cur0["provinceCode"],
        name=cur0["province"],
        unit_type=_unit_type(cur0["province"], ("Tỉnh", "Thành phố")),
        lat=cur0["provinceLat"],
        lon=cur0["provinceLon"],
        key=cur0["provinceKey"],
    )
    districts: dict[str, Unit] = {}
    communes: list[Unit] = []
    old_keys: dict[str, str] = {}
    for r in legacy:
        if r["districtCode"] not in districts:
            districts[r["districtCode"]] = Unit(
                level="district",
                code=r["districtCode"],
                name=r["district"],
                unit_type=r["districtType"],
                lat=r["districtLat"],
                lon=r["districtLon"],
                parent_code=r["provinceCode"],
                bounds=Bounds.parse(r["districtBounds"]),
                key=r["districtKey"],
            )
        communes.append(
            Unit(
                level="commune",
                code=r["wardCode"],
                name=r["ward"],
                unit_type=r["wardType"],
                lat=r["wardLat"],
                lon=r["wardLon"],
                parent_code=r["districtCode"],
                bounds=Bounds.parse(r["wardBounds"]),
                key=r["wardKey"],
            )
        )
        old_keys[f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}"] = r["wardCode"]
    new_units = [
        Unit(
            level="commune",
            code=r["wardCode"],
            name=r["ward"],
            unit_type=r["wardType"],
            lat=r["wardLat"],
            lon=r["wardLon"],
            parent_code=r["provinceCode"],
            area_km2=r["wardAreaKm2"],
            key=r["wardKey"],
        )
        for r in current
    ]
    new_by_key = {u.key: u.code for u in new_units}
    crosswalk: list[tuple[str, str, bool]] = []
    pkey = current_province.key
    for new_key, olds in conv.DICT_PROVINCE_WARD_NO_DIVIDED.get(pkey, {}).items():
        for old in olds:
            if old in old_keys and new_key in new_by_key:
                crosswalk.append((old_keys[old], new_by_key[new_key], True))
    for old, targets in conv.DICT_PROVINCE_WARD_DIVIDED.get(pkey, {}).items():
        for t in targets:
            if old in old_keys and t["newWardKey"] in new_by_key:
                crosswalk.append((old_keys[old], new_by_key[t["newWardKey"]], bool(t["isDefaultNewWard"])))
    missing = {c.code for c in communes} - {old for old, _, _ in crosswalk}
    if missing:
        raise IngestError(f"crosswalk of {short_name} misses legacy communes {sorted(missing)}")
    return Province(
        code=legacy_province.code,
        name=legacy_province.name,
        legacy_province=legacy_province,
        current_province=current_province,
        districts=sorted(districts.values(), key=lambda u: u.code),
        legacy_communes=sorted(communes, key=lambda u: u.code),
        current_communes=sorted(new_units, key=lambda u: u.code),
        crosswalk=sorted(crosswalk),
    )
