"""``/healthz``: database and PostGIS versions, migration head, last run of each job."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from jobs.runner import last_runs
from spatial.db import server_versions
from spatial.migrate import current_revision, heads
from webapp.db import get_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response | tuple[Response, int]:
    session = get_session()
    try:
        versions = server_versions(session)
        revision = current_revision(session.connection())
        runs = last_runs(session)
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        current_app.logger.warning("healthz: database unavailable: %s", exc)
        return jsonify({"status": "error", "database": "unavailable"}), 503
    head = heads(current_app.config["SINHKE"])
    return jsonify(
        {
            "status": "ok" if revision in head else "migrations pending",
            "database": versions["postgresql"],
            "postgis": versions["postgis"],
            "migration": {"current": revision, "head": head[0] if len(head) == 1 else head},
            "jobs": {
                r.job: {
                    "status": r.status,
                    "started_at": r.started_at.isoformat(),
                    "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                    "rows_affected": r.rows_affected,
                    "progress": r.progress,
                    **({"error": r.error} if r.status == "failed" else {}),
                }
                for r in runs
            },
        }
    )
