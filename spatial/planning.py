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
