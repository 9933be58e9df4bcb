"""``python -m jobs.run_once NAME [TRIGGER]``: one run of one job, with the settings of the environment.

What ``jobs.runner.launch`` starts for "run now" on /admin/jobs; exits 1 when the run failed.
"""

from __future__ import annotations

import sys

from jobs.runner import run_job
from spatial.settings import Settings


def main(argv: list[str]) -> int:
    name, trigger = argv[0], (argv[1] if len(argv) > 1 else "manual")
    outcome = run_job(Settings.from_env(), name, trigger=trigger[:20])
    return 1 if outcome.status == "failed" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
