"""``python -m ingest.import_once SPEC``: one import, out of the web request that asked for it.

The upload page starts a long import here (:func:`launch`), as "run now" on /admin/jobs starts a
job (``jobs.runner.launch``): the request saves the file, makes the ``imports`` row (status
``running``, :func:`ingest.importing.start_import`), commits, starts this process and answers;
the page then polls the row. This process runs :func:`ingest.importing.run_import` scoped to
the user who uploaded, in one transaction (all or nothing, as ever), writes its progress on a
connection of its own (at most a few times a second), and fills the row with the report at
the end; if it fails, the row says ``failed`` and why. It deletes the uploaded file's folder
when done. SPEC is JSON: import id, path, file name, layer, the user, the options.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ingest.importing import ALIVE_NAMESPACE, ImportOptions, fail_import, run_import, set_progress
from spatial.accounts import Principal, apply_scope, request_sessions
from spatial.db import engine_for
from spatial.settings import Settings

#: seconds between two progress writes
PROGRESS_EVERY = 0.5


def launch(settings: Settings, spec: dict[str, Any]) -> int:
    """Start the import in a process of its own and return its pid without waiting."""
    env = {**os.environ, **settings.environment()}
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.import_once", json.dumps(spec, ensure_ascii=False)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives a restarted web worker
    )
    threading.Thread(target=process.wait, daemon=True).start()  # reaped when it ends: no zombie
    return process.pid


def run(settings: Settings, spec: dict[str, Any]) -> str:
    """The import of ``spec``; returns its final status."""
    factory = request_sessions(settings)
    who = Principal(**spec["who"])
    import_id = int(spec["import_id"])
    last = [0.0]

    def progress(phase: str, rows: int) -> None:
        now = time.monotonic()
        if phase == "reading" and now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        with factory.begin() as s:
            apply_scope(s, who)
            set_progress(s, import_id, phase, rows)

    options = ImportOptions(**spec["options"])
    # held while this process lives (a session lock on a connection of its own): a page that can
    # take it knows the process died (kill -9, a crash) and says so (ingest.importing.check_alive)
    alive = engine_for(settings).connect()
    alive.execute(text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": ALIVE_NAMESPACE, "id": import_id})
    alive.commit()
    try:
        progress("reading", 0)
        with factory.begin() as s:
            apply_scope(s, who)
            report = run_import(
                s,
                spec["layer"],
                Path(spec["path"]),
                spec["filename"],
                who,
                options,
                progress=progress,
                import_id=import_id,
            )
        return report.status
    except Exception as exc:  # noqa: BLE001 - recorded on the row, which the page shows
        with factory.begin() as s:
            apply_scope(s, who)
            fail_import(s, import_id, str(exc) or type(exc).__name__)
        return "failed"
    finally:
        alive.close()
        shutil.rmtree(Path(spec["path"]).parent, ignore_errors=True)


def main(argv: list[str]) -> int:
    return 0 if run(Settings.from_env(), json.loads(argv[0])) != "failed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
