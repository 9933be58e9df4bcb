"""Targets and money from XLSX: Vietnamese or English headers, a bad row names its row and column, all or nothing."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import text

from ingest.planning_xlsx import ImportRefused, import_xlsx
from spatial.accounts import Principal, apply_scope


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


def test_allocations_with_vietnamese_headers_and_resending(db, accounts):
    _clear(db)
    data = xlsx(
        [
            ["Dự án / Tiểu dự án", "Mã địa bàn", "Năm", "Nguồn vốn", "Vốn giao", "Giải ngân"],
            ["3.1", accounts.commune_a, 2024, "Ngân sách trung ương", 1_500_000_000, "1.200.000.000"],
            ["1", accounts.commune_a, 2024, "tín dụng chính sách", 0, None],
        ]
    )
    result = import_xlsx(db, "allocations", data, "von.xlsx")
    assert (result.inserted, result.updated, result.unchanged) == (2, 0, 0)
    got = db.execute(
        text("""SELECT pp.code, a.source, a.allocated_vnd, a.disbursed_vnd FROM allocations a
                JOIN programme_parts pp ON pp.id = a.part_id ORDER BY pp.code""")
    ).all()
    assert [tuple(r) for r in got] == [("1", "credit", 0, 0), ("3.1", "central", 1_500_000_000, 1_200_000_000)]
    # the audit trail has each row
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'allocations'")) >= 2
    again = import_xlsx(db, "allocations", data, "von.xlsx")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_a_bad_row_names_row_and_column_and_writes_nothing(db, accounts):
    before = _count(db, "allocations")
    data = xlsx(
        [
            ["project", "area", "year", "source", "allocated", "disbursed"],
            ["2", accounts.commune_a, 2024, "central", 1000, 10],
            ["2", accounts.commune_a, 2024, "local", -5, 0],
            ["2", accounts.commune_a, 2024, "mobilised", 10.5, 0],
            ["9.9", accounts.commune_a, 2024, "credit", 10, 0],
        ]
    )
    with pytest.raises(ImportRefused) as err:
        import_xlsx(db, "allocations", data, "money.xlsx")
    found = {(e.row, e.column.split(" ")[0]) for e in err.value.errors}
    assert found == {(3, "E"), (4, "E"), (5, "A")}
    assert "row 3, column E (allocated): -5: money cannot be negative" in str(err.value)
    assert _count(db, "allocations") == before


def test_targets_unknown_indicator_and_scope(db, accounts):
    _clear(db)
    before = _count(db, "targets")
    bad = xlsx([["area", "year", "indicator", "value"], [accounts.commune_a, 2025, "happiness", 3]])
    with pytest.raises(ImportRefused, match=r"row 2, column C \(indicator\): 'happiness': unknown indicator"):
        import_xlsx(db, "targets", bad, "t.xlsx")
    # a planner of commune A cannot set commune B's targets
    planner = db.scalar(text("SELECT id FROM users WHERE name = 't_planner'"))
    apply_scope(db, Principal(planner, "t_planner", "planner"))
    other = xlsx([["Địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_b, 2025, "works_completed", 3]])
    with pytest.raises(ImportRefused, match="outside your areas"):
        import_xlsx(db, "targets", other, "t.xlsx")
    mine = xlsx([["Địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_a, 2025, "Giảm tỷ lệ hộ nghèo", 2.5]])
    assert import_xlsx(db, "targets", mine, "t.xlsx").inserted == 1
    assert _count(db, "targets") == before + 1


def test_targets_and_allocations_are_layers_of_the_import_registry(db, accounts, tmp_path):
    """Through run_import (``sinhke import targets|allocations``, the upload page): the common
    report (data rows, as a spreadsheet user counts them below the header), all or nothing, the
    imports row, and re-sending changes nothing."""
    from ingest.importing import importer_for, layers, run_import
    from spatial.accounts import SYSTEM

    assert {"targets", "allocations"} <= set(layers())
    assert importer_for("targets", "xlsx").layer == "targets"
    _clear(db)
    bad = tmp_path / "von.xlsx"
    bad.write_bytes(
        xlsx(
            [
                ["Dự án / Tiểu dự án", "Mã địa bàn", "Năm", "Nguồn vốn", "Vốn giao"],
                ["3.1", accounts.commune_a, 2024, "trung ương", 1_000_000],
                ["3.1", accounts.commune_a, 2024, "địa phương", -5],
            ]
        )
    )
    refused = run_import(db, "allocations", bad, "von.xlsx", SYSTEM)
    assert (refused.status, refused.rows, refused.inserted, refused.rejected) == ("refused", 2, 0, 1)
    assert [(p.row, p.field.split(" ")[0], p.reason) for p in refused.problems] == [
        (2, "E", "-5: money cannot be negative")
    ]
    assert _count(db, "allocations") == 0
    good = tmp_path / "muc_tieu.xlsx"
    good.write_bytes(
        xlsx(
            [
                ["Mã địa bàn", "Năm", "Chỉ tiêu", "Giá trị"],
                [accounts.commune_a, 2025, "số hộ được hỗ trợ", 120],
                [accounts.commune_a, 2025, "hộ có nước sinh hoạt", 80],
            ]
        )
    )
    first = run_import(db, "targets", good, "muc_tieu.xlsx", SYSTEM)
    again = run_import(db, "targets", good, "muc_tieu.xlsx", SYSTEM)
    assert (first.status, first.inserted, again.inserted, again.unchanged) == ("imported", 2, 0, 2)
    stored = db.execute(
        text(
            "SELECT layer, status, inserted, unchanged FROM imports WHERE filename IN ('von.xlsx', 'muc_tieu.xlsx') ORDER BY id"
        )
    ).all()
    assert [tuple(r) for r in stored] == [
        ("allocations", "refused", 0, 0),
        ("targets", "imported", 2, 0),
        ("targets", "imported", 0, 2),
    ]
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("Mã địa bàn,Năm\n1,2\n", encoding="utf-8")
    with pytest.raises(Exception, match="targets cannot be imported from a csv file"):
        run_import(db, "targets", csv_file, "t.csv", SYSTEM)
