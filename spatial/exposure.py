"""Reading the exposure job's results: per area (for the API, choropleths and downloads),
per asset (popups) and the exposed households of an area (the area page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.layers import parse_level_boundaries
from spatial.models import ASSET_KINDS
from spatial.params import check_id

AREA_COLUMNS = (
    "code",
    "name",
    "count",
    "mean",
    "min",
    "max",
    "p50",
    "p90",
    "share_above",
    "households",
    "households_exposed",
)


def _raster_id(session: Session, raw: Any) -> int:
    try:
        raster_id = int(raw)
        check_id("raster", raster_id)
    except (TypeError, ValueError):
        raise ParameterError("raster", f"must be the id of a catalogued raster, not {raw!r}", _ids(session)) from None
    return raster_id


def _ids(session: Session) -> list[str]:
    return [
        str(i) for i in session.execute(text("SELECT id FROM rasters WHERE retired_at IS NULL ORDER BY id")).scalars()
    ]


#: the statements of every /api/exposure request, made once
_RASTER = text("""
        SELECT r.id, r.name, r.hazard, r.unit, r.return_period, r.scenario, r.epoch, r.retired_at,
               r.replaced_by_id, t.op AS threshold_op, t.value AS threshold_value, t.label AS threshold_label
        FROM rasters r LEFT JOIN LATERAL (
            SELECT op, value, label FROM exposure_thresholds t
            WHERE t.hazard = r.hazard AND (t.return_period = r.return_period OR t.return_period IS NULL)
            ORDER BY t.return_period NULLS LAST LIMIT 1) t ON true
        WHERE r.id = :r""")
_AREA_ROWS_SQL = """
    SELECT u.code, u.name, a.count, a.mean, a.min, a.max, a.p50, a.p90, a.share_above, a.households,
           a.households_exposed{geometry}
    FROM area_exposure a JOIN admin_units u ON u.id = a.unit_id
    WHERE a.raster_id = :r AND u.level = :level AND u.boundary = :b
    ORDER BY u.code"""
_AREA_ROWS = text(_AREA_ROWS_SQL.format(geometry=""))
_AREA_ROWS_WITH_GEOMETRY = text(_AREA_ROWS_SQL.format(geometry=", ST_AsBinary(u.geom) AS wkb"))


def area_exposure(session: Session, args: dict[str, str], *, with_geometry: bool = False) -> dict[str, Any]:
    """``raster``, ``level`` (province|district|commune), ``boundaries`` (legacy|current) → rows."""
    raster_id = _raster_id(session, args.get("raster"))
    raster = session.execute(_RASTER, {"r": raster_id}).mappings().first()
    if raster is None:
        raise ParameterError("raster", f"no catalogued raster {raster_id}", _ids(session))
    if raster["retired_at"] is not None:
        successor = f"; use raster {raster['replaced_by_id']}, which replaces it" if raster["replaced_by_id"] else ""
        raise ParameterError("raster", f"raster {raster_id} is retired{successor}", _ids(session))
    shown = {k: v for k, v in raster.items() if k not in ("retired_at", "replaced_by_id")}
    level, boundaries = parse_level_boundaries(args)
    statement = _AREA_ROWS_WITH_GEOMETRY if with_geometry else _AREA_ROWS
    rows = session.execute(statement, {"r": raster_id, "level": level, "b": boundaries}).mappings().all()
    return {"raster": shown, "level": level, "boundaries": boundaries, "rows": [dict(r) for r in rows]}


def asset_exposure(session: Session, kind: str, code: str) -> dict[str, Any]:
    """Exposure of one model, work or water scheme to every raster (for its popup)."""
    tables = {"model": "livelihood_models", "work": "infrastructure_works", "water_scheme": "water_schemes"}
    if kind not in ASSET_KINDS:
        raise ParameterError("kind", f"unknown asset kind {kind!r}", list(ASSET_KINDS))
    asset = session.execute(text(f"SELECT id FROM {tables[kind]} WHERE code = :c"), {"c": code}).scalar()
    if asset is None:
        raise NotFound(f"no {kind.replace('_', ' ')} {code!r}")
    rows = (
        session.execute(
            text("""
        SELECT r.id AS raster, r.name, r.hazard, r.unit, r.return_period, e.value_at, e.mean, e.max,
               e.share_above, e.exposed, e.buffer_m
        FROM asset_exposure e JOIN rasters r ON r.id = e.raster_id AND r.retired_at IS NULL
        WHERE e.asset_kind = :k AND e.asset_id = :a ORDER BY r.id"""),
            {"k": kind, "a": asset},
        )
        .mappings()
        .all()
    )
    return {"kind": kind, "code": code, "rasters": [dict(r) for r in rows]}
