"""The COPY fast path (ingest/fastpath.py) reads every cell as the Python parsers do.

Two checks: (1) for each field kind, on a list of cells people write, wherever PostgreSQL calls a
cell canonical the value it computes is the value :meth:`Field.parse` gives (and every Python
whitespace character makes text non-canonical); (2) a file mixing canonical and non-canonical
rows (CSV and XLSX) gets the same report and the same stored rows through the fast path as
through the slow one.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest import fastpath
from ingest.importing import ImportOptions, run_import
from ingest.layer_importers import HouseholdImporter, SurveyRoundImporter
from ingest.tabular import Field
from spatial.accounts import SYSTEM

CELLS = {
    "int": ["7", "007", "-3", "0", "99", "100", "1.500", "12,0", " 5", "5 ", "x", "1e3", "123456789", "9999999999"],
    "money": ["0", "1200000", "1.200.000", "1,200,000", "-5", "2500000đ", "12.5", "000"],
    "year": ["2024", "1900", "2100", "1899", "2101", "0999", "24", "2024.0"],
    "float": ["1.5", "-0.25", "12,5", "3", "1e3", "nan", "inf", ".5", "5.", "106.123456789012"],
    "date": [
        "2024-03-15",
        "2024-3-5",
        "15/03/2024",
        "5.3.2024",
        "31/02/2024",
        "2024-02-29",
        "2023-02-29",
        "0000-01-01",
        "29-02-2024",
        "2024-13-01",
        "2024-03-15T10:00",
        "15/03/24",
        "1/1/2024",
        "05/3/2024",
        "1899-12-31",
        "2100-12-31",
        "15-03-2024",
    ],
    "bool": ["1", "0", "x", "X", "yes", "No", "có", "không", "-", "TRUE", "f", "2", "dung", "Sai"],
    "text": ["Nguyễn Văn A", " a", "a ", "a  b", "a\tb", "a\u00a0b", "a\u3000b", "Ngu\u0303", "ok", "x" * 30],
    "choice": ["cow_bank", "free_range_chicken", "Cow_Bank", "bò", "chicken", "nothing"],
}
CHOICES = {
    "cow_bank": "cow_bank",
    "bo": "cow_bank",
    "chicken": "free_range_chicken",
    "free range chicken": "free_range_chicken",
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_sql_canonical_values_are_what_python_parses(db: Session, kind: str) -> None:
    f = Field(
        "f",
        kind,
        minimum=1 if kind == "int" else None,
        maximum=99 if kind == "int" else None,
        choices=CHOICES if kind == "choice" else None,
    )
    params = fastpath.Params()
    canonical, value = fastpath.parsed(kind, "r", params, choices=f.choices, lo=f.minimum, hi=f.maximum, dates="dd")
    sql_type = fastpath.SQL_TYPE[kind]
    seen_canonical = 0
    for cell in CELLS[kind]:
        params.values["cell"] = cell
        ok, got = db.execute(
            text(
                f"SELECT {canonical}, CASE WHEN {canonical} THEN CAST({value} AS {sql_type}) END "
                "FROM (SELECT CAST(:cell AS text) AS r) t LEFT JOIN import_date_forms dd ON dd.s = t.r"
            ),
            params.values,
        ).one()
        try:
            expected = f.parse(cell)
        except ValueError:
            expected = ValueError
        if ok:
            seen_canonical += 1
            assert expected is not ValueError and got == expected, (kind, cell, got, expected)
    assert seen_canonical >= 2  # the fast path takes the common forms, not nothing


def test_every_python_space_makes_text_non_canonical(db: Session) -> None:
    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace() and chr(c) != " "]
    assert len(spaces) > 20
    bad = (
        db.execute(
            text("SELECT s FROM unnest(CAST(:s AS text[])) s WHERE ('a' || s || 'b') !~ :re"),
            {"s": spaces, "re": fastpath.NOT_CANONICAL_TEXT},
        )
        .scalars()
        .all()
    )
    assert bad == []


def test_cell_text_of_typed_cells_parses_like_the_cell() -> None:
    cases = [
        (3.0, "int"),
        (3.5, "int"),
        (3.5, "float"),
        (1.0, "bool"),
        (True, "bool"),
        (True, "text"),
        (datetime(2024, 3, 15, 0, 0), "date"),
        (date(2024, 3, 15), "date"),
        (datetime(2024, 3, 15, 8, 0), "text"),
        (1200000, "money"),
        (12.0, "text"),
        (float("inf"), "float"),
    ]
    for cell, kind in cases:
        f = Field("f", kind)
        try:
            expected = f.parse(cell)
        except ValueError as exc:
            expected = str(exc)
        try:
            got = f.parse(fastpath.cell_text(cell, kind))
        except ValueError as exc:
            got = str(exc)
        assert got == expected, (cell, kind)


def _rounds_rows(codes: list[str]) -> list[list[object]]:
    return [
        [codes[0], 2031, "01/10/2031", 4, "1200000", "x", "", "  "],  # canonical
        [codes[1], 2031, "2031-10-02", 5, "2.500.000 đ", "có", "0", "Rà  soát"],  # Python: money, bool, spaces
        [codes[2], 2031, "31/02/2031", 0, "-5", "maybe", "1", ""],  # three problems
        ["", "", "", "", "", "", "", ""],  # a blank line: skipped, not counted
        [codes[3], "1899", "2031-10-02", 3, "900000", "1", "1", ""],  # year out of range
        ["NO-SUCH", 2031, "2031-10-02", 3, "900000", "1", "1", ""],  # unknown household (SQL)
        [codes[0], 2031, "2031-10-05", 4, "1300000", "0", "0", ""],  # duplicate of row 1
        [codes[4], 2031, "5/10/2031", 6, 700000, "no", "yes", "Nguồn A"],  # canonical
    ]


HEADER = ["Mã hộ", "Năm", "Ngày điều tra", "Số nhân khẩu", "Thu nhập bình quân", "d_water", "d_latrine", "Nguồn"]


def _write(path: Path, rows: list[list[object]]) -> Path:
    if path.suffix == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(HEADER)
        w.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(HEADER)
        for r in rows:
            ws.append([None if v == "" else v for v in r])
        wb.save(path)
    return path


def _both(db: Session, monkeypatch, layer: str, cls, path: Path, options: ImportOptions):  # type: ignore[no-untyped-def]
    out = []
    for fast in (True, False):
        monkeypatch.setattr(cls, "fast_path", fast)
        nested = db.begin_nested()
        r = run_import(db, layer, path, path.name, SYSTEM, options)
        stored = (
            db.execute(
                text(
                    "SELECT h.code, s.year, s.surveyed_on, s.members, s.income_per_person_month, s.d_water, "
                    "s.d_latrine, s.source FROM survey_rounds s JOIN households h ON h.id = s.household_id "
                    "WHERE s.year = 2031 ORDER BY h.code"
                )
            ).all()
            if layer == "survey_rounds"
            else []
        )
        nested.rollback()
        out.append(
            (
                (r.status, r.rows, r.inserted, r.updated, r.unchanged, r.rejected),
                [p.as_dict() for p in r.problems],
                [tuple(x) for x in stored],
            )
        )
    return out


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_fast_and_slow_paths_give_the_same_report_and_rows(
    db: Session, tmp_path: Path, monkeypatch, suffix: str
) -> None:  # type: ignore[no-untyped-def]
    codes = db.execute(text("SELECT code FROM households ORDER BY id LIMIT 5")).scalars().all()
    path = _write(tmp_path / f"rounds{suffix}", _rounds_rows(list(codes)))
    fast, slow = _both(db, monkeypatch, "survey_rounds", SurveyRoundImporter, path, ImportOptions())
    for a, b in zip(fast[1], slow[1], strict=False):
        assert a == b
    assert fast == slow
    assert fast[0][0] == "refused" and fast[0][1] == 7
    rows_with_problems = {p["row"] for p in fast[1] if not p["repaired"]}
    assert rows_with_problems == {3, 4, 5, 6}
    kept_fast, kept_slow = _both(
        db, monkeypatch, "survey_rounds", SurveyRoundImporter, path, ImportOptions(skip_invalid=True)
    )
    assert kept_fast == kept_slow
    assert kept_fast[0][:3] == ("imported", 7, 3) and len(kept_fast[2]) == 3
    assert (codes[1], 2031, date(2031, 10, 2), 5, 2_500_000, True, False, "Rà soát") in kept_fast[2]


def test_households_swapped_points_and_spaces_same_either_way(db: Session, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    c = db.execute(
        text("""SELECT c.code, v.code, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
                FROM admin_units c JOIN villages v ON v.commune_id = c.id
                WHERE c.level = 'commune' AND c.boundary = 'legacy' ORDER BY c.code, v.code LIMIT 1""")
    ).one()
    header = ["Mã hộ", "Họ và tên chủ hộ", "Xã", "Thôn/bản", "Số nhân khẩu", "Ngày đăng ký", "Kinh độ", "Vĩ độ"]
    rows = [
        ["F-HH-1", "Nguyễn Văn A", c[0], c[1], 3, "15/03/2024", c[2], c[3]],
        ["F-HH-2", " Lò  Thị B ", c[0], c[1], 4, "2024-03-15", c[3], c[2]],  # spaces; lon/lat swapped (repaired)
        ["F-HH-3", "Hoàng C", c[0], c[1], 5, "15/03/2024", c[2], ""],  # half a point
        ["F-HH-4", "Vi D", c[0], c[1], 2, "15/03/2024", "", ""],  # no point
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    path = tmp_path / "hh.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    results = []
    for fast in (True, False):
        monkeypatch.setattr(HouseholdImporter, "fast_path", fast)
        nested = db.begin_nested()
        r = run_import(db, "households", path, "hh.csv", SYSTEM, ImportOptions(skip_invalid=True))
        got = db.execute(
            text(
                "SELECT code, head_name, members, round(ST_X(geom)::numeric, 6) FROM households "
                "WHERE code LIKE 'F-HH-%' ORDER BY code"
            )
        ).all()
        nested.rollback()
        results.append(((r.status, r.inserted, r.rejected), [p.as_dict() for p in r.problems], [tuple(g) for g in got]))
    assert results[0] == results[1]
    assert results[0][0] == ("imported", 3, 1)
    assert [g[0] for g in results[0][2]] == ["F-HH-1", "F-HH-2", "F-HH-4"]
    assert results[0][2][1][1] == "Lò Thị B"
    assert any(p["repaired"] and p["row"] == 2 for p in results[0][1])


def test_a_long_sheet_streams_and_reads_as_calamine_reads_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A workbook with a title row, a header over merged rows, gaps, dates, numbers, booleans and a
    hidden sheet: streamed (ingest.xlsx_stream, as a sheet over the size limit is) it reads as
    calamine reads it, cell for cell, with the same notes."""
    from openpyxl import Workbook

    from ingest import readers

    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(["DANH SÁCH HỘ NGHÈO 2024"])
    ws.append(["Thông tin hộ", None, "Khác"])
    ws.append(["Mã hộ", "Ngày", "Số"])
    ws.merge_cells("A2:B2")
    ws.merge_cells("C2:C3")
    ws.append(["H-1", datetime(2024, 3, 15), 3])
    ws.append([])
    ws.append(["H-2", "15/03/2024", 2.5, True])
    ws.append(["H-&<3>", None, -1, False, "=1+1"])
    hidden = wb.create_sheet("Ẩn")
    hidden.append(["x"])
    hidden.sheet_state = "hidden"
    path = tmp_path / "book.xlsx"
    wb.save(path)

    def read() -> tuple[list[str], list[tuple[int, list[object], object]], list[str]]:
        table = readers.read_xlsx(path, "book.xlsx")
        try:
            return table.columns, list(table.rows), table.notes
        finally:
            table.close()

    whole = read()
    monkeypatch.setattr(readers, "XLSX_IN_MEMORY_BYTES", 0)
    streamed = read()
    assert streamed == whole
    assert whole[0] == ["Mã hộ", "Ngày", "Khác"]  # C3 lies under the merged C2:C3: its label is C2's
    assert [r[0] for r in whole[1]] == [1, 2, 3] and whole[1][0][1][1] == date(2024, 3, 15)
    assert whole[1][2][1][0] == "H-&<3>" and any("hidden sheets" in n for n in whole[2])
