"""``python -m jobs.siting_run SCENARIO USER``: compute one queued siting scenario, out of the web process.

What ``POST /api/siting`` with ``"background": true`` starts (``start``, through ``jobs.runner.spawn``,
the mechanism of "run now" on /admin/jobs). The process holds the advisory lock ``(SITING_LOCK, id)``
for as long as it runs and writes its progress to the scenario row as it goes (on the lock's own
connection, so the page sees it at once); the solve runs scoped to the user who asked, so it reads
only their communes' households. Whatever ends the process, the lock goes with it, and
``spatial.scenarios.mark_abandoned`` turns a row left ``running`` into ``failed``. Exits 1 when the
run failed.
"""

from __future__ import annotations

import sys
import traceback

from sqlalchemy import func, select, update

from jobs.runner import spawn
from spatial.accounts import apply_scope, principal
from spatial.db import engine_for, session_factory
from spatial.models import SitingScenario, User
from spatial.scenarios import QUEUED, SITING_LOCK, fail_scenario, finish_scenario
from spatial.settings import Settings
from spatial.siting import SitingParams, run_siting


def start(settings: Settings, scenario_id: int, user_id: int) -> int:
    """Start the run of a committed, queued scenario in a process of its own; its pid, without waiting."""
    return spawn(settings, "jobs.siting_run", str(scenario_id), str(user_id))


def run_scenario(settings: Settings, scenario_id: int, user_id: int) -> str:
    """Compute the scenario (see the module); its final status (``succeeded``, ``failed`` or ``skipped``
    when another process has it or it is no longer queued)."""
    factory = session_factory(settings)
    with engine_for(settings).connect() as lock_conn:
        got = lock_conn.scalar(select(func.pg_try_advisory_lock(SITING_LOCK, scenario_id)))
        lock_conn.commit()
        if not got:
            return "skipped"

        def progress(message: str) -> None:
            lock_conn.execute(
                update(SitingScenario).where(SitingScenario.id == scenario_id).values(progress=message[:500])
            )
            lock_conn.commit()

        try:
            claimed = lock_conn.execute(
                update(SitingScenario)
                .where(
                    SitingScenario.id == scenario_id,
                    SitingScenario.status == "running",
                    SitingScenario.progress == QUEUED,
                )
                .values(progress="started")
            ).rowcount
            lock_conn.commit()
            if not claimed:  # run already, failed, or not handed off: nothing to do
                return "skipped"
            try:
                with factory.begin() as s:
                    user = s.get(User, user_id)
                    if user is None or user.disabled_at is not None:
                        raise PermissionError(f"user {user_id} cannot run sitings")
                    apply_scope(s, principal(user))
                    row = s.get(SitingScenario, scenario_id)
                    if row is None:  # outside the user's communes now
                        raise PermissionError(f"scenario {scenario_id} is outside the communes of {user.name}")
                    params = SitingParams.from_record(row.params)
                    result = run_siting(s, params, settings.raster_store, progress=progress)
                    finish_scenario(s, scenario_id, result)
            except Exception as exc:  # noqa: BLE001 - recorded on the scenario, which the page shows
                detail = "".join(traceback.format_exception_only(exc)).strip()
                with factory.begin() as s:
                    fail_scenario(s, scenario_id, detail)
                return "failed"
            return "succeeded"
        finally:
            lock_conn.execute(select(func.pg_advisory_unlock(SITING_LOCK, scenario_id)))
            lock_conn.commit()


def main(argv: list[str]) -> int:
    status = run_scenario(Settings.from_env(), int(argv[0]), int(argv[1]))
    return 1 if status == "failed" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
