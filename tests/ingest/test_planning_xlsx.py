"""Targets and money from XLSX or CSV through the import framework (the ``targets`` and
``allocations`` layers): Vietnamese or English headers, a bad row names its row and column and
nothing is written, re-sending changes nothing, a planner only within their communes."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import text

from ingest.importing import importer_for, layers, run_import
from ingest.planning_xlsx import ImportRefused, cell_errors
from spatial.accounts import SYSTEM, Principal, apply_scope


def xlsx(rows):
    """An XLSX of these rows (the first is the header), made in memory."""
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(db, table):
    return db.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names


def _clear(db):
    """The demo's own targets and money out of the way (rolled back with the test)."""
    db.execute(text("DELETE FROM targets"))
    db.execute(text("DELETE FROM allocations"))


def _run(db, tmp_path, layer, rows, name="f.xlsx", who=SYSTEM):
    path = tmp_path / name
    path.write_bytes(xlsx(rows) if name.endswith(".xlsx") else rows.encode("utf-8"))
    return run_import(db, layer, path, name, who)


def test_layers_of_the_registry():
    assert {"targets", "allocations"} <= set(layers())
    assert importer_for("targets", "xlsx").layer == "targets"
    assert importer_for("allocations", "csv").layer == "allocations"


def test_allocations_with_vietnamese_headers_and_resending(db, accounts, tmp_path):
    _clear(db)
    rows = [
        ["Dự án / Tiểu dự án", "Mã địa bàn", "Năm", "Nguồn vốn", "Vốn giao", "Giải ngân"],
        ["3.1", accounts.commune_a, 2024, "Ngân sách trung ương", 1_500_000_000, "1.200.000.000"],
        ["Dự án 1", accounts.commune_a, 2024, "tín dụng chính sách", 0, None],
    ]
    first = _run(db, tmp_path, "allocations", rows, "von.xlsx")
    assert (first.status, first.inserted, first.updated, first.unchanged) == ("imported", 2, 0, 0)
    got = db.execute(
        text("""SELECT pp.code, a.source, a.allocated_vnd, a.disbursed_vnd FROM allocations a
                JOIN programme_parts pp ON pp.id = a.part_id ORDER BY pp.code""")
    ).all()
    assert [tuple(r) for r in got] == [("1", "credit", 0, 0), ("3.1", "central", 1_500_000_000, 1_200_000_000)]
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'allocations'")) >= 2
    stamp = db.scalar(text("SELECT max(updated_at) FROM allocations"))
    again = _run(db, tmp_path, "allocations", rows, "von.xlsx")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert db.scalar(text("SELECT max(updated_at) FROM allocations")) == stamp
    # a changed amount is updated in place (the natural key: sub-project x area x year x source)
    rows[1][5] = 1_400_000_000
    changed = _run(db, tmp_path, "allocations", rows, "von.xlsx")
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    assert _count(db, "allocations") == 2
    stored = db.execute(
        text("SELECT status, inserted, updated, unchanged FROM imports WHERE filename = 'von.xlsx' ORDER BY id")
    ).all()
    assert [tuple(r) for r in stored] == [("imported", 2, 0, 0), ("imported", 0, 0, 2), ("imported", 0, 1, 1)]


def test_a_bad_row_names_row_and_column_and_writes_nothing(db, accounts, tmp_path):
    before = _count(db, "allocations")
    report = _run(
        db,
        tmp_path,
        "allocations",
        [
            ["project", "area", "year", "source", "allocated", "disbursed"],
            ["2", accounts.commune_a, 2024, "central", 1000, 10],
            ["2", accounts.commune_a, 2024, "local", -5, 0],
            ["2", accounts.commune_a, 2024, "mobilised", 10.5, 0],
            ["9.9", accounts.commune_a, 2024, "credit", 10, 0],
        ],
        "money.xlsx",
    )
    assert (report.status, report.inserted, report.rejected) == ("refused", 0, 3)
    assert [(p.row, p.field, p.value) for p in report.errors] == [
        (2, "allocated", "-5"),
        (3, "allocated", "10.5"),
        (4, "part", "9.9"),
    ]
    cells = {(e["row"], e["column"]) for e in cell_errors(report)}
    assert cells == {(3, "E (allocated)"), (4, "E (allocated)"), (5, "A (project)")}
    assert "row 3, column E (allocated)" in str(ImportRefused(report))
    assert _count(db, "allocations") == before


def test_targets_english_headers_csv_unknown_indicator_and_scope(db, accounts, tmp_path):
    _clear(db)
    bad = _run(
        db, tmp_path, "targets", [["area", "year", "indicator", "value"], [accounts.commune_a, 2025, "happiness", 3]]
    )
    assert bad.refused and [(p.row, p.field, p.value) for p in bad.errors] == [(1, "indicator", "happiness")]
    csv_file = f"Area,Year,Indicator,Value,Baseline year\n{accounts.commune_a},2025,works_completed,4,2021\n"
    ok = _run(db, tmp_path, "targets", csv_file, "t.csv")
    assert (ok.format, ok.status, ok.inserted) == ("csv", "imported", 1)
    # a planner of commune A cannot set commune B's targets: refused, nothing written
    planner = db.scalar(text("SELECT id FROM users WHERE name = 't_planner'"))
    who = Principal(planner, "t_planner", "planner")
    apply_scope(db, who)
    other = _run(
        db,
        tmp_path,
        "targets",
        [["Địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_b, 2025, "works_completed", 3]],
        who=who,
    )
    assert other.refused and other.errors[0].field == "area" and "outside your areas" in other.errors[0].reason
    mine = _run(
        db,
        tmp_path,
        "targets",
        [["Địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_a, 2025, "Giảm tỷ lệ hộ nghèo", 2.5]],
        who=who,
    )
    assert (mine.status, mine.inserted) == ("imported", 1)
    again = _run(
        db,
        tmp_path,
        "targets",
        [["Địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_a, 2025, "Giảm tỷ lệ hộ nghèo", 2.5]],
        who=who,
    )
    assert (again.inserted, again.unchanged) == (0, 1)


def test_a_count_target_must_be_whole(db, accounts, tmp_path):
    r = _run(
        db,
        tmp_path,
        "targets",
        [["area", "year", "indicator", "value"], [accounts.commune_a, 2025, "works_completed", -2]],
    )
    assert r.refused and [(e["row"], e["column"], e["reason"]) for e in cell_errors(r)] == [
        (2, "D (value)", "a count is a whole number >= 0")
    ]


def test_a_csv_with_blank_lines_names_the_data_row_as_every_import_report(db, accounts, tmp_path):
    """Blank lines are not rows (the common CSV reader skips them): the refusal's row is the data
    row the report and the upload page count, on the planning page and its API too."""
    a = accounts.commune_a
    body = f"Area,Year,Indicator,Value\n\n{a},2025,works_completed,4\n\n\n{a},2025,happiness,3\n{a},2026,works_completed,x\n"
    report = _run(db, tmp_path, "targets", body, "t.csv")
    assert report.refused
    assert [(p.row, p.field) for p in report.errors] == [(2, "indicator"), (3, "value")]
    cells = [(e["row"], e["column"]) for e in cell_errors(report)]
    assert cells == [(2, "C (Indicator)"), (3, "D (Value)")]
    assert "row 2, column C (Indicator)" in str(ImportRefused(report))
