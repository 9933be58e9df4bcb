"""``sinhke import LAYER FILE`` as a process: exit status, report, and all-or-nothing under kill -9.

These commit, so they run in a database of their own (``sinhke_test_import``): one province and
one commune drawn by hand, nothing else.
"""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from spatial.cluster import database_url
from spatial.db import transaction
from tests.conftest import _fresh

BOX = "MULTIPOLYGON(((106.6 21.7, 106.9 21.7, 106.9 22.0, 106.6 22.0, 106.6 21.7)))"
HEADER = ["Mã hộ", "Họ và tên chủ hộ", "Xã", "Số nhân khẩu", "Ngày đăng ký", "Kinh độ", "Vĩ độ"]


@pytest.fixture(scope="module")
def import_settings(base_settings):  # type: ignore[no-untyped-def]
    settings = _fresh(base_settings, "sinhke_test_import")
    with transaction(settings) as s:
        s.execute(
            text("""INSERT INTO admin_units (level, code, name, unit_type, area_type, boundary, valid_from, geom)
                    VALUES ('province', '20', 'Lạng Sơn', 'Tỉnh', 'rural', 'current', '2025-07-01', ST_GeomFromText(:g, 4326))"""),
            {"g": BOX},
        )
        s.execute(
            text("""INSERT INTO admin_units (level, code, name, unit_type, area_type, boundary, parent_id, valid_from, geom)
                    SELECT 'commune', '99001', 'Tân Thanh', 'Xã', 'rural', 'current', id, '2025-07-01',
                           ST_GeomFromText(:g, 4326) FROM admin_units WHERE code = '20'"""),
            {"g": BOX},
        )
    return settings


def _file(path: Path, n: int, prefix: str = "K", bad: int | None = None) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for i in range(1, n + 1):
        w.writerow(
            [
                f"{prefix}-{i:05d}",
                f"Hoàng Văn Thụ {i}",
                "99001",
                0 if i == bad else 4,
                "2025-09-01",
                106.7 + i * 1e-6,
                21.8,
            ]
        )
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _count(settings, prefix: str) -> int:  # type: ignore[no-untyped-def]
    with transaction(settings) as s:
        return int(
            s.execute(text("SELECT count(*) FROM households WHERE code LIKE :p"), {"p": f"{prefix}-%"}).scalar_one()
        )


def test_cli_refuses_with_the_report_and_imports_then_changes_nothing(import_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from webapp.cli import main

    runner = CliRunner(env={"SINHKE_DATABASE_URL": database_url(import_settings)})
    bad = _file(tmp_path / "bad.csv", 5, "C", bad=3)
    out = runner.invoke(main, ["import", "households", str(bad), "--report", str(tmp_path / "p.csv")])
    assert out.exit_code == 1, out.output
    assert "REFUSED" in out.stdout and "3,members,0,less than 1" in out.stdout
    assert (tmp_path / "p.csv").read_text(encoding="utf-8-sig").splitlines()[1] == "3,members,0,less than 1,"
    assert _count(import_settings, "C") == 0
    dry = runner.invoke(main, ["import", "households", str(bad), "--dry-run", "--skip-invalid"])
    assert dry.exit_code == 0 and "dry run (nothing written); 5 rows: 4 inserted" in dry.stdout
    assert _count(import_settings, "C") == 0
    good = _file(tmp_path / "good.csv", 5, "C")
    first = runner.invoke(main, ["import", "households", str(good)])
    again = runner.invoke(main, ["import", "households", str(good)])
    assert "5 inserted, 0 updated, 0 unchanged" in first.stdout
    assert "0 inserted, 0 updated, 5 unchanged" in again.stdout
    with transaction(import_settings) as s:
        rows = s.execute(text("SELECT status, inserted, unchanged, rejected FROM imports ORDER BY id")).all()
    assert [tuple(r) for r in rows][-4:] == [
        ("refused", 0, 0, 1),
        ("dry_run", 4, 0, 1),
        ("imported", 5, 0, 0),
        ("imported", 0, 5, 0),
    ]
    unknown = runner.invoke(main, ["import", "households", str(tmp_path / "nope.csv")])
    assert unknown.exit_code == 1 and "error: nope.csv: no such file" in unknown.stderr


def test_killed_at_random_moments_leaves_none_or_all(import_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _file(tmp_path / "k.csv", 1000, "K")
    env = {**os.environ, "SINHKE_DATABASE_URL": database_url(import_settings)}
    cmd = [sys.executable, "-m", "webapp.cli", "import", "households", str(path)]
    # how long a whole run takes here, so the kills fall before, during and after the transaction
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    whole = time.monotonic() - t0
    with transaction(import_settings) as s:
        s.execute(text("DELETE FROM household_units"))
        s.execute(text("DELETE FROM households WHERE code LIKE 'K-%'"))
    rng = random.Random(12)
    seen = set()
    for _ in range(20):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.1) * whole)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        n = _count(import_settings, "K")
        assert n in (0, 1000), n
        seen.add(n)
        if n:
            with transaction(import_settings) as s:
                s.execute(text("DELETE FROM household_units"))
                s.execute(text("DELETE FROM households WHERE code LIKE 'K-%'"))
    assert seen  # (which outcomes happened depends on timing; each was none or all)


def test_cli_progress_lines_only_when_asked_off_a_terminal(import_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from webapp.cli import main

    runner = CliRunner(env={"SINHKE_DATABASE_URL": database_url(import_settings)})
    path = _file(tmp_path / "g.csv", 20, "G")
    quiet = runner.invoke(main, ["import", "households", str(path), "--dry-run"])
    assert quiet.exit_code == 0 and "reading:" not in quiet.stderr
    shown = runner.invoke(main, ["import", "households", str(path), "--dry-run", "--progress"])
    assert shown.exit_code == 0, shown.output
    lines = [line.strip() for line in shown.stderr.splitlines() if line.strip()]
    phases = [line.split(":")[0] for line in lines]
    assert phases == ["reading", "checking", "writing"], lines
    assert lines[0] == "reading: 20 of about 20 rows (100 %)"


def test_an_import_out_of_process_writes_its_progress_then_its_report(import_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What the upload page does with a large file: the row made (running), the import started in a
    process of its own (ingest.import_once), its progress polled on the row until the report."""
    import time
    from dataclasses import asdict

    from ingest.import_once import launch
    from ingest.importing import start_import
    from spatial.accounts import SYSTEM

    work = tmp_path / "upload"
    work.mkdir()
    path = _file(work / "upload", 20_000, "W")
    with transaction(import_settings) as s:
        import_id = start_import(s, "households", path, "danh_sach.csv", SYSTEM)
        estimated = s.execute(text("SELECT rows_estimated FROM imports WHERE id = :i"), {"i": import_id}).scalar_one()
    assert 18_000 <= estimated <= 22_000
    spec = {
        "import_id": import_id,
        "path": str(path),
        "filename": "danh_sach.csv",
        "layer": "households",
        "who": asdict(SYSTEM),
        "options": {"skip_invalid": False},
    }
    launch(import_settings, spec)
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with transaction(import_settings) as s:
            status, phase, rows = s.execute(
                text("SELECT status, phase, rows_read FROM imports WHERE id = :i"), {"i": import_id}
            ).one()
        if status != "running":
            break
        if phase and (not seen or seen[-1] != (phase, rows)):
            seen.append((phase, rows))
        time.sleep(0.05)
    with transaction(import_settings) as s:
        done = s.execute(text("SELECT * FROM imports WHERE id = :i"), {"i": import_id}).one()
    assert (done.status, done.rows, done.inserted, done.phase) == ("imported", 20_000, 20_000, None), done.error
    assert _count(import_settings, "W") == 20_000
    assert seen and {p for p, _ in seen} <= {"queued", "reading", "checking", "writing"}
    assert [r for _p, r in seen] == sorted(r for _p, r in seen)  # rows only go up
    assert not work.exists()  # the process removed the upload's folder
