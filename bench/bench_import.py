"""Survey rounds through `sinhke import` beside a bare psycopg COPY of the same rows (issue #12).

Database ``sinhke_bench_import``: made afresh, one commune drawn by hand and N households COPYed
in (set-up, not timed). Then, for each size:

* **bare COPY** (the floor): the same rows as CSV with the household *ids* already in them,
  streamed by psycopg ``COPY survey_rounds (…) FROM STDIN (FORMAT csv)`` and committed;
* **import CSV**: ``ingest.importing.run_import(… "survey_rounds" …)`` on the CSV people would
  give (household *codes*, Vietnamese headers), committed — in a child process, so its peak RSS
  is its own (``getrusage(RUSAGE_CHILDREN)``);
* **import XLSX**: the same rows in a workbook (``--xlsx-rows``, written by openpyxl's
  write-only mode, not timed), imported the same way, beside the bare COPY of as many rows.

``survey_rounds`` is emptied (and analysed) before each timed step; the import runs before the
floor of its size. Results: bench/out/import-<time>.json and
a Markdown table.

    .venv/bin/python bench/bench_import.py [--rows 1000000 5000000] [--xlsx-rows 1000000 5000000] [--quiet-wait 20]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_settings, connect, git_info, machine, say, table, wait_quiet, write_json  # noqa: E402

from spatial.cluster import ensure_database  # noqa: E402
from spatial.migrate import upgrade  # noqa: E402

DATABASE = "sinhke_bench_import"
WORK = Path(__file__).resolve().parent.parent / "var" / "bench" / "import"
BOX = "MULTIPOLYGON(((106.0 21.0, 107.5 21.0, 107.5 22.5, 106.0 22.5, 106.0 21.0)))"
#: the province around the commune, and a second commune beside it (outside the planner's scope)
PROVINCE = "MULTIPOLYGON(((105.5 20.5, 108.5 20.5, 108.5 23.0, 105.5 23.0, 105.5 20.5)))"
NEIGHBOUR = "MULTIPOLYGON(((107.5 21.0, 108.4 21.0, 108.4 22.5, 107.5 22.5, 107.5 21.0)))"
HOUSEHOLD_HEADER = ["Mã hộ", "Họ và tên chủ hộ", "Xã", "Số nhân khẩu", "Ngày đăng ký", "Kinh độ", "Vĩ độ"]
HEADER = ["Mã hộ", "Năm", "Ngày điều tra", "Số nhân khẩu", "Thu nhập bình quân", "d_water", "d_latrine", "d_telecom"]
COLUMNS = "household_id, year, surveyed_on, members, income_per_person_month, d_water, d_latrine, d_telecom, source"


def _row(i: int, households: int) -> tuple[int, int, str, int, int, bool, bool, bool]:
    h = i % households
    year = 2021 + i // households
    return (
        h,
        year,
        f"{year}-10-{1 + h % 28:02d}",
        1 + h % 7,
        800_000 + (h * 7919) % 3_000_000,
        h % 3 == 0,
        h % 5 == 0,
        h % 7 == 0,
    )


def setup(settings, households: int) -> None:  # type: ignore[no-untyped-def]
    ensure_database(settings, DATABASE, fresh=True)
    upgrade(settings)
    with connect(settings) as conn:
        unit = (
            "INSERT INTO admin_units (level, code, name, unit_type, area_type, boundary, valid_from, geom, parent_id) "
            "VALUES (%s, %s, %s, %s, 'rural', 'current', '2000-01-01', "
            # boundaries of ~6,000 vertices each, as surveyed communes have, not 5-point boxes
            "ST_Multi(ST_Segmentize(ST_GeomFromText(%s, 4326), 0.001)), %s) RETURNING id"
        )
        pid = conn.execute(unit, ("province", "99", "Bắc Bộ", "Tỉnh", PROVINCE, None)).fetchone()[0]  # type: ignore[index]
        cid = conn.execute(unit, ("commune", "99001", "Tân Thanh", "Xã", BOX, pid)).fetchone()[0]  # type: ignore[index]
        conn.execute(unit, ("commune", "99002", "Tân Mỹ", "Xã", NEIGHBOUR, pid))
        with conn.cursor().copy(
            "COPY households (id, code, commune_id, head_name, members, registered_on) FROM STDIN"
        ) as cp:
            for h in range(households):
                cp.write_row((h + 1, f"H{h:08d}", cid, "Hoàng Văn Thụ", 4, "2020-01-01"))
        conn.execute("SELECT setval(pg_get_serial_sequence('households', 'id'), %s)", (households,))
        conn.execute("ALTER TABLE survey_rounds SET (autovacuum_enabled = false)")
    from spatial.accounts import create_user
    from spatial.db import transaction

    with transaction(settings) as s:  # the scoped case's two users: the province's admin, the commune's planner
        create_user(s, "bench_admin", "admin", areas=["99"])
        create_user(s, "bench_planner", "planner", areas=["99001"])


def household_file(n: int) -> Path:
    """``n`` new households of the planner's commune, each with its point (codes S…, not the set-up's H…)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"households-{n}.csv"
    if not path.exists():
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HOUSEHOLD_HEADER)
            for i in range(n):
                lon, lat = 106.01 + (i % 1000) * 0.0014, 21.01 + (i // 1000) * 0.0007
                w.writerow([f"S{i:08d}", "Lò Văn Thắng", "99001", 1 + i % 7, "15/03/2024", f"{lon:.6f}", f"{lat:.6f}"])
    return path


def forget_imported_households(settings) -> None:  # type: ignore[no-untyped-def]
    with connect(settings) as conn:
        conn.execute(
            "DELETE FROM household_units WHERE household_id IN (SELECT id FROM households WHERE code LIKE 'S%')"
        )
        conn.execute("DELETE FROM households WHERE code LIKE 'S%'")
        conn.execute("DELETE FROM imports")
    with connect(settings, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE households")
        conn.execute("VACUUM ANALYZE household_units")


def files(rows: int, households: int) -> tuple[Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    people, bare = WORK / f"rounds-{rows}-{households}.csv", WORK / f"rounds-{rows}-{households}-ids.csv"
    if not people.exists():
        with open(people, "w", encoding="utf-8", newline="") as a, open(bare, "w", encoding="utf-8", newline="") as b:
            wa, wb = csv.writer(a), csv.writer(b)
            wa.writerow(HEADER)
            for i in range(rows):
                h, year, day, members, income, w, la, te = _row(i, households)
                wa.writerow([f"H{h:08d}", year, day, members, income, int(w), int(la), int(te)])
                wb.writerow([h + 1, year, day, members, income, w, la, te, people.name])
    return people, bare


def xlsx(rows: int, households: int) -> Path:
    from openpyxl import Workbook

    path = WORK / f"rounds-{rows}-{households}.xlsx"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)  # an XLSX-only run (--rows 0) writes no CSV first
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Rà soát")
        ws.append(HEADER)
        for i in range(rows):
            h, year, day, members, income, w, la, te = _row(i, households)
            ws.append([f"H{h:08d}", year, day, members, income, int(w), int(la), int(te)])
        wb.save(path)
    return path


def empty(settings) -> None:  # type: ignore[no-untyped-def]
    with connect(settings) as conn:
        conn.execute("TRUNCATE survey_rounds CASCADE")
        conn.execute("DELETE FROM imports")
    with connect(settings, autocommit=True) as conn:
        conn.execute("ANALYZE survey_rounds")


def bare_copy(settings, path: Path) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    with connect(settings) as conn, conn.cursor() as cur, open(path, "rb") as fh:
        with cur.copy(f"COPY survey_rounds ({COLUMNS}) FROM STDIN (FORMAT csv)") as cp:
            while chunk := fh.read(1 << 20):
                cp.write(chunk)
    return time.perf_counter() - t0


CHILD = """
import json, resource, sys, time
from pathlib import Path
from ingest.importing import run_import
from spatial.accounts import SYSTEM
from spatial.db import transaction
from spatial.settings import Settings
settings = Settings.from_env().with_database(sys.argv[1])
t0 = time.perf_counter()
with transaction(settings) as s:
    r = run_import(s, "survey_rounds", Path(sys.argv[2]), Path(sys.argv[2]).name, SYSTEM)
print(json.dumps({"seconds": time.perf_counter() - t0, "status": r.status, "inserted": r.inserted,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def imported(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, DATABASE, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


#: households imported as a user through the application role (row-level security on), as the upload
#: page runs it; with --statements, the slowest statements go to stderr
SCOPED_CHILD = """
import json, sys, time
from pathlib import Path
from sqlalchemy import event
from ingest.importing import run_import
from spatial.accounts import apply_scope, get_user, principal
from spatial.db import engine_for, transaction
from spatial.settings import Settings
settings = Settings.from_env().with_database(sys.argv[1])
took = []
if sys.argv[4] == "1":
    @event.listens_for(engine_for(settings), "before_cursor_execute")
    def _start(conn, cursor, statement, params, context, many):
        conn.info["t0"] = time.perf_counter()
    @event.listens_for(engine_for(settings), "after_cursor_execute")
    def _end(conn, cursor, statement, params, context, many):
        took.append((time.perf_counter() - conn.info["t0"], " ".join(statement.split())[:300]))
t0 = time.perf_counter()
with transaction(settings) as s:
    who = principal(get_user(s, sys.argv[3]))
    apply_scope(s, who)
    r = run_import(s, "households", Path(sys.argv[2]), Path(sys.argv[2]).name, who)
for seconds, sql in sorted(took, reverse=True)[:12]:
    print(f"{seconds:8.3f} s  {sql}", file=sys.stderr)
print(json.dumps({"seconds": time.perf_counter() - t0, "status": r.status, "inserted": r.inserted,
                  "problems": [p.as_dict() for p in r.problems[:5]]}))
"""


def imported_as(path: Path, user: str, statements: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCOPED_CHILD, DATABASE, str(path), user, "1" if statements else "0"],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    if statements:
        say(f"slowest statements as {user}:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--xlsx-rows", type=int, nargs="+", default=[1_000_000, 5_000_000], help="0: no XLSX run")
    ap.add_argument("--households", type=int, default=200_000)
    ap.add_argument("--quiet-wait", type=float, default=20)
    ap.add_argument(
        "--scoped-households",
        type=int,
        nargs="*",
        default=[20_000],
        help="households imported by the province's admin and by the commune's planner (0: none)",
    )
    ap.add_argument("--statements", action="store_true", help="print the slowest statements of the scoped case")
    args = ap.parse_args()
    settings = bench_settings(DATABASE)
    say(f"set-up: {args.households:,} households in {DATABASE}")
    setup(settings, args.households)
    results = []
    for rows in [n for n in args.rows if n]:  # --rows 0: XLSX only
        people, bare = files(rows, args.households)
        empty(settings)
        busy2 = wait_quiet(args.quiet_wait)
        run = imported(people)
        assert run["status"] == "imported" and run["inserted"] == rows, run
        empty(settings)
        busy = wait_quiet(args.quiet_wait)
        floor = bare_copy(settings, bare)
        results.append(
            {
                "rows": rows,
                "format": "csv",
                "bare_copy_s": floor,
                "import_s": run["seconds"],
                "import_rss_mib": run["rss_mib"],
                "busy_before": [busy, busy2],
            }
        )
        say(
            f"{rows:,} CSV rows: bare COPY {floor:.1f} s, import {run['seconds']:.1f} s, "
            f"peak RSS {run['rss_mib']:.0f} MiB"
        )
    for xrows in [n for n in args.xlsx_rows if n]:
        path = xlsx(xrows, args.households)
        _people, bare = files(xrows, args.households)
        empty(settings)
        busy = wait_quiet(args.quiet_wait)
        run = imported(path)
        assert run["status"] == "imported" and run["inserted"] == xrows, run
        empty(settings)
        busy2 = wait_quiet(args.quiet_wait)
        floor = bare_copy(settings, bare)
        results.append(
            {
                "rows": xrows,
                "format": "xlsx",
                "bare_copy_s": floor,
                "import_s": run["seconds"],
                "import_rss_mib": run["rss_mib"],
                "busy_before": [busy, busy2],
            }
        )
        say(
            f"{xrows:,} XLSX rows: bare COPY {floor:.1f} s, import {run['seconds']:.1f} s, "
            f"peak RSS {run['rss_mib']:.0f} MiB"
        )
    scoped = []
    for n in [n for n in args.scoped_households if n]:
        path = household_file(n)
        times = {}
        for user in ("bench_admin", "bench_planner"):
            forget_imported_households(settings)
            busy = wait_quiet(args.quiet_wait)
            run = imported_as(path, user, args.statements)
            assert run["status"] == "imported" and run["inserted"] == n, run
            times[user] = run["seconds"]
            scoped.append({"households": n, "user": user, "import_s": run["seconds"], "busy_before": busy})
        say(
            f"{n:,} households: admin {times['bench_admin']:.1f} s, planner {times['bench_planner']:.1f} s "
            f"({times['bench_planner'] / times['bench_admin']:.1f}×)"
        )
    rows_out = [
        [
            r["format"],
            r["rows"],
            r["bare_copy_s"],
            r["rows"] / r["bare_copy_s"],
            r["import_s"],
            r["rows"] / r["import_s"],
            r["bare_copy_s"] / r["import_s"],
            r["import_rss_mib"],
        ]
        for r in results
    ]
    say(
        table(
            [
                "file",
                "rows",
                "bare COPY s",
                "COPY rows/s",
                "import s",
                "import rows/s",
                "import ÷ COPY rate",
                "import peak RSS MiB",
            ],
            rows_out,
        )
    )
    write_json(
        "import",
        {
            "results": results,
            "scoped": scoped,
            "machine": machine(settings),
            "git": git_info(),
            "self_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
    )


if __name__ == "__main__":
    main()
