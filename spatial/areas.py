"""An administrative unit's page: its exposure to each hazard raster and the exposed models,
works, water schemes and households inside it (read from the exposure job's results; scoped by
row-level security like everything else)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.layers import BOUNDARIES

#: exposed households listed per raster on the page (the counts are complete)
MAX_HOUSEHOLDS = 200

_UNIT = text("""
SELECT u.id, u.code, u.name, u.level, u.unit_type, u.boundary, u.area_type, p.name AS parent
FROM admin_units u LEFT JOIN admin_units p ON p.id = u.parent_id
WHERE u.code = :code AND u.boundary = :b""")

_RASTERS = text("""
SELECT r.id, r.name, r.hazard, r.unit, r.return_period, r.epoch, a.mean, a.p90, a.max, a.share_above,
       a.households, a.households_exposed
FROM area_exposure a JOIN rasters r ON r.id = a.raster_id AND r.retired_at IS NULL
WHERE a.unit_id = :u ORDER BY r.hazard, r.return_period NULLS FIRST, r.id""")

# assets inside the unit (PostGIS decides, whatever commune they were registered in) exposed to a raster
_ASSETS = text("""
WITH unit AS (SELECT geom FROM admin_units WHERE id = :u),
assets AS (
    SELECT 'model' AS kind, m.id, m.code, m.name, m.model_type AS type FROM livelihood_models m, unit
    WHERE m.deleted_at IS NULL AND ST_Intersects(m.geom, unit.geom)
    UNION ALL
    SELECT 'work', w.id, w.code, w.name, w.work_type FROM infrastructure_works w, unit
    WHERE w.deleted_at IS NULL AND ST_Intersects(w.geom, unit.geom)
    UNION ALL
    SELECT 'water_scheme', s.id, s.code, s.name, s.technology FROM water_schemes s, unit
    WHERE s.deleted_at IS NULL AND ST_Intersects(s.geom, unit.geom)
)
SELECT a.kind, a.code, a.name, a.type, r.id AS raster, r.name AS raster_name, r.hazard, r.unit,
       e.value_at, e.max, e.share_above, e.buffer_m
FROM assets a
JOIN asset_exposure e ON e.asset_kind = a.kind AND e.asset_id = a.id AND e.exposed
JOIN rasters r ON r.id = e.raster_id AND r.retired_at IS NULL
ORDER BY a.kind, a.code, r.id""")

_HOUSEHOLDS = text("""
SELECT r.id AS raster, h.code, v.name AS village, e.value,
       count(*) OVER (PARTITION BY r.id) AS total,
       row_number() OVER (PARTITION BY r.id ORDER BY h.code) AS n
FROM household_units hu
JOIN households h ON h.id = hu.household_id AND h.deleted_at IS NULL
LEFT JOIN villages v ON v.id = h.village_id
JOIN household_exposure e ON e.household_id = h.id AND e.exposed
JOIN rasters r ON r.id = e.raster_id AND r.retired_at IS NULL
WHERE hu.boundary = :b AND :u IN (hu.commune_id, hu.district_id, hu.province_id)
ORDER BY r.id, h.code""")


def area_overview(session: Session, code: str, boundaries: str = "current") -> dict[str, Any]:
    if boundaries not in BOUNDARIES:
        raise ParameterError("boundaries", f"unknown boundaries {boundaries!r}", list(BOUNDARIES))
    found = session.execute(_UNIT, {"code": code, "b": boundaries}).mappings().first()
    if found is None:
        raise NotFound(f"no {boundaries} administrative unit {code!r}")
    unit = dict(found)
    rasters = [dict(r) for r in session.execute(_RASTERS, {"u": unit["id"]}).mappings()]
    assets: dict[tuple[str, str], dict[str, Any]] = {}
    for r in session.execute(_ASSETS, {"u": unit["id"]}).mappings():
        entry = assets.setdefault(
            (r["kind"], r["code"]),
            {"kind": r["kind"], "code": r["code"], "name": r["name"], "type": r["type"], "exposures": []},
        )
        entry["exposures"].append(
            {k: r[k] for k in ("raster", "raster_name", "hazard", "unit", "value_at", "max", "share_above", "buffer_m")}
        )
    households: dict[int, dict[str, Any]] = {}
    for r in session.execute(_HOUSEHOLDS, {"u": unit["id"], "b": boundaries}).mappings():
        entry = households.setdefault(r["raster"], {"total": r["total"], "rows": []})
        if r["n"] <= MAX_HOUSEHOLDS:
            entry["rows"].append({"code": r["code"], "village": r["village"], "value": r["value"]})
    del unit["id"]
    return {
        "unit": unit,
        "rasters": rasters,
        "assets": list(assets.values()),
        "households": {str(k): v for k, v in households.items()},
    }
