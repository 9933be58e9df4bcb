"""What planners read: targets against progress, disbursement, by area (the targets_progress job's results)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.models import DISBURSEMENT_STATUSES, TARGET_STATUSES

PROGRESS_COLUMNS = (
    "code",
    "name",
    "level",
    "year",
    "indicator",
    "project",
    "target",
    "achieved",
    "expected",
    "gap",
    "status",
)
DISBURSEMENT_COLUMNS = (
    "code",
    "name",
    "project",
    "project_name",
    "year",
    "allocated_vnd",
    "disbursed_vnd",
    "rate",
    "status",
)

_PROGRESS = text("""
SELECT u.code, u.name, u.level, p.year, p.indicator, pp.code AS project, p.target, p.achieved, p.expected, p.gap,
       p.status, p.as_of
FROM target_progress p JOIN admin_units u ON u.id = p.unit_id LEFT JOIN programme_parts pp ON pp.id = p.part_id
WHERE (CAST(:status AS text) IS NULL OR p.status = :status) AND (CAST(:unit AS int) IS NULL OR p.unit_id = :unit)
  AND (CAST(:unit AS int) IS NOT NULL OR p.status <> 'no_target')
ORDER BY p.gap DESC NULLS LAST, p.year DESC, u.code, p.indicator
LIMIT :limit
""")

_DISBURSEMENT = text("""
SELECT u.code, u.name, pp.code AS project, pp.name AS project_name, d.year, d.allocated_vnd, d.disbursed_vnd,
       d.rate, d.status
FROM disbursement_progress d JOIN admin_units u ON u.id = d.unit_id JOIN programme_parts pp ON pp.id = d.part_id
WHERE (CAST(:status AS text) IS NULL OR d.status = :status) AND (CAST(:unit AS int) IS NULL OR d.unit_id = :unit)
ORDER BY (d.allocated_vnd - d.disbursed_vnd) DESC, d.year DESC, u.code, pp.code
LIMIT :limit
""")


def _status(raw: str | None, allowed: tuple[str, ...]) -> str | None:
    if raw in (None, ""):
        return None
    if raw not in allowed:
        raise ParameterError("status", f"unknown status {raw!r}", list(allowed))
    return raw


def progress_rows(
    session: Session, *, status: str | None = None, unit_id: int | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Targets against progress, the largest gap first (``no_target`` rows only for one area)."""
    params = {"status": _status(status, TARGET_STATUSES), "unit": unit_id, "limit": limit}
    return [dict(r._mapping) for r in session.execute(_PROGRESS, params)]


def disbursement_rows(
    session: Session, *, status: str | None = None, unit_id: int | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Allocated and disbursed capital by part, area and year, the most left undisbursed first."""
    params = {"status": _status(status, DISBURSEMENT_STATUSES), "unit": unit_id, "limit": limit}
    return [dict(r._mapping) for r in session.execute(_DISBURSEMENT, params)]


def area_planning(session: Session, code: str, boundaries: str) -> dict[str, Any]:
    """An area's targets, money by part and the scenarios touching it (2025 boundaries only)."""
    from spatial.scenarios import list_scenarios

    if boundaries != "current":
        return {"targets": [], "money": [], "scenarios": []}
    unit = session.scalar(
        text("SELECT id FROM admin_units WHERE code = :c AND boundary = 'current' ORDER BY level LIMIT 1"), {"c": code}
    )
    if unit is None:
        return {"targets": [], "money": [], "scenarios": []}
    targets = progress_rows(session, unit_id=unit)
    return {
        "targets": sorted(targets, key=lambda r: (-r["year"], r["indicator"])),
        "money": sorted(disbursement_rows(session, unit_id=unit), key=lambda r: (-r["year"], r["project"])),
        "scenarios": list_scenarios(session, unit_id=unit, limit=50),
    }


_RATES = text("""
SELECT a.year, a.households, a.poor::float8 / nullif(a.households, 0) AS poverty_rate,
       a.near_poor::float8 / nullif(a.households, 0) AS near_poor_rate, a.estimated
FROM area_indicators a JOIN admin_units u ON u.id = a.unit_id
WHERE u.code = :code AND u.boundary = :b
ORDER BY a.year
""")


def area_rates(session: Session, code: str, boundaries: str) -> list[dict[str, Any]]:
    """The area's poverty and near-poverty rates by year (estimated: re-aggregated by crosswalk)."""
    return [dict(r._mapping) for r in session.execute(_RATES, {"code": code, "b": boundaries})]


#: a commune's status on the map: the worst of its targets' statuses that year (no targets: no_target)
MAP_STATUS_ORDER = ("lagging", "no_data", "on_track", "met", "no_target")

_MAP = text("""
WITH yr AS (SELECT coalesce(CAST(:year AS int),
                            (SELECT max(year) FROM target_progress WHERE status <> 'no_target'),
                            extract(year FROM now())::int) AS y),
t AS (SELECT p.unit_id,
             (array_agg(p.status ORDER BY array_position(CAST(:order AS text[]), p.status::text)))[1] AS status,
             count(*) FILTER (WHERE p.status = 'lagging') AS lagging,
             max(p.gap) FILTER (WHERE p.status = 'lagging') AS gap
      FROM target_progress p, yr WHERE p.year = yr.y AND p.status <> 'no_target'
        AND (CAST(:indicator AS text) IS NULL OR p.indicator = :indicator) GROUP BY p.unit_id),
d AS (SELECT unit_id, sum(allocated_vnd) AS allocated, sum(disbursed_vnd) AS disbursed,
             count(*) FILTER (WHERE status = 'low') AS low_parts,
             sum(allocated_vnd - disbursed_vnd) FILTER (WHERE status = 'low') AS low_undisbursed
      FROM disbursement_progress, yr WHERE year = yr.y GROUP BY unit_id)
SELECT (SELECT y FROM yr) AS year, json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', u.code,
    'geometry', ST_AsGeoJSON(u.geom, 6)::json,
    'properties', json_build_object(
      'code', u.code, 'name', u.name, 'status', coalesce(t.status, 'no_target'),
      'lagging', coalesce(t.lagging, 0), 'gap', t.gap,
      'allocated_vnd', d.allocated, 'disbursed_vnd', d.disbursed,
      'rate', d.disbursed::float8 / nullif(d.allocated, 0),
      'low_parts', coalesce(d.low_parts, 0), 'low_undisbursed_vnd', coalesce(d.low_undisbursed, 0)))
  ORDER BY u.code), '[]'::json)) AS body
FROM admin_units u LEFT JOIN t ON t.unit_id = u.id LEFT JOIN d ON d.unit_id = u.id
WHERE u.boundary = 'current' AND u.level = 'commune' AND u.geom IS NOT NULL
""")


def planning_map(session: Session, year: int | None = None, indicator: str | None = None) -> dict[str, Any]:
    """The caller's 2025 communes as GeoJSON (built by PostGIS) with their targets' status in ``year``
    (the worst of them, or of the ``indicator``'s target; default the latest year with targets), the
    largest lagging gap, and the disbursement rate and low-disbursement sub-projects of that year: the
    /planning map's layer."""
    from spatial.models import TARGET_INDICATORS

    if indicator is not None and indicator not in TARGET_INDICATORS:
        raise ParameterError("indicator", f"unknown indicator {indicator[:40]!r}", list(TARGET_INDICATORS))
    params = {"year": year, "indicator": indicator, "order": list(MAP_STATUS_ORDER)}
    row = session.execute(_MAP, params).one()
    body: dict[str, Any] = row.body
    body["year"] = row.year
    return body
