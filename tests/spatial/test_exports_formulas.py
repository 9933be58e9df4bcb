"""Formula injection: no text cell of a CSV or XLSX export reaches a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from spatial.exports import csv_stream, table_file, write_xlsx

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "Nguyễn Văn An", "a=b"]


def _rows() -> list[dict[str, object]]:
    return [{"name": v, "n": -5} for v in HOSTILE]


def test_csv_exports_prefix_formulas_with_an_apostrophe() -> None:
    for body in (table_file("csv", ["name", "n"], _rows(), "t"), b"".join(csv_stream(["name", "n"], _rows()))):
        cells = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
        assert [c[0] for c in cells] == ["'" + v if v[0] in "=+-@\t" else v for v in HOSTILE]
        assert {c[1] for c in cells} == {"-5"}  # numbers are numbers, not text


def test_xlsx_exports_store_formula_like_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(table_file("xlsx", ["name", "n"], _rows(), "t"))
    write_xlsx(tmp_path / "s.xlsx", ["name", "n"], _rows(), "s")
    for p in (path, tmp_path / "s.xlsx"):
        ws = load_workbook(p).active
        cells = list(ws.iter_rows(min_row=2))
        assert [c[0].value for c in cells] == HOSTILE
        assert {c[0].data_type for c in cells} == {"s"}  # never "f"
        assert {c[1].value for c in cells} == {-5}
