"""``/healthz``: liveness for anyone; database and PostGIS versions, migration head and the last
run of each job for signed-in admins only (versions and job errors help an attacker, not a probe)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from jobs.runner import last_runs
from spatial.db import server_versions
from spatial.migrate import current_revision, heads, recorded_revision
from webapp.auth import current_principal
from webapp.db import get_session
from webapp.errors import RETRY_AFTER_SECONDS

bp = Blueprint("health", __name__)

#: set once this process has found the migration table: from then on one statement reads it
VERSION_TABLE_SEEN = "sinhke.version-table-seen"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    session = get_session()
    who = current_principal()
    admin = who is not None and who.role == "admin"
    try:
        if current_app.extensions.get(VERSION_TABLE_SEEN):
            revision = recorded_revision(session.connection())
        else:
            revision = current_revision(session.connection())
            current_app.extensions[VERSION_TABLE_SEEN] = revision is not None
        versions = server_versions(session) if admin else {}
        runs = last_runs(session) if admin else []
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        current_app.logger.warning("healthz: database unavailable: %s", exc)
        return jsonify({"status": "error", "database": "unavailable"}), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    head = heads(current_app.config["SINHKE"])
    status = "ok" if revision in head else "migrations pending"
    if not admin:
        return jsonify({"status": status})
    return jsonify(
        {
            "status": status,
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
