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
