"""Saved siting scenarios: a named run, opened and compared by everyone whose communes hold it.

The row-level policy does the scoping (migration 0016): a scenario is visible to a user who may see
every one of its communes, so a planner can neither open, list, export nor overwrite a scenario
reaching outside their communes.

A run the web app hands off is a row in status ``running`` (progress ``queued``) that a process of
its own computes (``jobs.siting_run``) while it holds the advisory lock ``(SITING_LOCK, id)``; the
page polls the row's ``progress``. The lock goes when the process goes, however it ends, so a row
still ``running`` without its lock is a run that died (killed, out of memory, machine restarted):
``mark_abandoned`` turns it ``failed`` instead of leaving it running for ever.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.models import SitingScenario
from spatial.params import check_text
from spatial.siting import SitingParams, SitingResult

#: columns of the CSV / GeoPackage exports, per layer
SITE_COLUMNS = ("order", "candidate", "lon", "lat", "gain", "households", "cost")
HOUSEHOLD_COLUMNS = ("code", "lon", "lat", "class", "weight", "site")
EXPORT_LAYERS = ("sites", "households")


def scenario_name(raw: Any) -> str:
    name = str(raw or "").strip()
    if not name:
        raise ParameterError("name", "give the scenario a name")
    if len(name) > 200:
        raise ParameterError("name", "at most 200 characters")
    check_text("name", name)
    return name


def start_scenario(
    session: Session, name: str, params: SitingParams, ids: list[int], *, queued: bool = False
) -> SitingScenario:
    """A scenario row in status ``running`` (its result comes later; ``queued``: from a process of its own)."""
    row = SitingScenario(
        name=scenario_name(name),
        facility=params.facility,
        commune_ids=ids,
        params=params.record(),
        status="running",
        progress=QUEUED if queued else None,
    )
    session.add(row)
    session.flush()
    return row


def finish_scenario(session: Session, scenario_id: int, result: SitingResult) -> None:
    session.execute(
        update(SitingScenario)
        .where(SitingScenario.id == scenario_id)
        .values(
            status="succeeded",
            progress="done",
            objective=result.objective,
            greedy_objective=result.greedy_objective,
            optimal=result.optimal,
            gap=result.gap,
            seconds=result.seconds,
            result=result.to_json(),
        )
    )


def fail_scenario(session: Session, scenario_id: int, error: str) -> None:
    session.execute(
        update(SitingScenario).where(SitingScenario.id == scenario_id).values(status="failed", error=error[:4000])
    )


#: first key of the two-int advisory lock a siting process holds on its scenario (the second is its id)
SITING_LOCK = 0x51E5
#: the progress of a run handed off but not yet started by its process
QUEUED = "queued"
#: how long a queued run may wait for its process to start before it counts as lost
START_GRACE = "2 minutes"
ABANDONED = "the run's process ended before it finished (stopped or killed); run it again"

_ABANDON = text("""
UPDATE siting_scenarios s SET status = 'failed', error = :error
WHERE s.status = 'running' AND s.deleted_at IS NULL
  AND (s.progress IS DISTINCT FROM :queued OR s.created_at < now() - CAST(:grace AS interval))
  AND NOT EXISTS (SELECT 1 FROM pg_locks l
                  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND l.classid::bigint = :ns AND l.objid::bigint = s.id)
  AND (CAST(:id AS int) IS NULL OR s.id = :id)
""")


def mark_abandoned(session: Session, scenario_id: int | None = None) -> int:
    """Mark failed the runs (of those the caller sees; or just ``scenario_id``) whose process is gone."""
    values = {"error": ABANDONED, "queued": QUEUED, "grace": START_GRACE, "ns": SITING_LOCK, "id": scenario_id}
    result = session.execute(_ABANDON, values)
    return int(getattr(result, "rowcount", 0) or 0)


def set_progress(session: Session, scenario_id: int, message: str) -> None:
    session.execute(update(SitingScenario).where(SitingScenario.id == scenario_id).values(progress=message[:500]))


def save_scenario(
    session: Session, name: str, params: SitingParams, ids: list[int], result: SitingResult
) -> SitingScenario:
    row = start_scenario(session, name, params, ids)
    finish_scenario(session, row.id, result)
    session.refresh(row)
    return row


_LIST = text("""
SELECT s.id, s.name, s.facility, s.status, s.objective, s.greedy_objective, s.optimal, s.gap, s.seconds,
       s.params -> 'radius_m' AS radius_m, s.params -> 'k' AS k, s.created_by, s.created_at,
       jsonb_array_length(coalesce(s.result -> 'sites', '[]')) AS sites,
       (SELECT array_agg(u.code ORDER BY u.code) FROM admin_units u WHERE u.id = ANY(s.commune_ids)) AS communes
FROM siting_scenarios s
WHERE s.deleted_at IS NULL AND (CAST(:unit AS int) IS NULL OR :unit = ANY(s.commune_ids))
ORDER BY s.created_at DESC, s.id DESC
LIMIT :limit
""")


def list_scenarios(session: Session, *, unit_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The scenarios the caller may open, newest first; with ``unit_id``, those touching that commune."""
    return [dict(r._mapping) for r in session.execute(_LIST, {"unit": unit_id, "limit": limit})]


def get_scenario(session: Session, scenario_id: int) -> SitingScenario:
    row = session.scalar(
        select(SitingScenario).where(SitingScenario.id == scenario_id, SitingScenario.deleted_at.is_(None))
    )
    if row is None:
        raise NotFound(f"no siting scenario {scenario_id} (or it is outside your communes)")
    return row


def scenario_json(session: Session, row: SitingScenario) -> dict[str, Any]:
    codes = session.scalars(
        text("SELECT code FROM admin_units WHERE id = ANY(:ids) ORDER BY code"), {"ids": row.commune_ids}
    ).all()
    return {
        "id": row.id,
        "name": row.name,
        "facility": row.facility,
        "communes": list(codes),
        "status": row.status,
        "progress": row.progress,
        "error": row.error,
        #: what the page translates (the error itself is the English text stored with the row)
        "error_code": "abandoned" if row.error == ABANDONED else None,
        "params": {k: v for k, v in row.params.items() if k != "candidates"},
        "result": row.result,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


_GEOJSON = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature',
  'id', CASE WHEN :layer = 'sites' THEN e ->> 'candidate' ELSE e ->> 'code' END,
  'geometry', json_build_object('type', 'Point',
                                'coordinates', json_build_array((e ->> 'lon')::float8, (e ->> 'lat')::float8)),
  'properties', (e - 'lon' - 'lat') || jsonb_build_object('order', n)) ORDER BY n), '[]'))
FROM siting_scenarios s, jsonb_array_elements(s.result -> :layer) WITH ORDINALITY AS t(e, n)
WHERE s.id = :id
""")


def scenario_geojson(session: Session, scenario_id: int, layer: str) -> dict[str, Any]:
    """The scenario's sites or demand households as a GeoJSON FeatureCollection (built by PostgreSQL)."""
    if layer not in EXPORT_LAYERS:
        raise ParameterError("layer", f"unknown layer {layer!r}", list(EXPORT_LAYERS))
    get_scenario(session, scenario_id)
    body: dict[str, Any] = session.execute(_GEOJSON, {"id": scenario_id, "layer": layer}).scalar_one()
    return body


def export_rows(row: SitingScenario, layer: str) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The rows of a CSV or GeoPackage export (each with ``wkb``, a WGS 84 point)."""
    if layer not in EXPORT_LAYERS:
        raise ParameterError("layer", f"unknown layer {layer!r}", list(EXPORT_LAYERS))
    items = (row.result or {}).get(layer) or []
    columns = SITE_COLUMNS if layer == "sites" else HOUSEHOLD_COLUMNS
    out = []
    for n, item in enumerate(items, start=1):
        r = {c: item.get(c) for c in columns}
        if layer == "sites":
            r["order"] = n
            r["households"] = " ".join(item.get("households") or [])
        r["wkb"] = shapely.to_wkb(shapely.Point(item["lon"], item["lat"]))
        out.append(r)
    return columns, out
