"""Targets and money from a spreadsheet (XLSX), headers in Vietnamese or English.

The same rules as every import: each bad cell is reported with its row (the sheet's own row
number, the header is row 1) and column (the header as written and its letter) and the reason; one
bad row and nothing is written; re-sending the same file changes nothing (rows are keyed by area,
year, indicator / part and source, and updated in place). The rows are written in the caller's
transaction and scope, so an area outside the user's communes is refused like an unknown one.

Each kind is a layer of the import registry (:class:`TargetImporter`, :class:`AllocationImporter`):
``sinhke import targets|allocations FILE`` and the upload page ``/imports`` run them through
:func:`ingest.importing.run_import` (the same report, the ``imports`` row, all or nothing);
``sinhke planning import`` is an alias of it, and :func:`import_xlsx` (the planning page's
direct upload) checks and writes the same way, raising :class:`ImportRefused`.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
from openpyxl.utils import get_column_letter
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.importing import Importer, ImportOptions, ImportReport, Problem, Progress, register
from spatial import SinhkeError
from spatial.accounts import Principal
from spatial.models import MONEY_SOURCES, TARGET_INDICATORS
from spatial.params import number_value, whole_value

KINDS = ("targets", "allocations")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


class ImportRefused(SinhkeError):
    """The file is refused as a whole; ``errors`` names every bad row and column."""

    def __init__(self, filename: str, errors: list[CellError]):
        self.filename = filename
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{filename}: nothing imported: {shown}{more}")


def _key(header: str) -> str:
    """A header compared without case, accents or punctuation: 'Năm gốc' -> 'nam goc'."""
    s = unicodedata.normalize("NFD", str(header).strip().lower().replace("đ", "d"))
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    return " ".join("".join(c if c.isalnum() else " " for c in s).split())


#: column -> the headers that name it (English, Vietnamese), compared by _key
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "targets": {
        "area": ("area", "area code", "dia ban", "ma dia ban", "ma xa", "xa"),
        "year": ("year", "nam"),
        "indicator": ("indicator", "chi tieu"),
        "part": ("project", "sub project", "subproject", "du an", "tieu du an", "du an tieu du an"),
        "value": ("value", "target", "gia tri", "muc tieu"),
        "baseline_year": ("baseline year", "nam goc", "nam co so"),
        "programme": ("programme", "program", "chuong trinh"),
    },
    "allocations": {
        "part": ("project", "sub project", "subproject", "du an", "tieu du an", "du an tieu du an"),
        "area": ("area", "area code", "dia ban", "ma dia ban", "ma xa", "xa"),
        "year": ("year", "nam"),
        "source": ("source", "nguon von", "nguon"),
        "allocated": ("allocated", "allocated vnd", "von giao", "ke hoach von", "von duoc giao"),
        "disbursed": ("disbursed", "disbursed vnd", "giai ngan", "von giai ngan", "da giai ngan"),
        "programme": ("programme", "program", "chuong trinh"),
    },
}
REQUIRED = {
    "targets": ("area", "year", "indicator", "value"),
    "allocations": ("part", "area", "year", "source", "allocated"),
}
INDICATOR_NAMES = {
    **{_key(i): i for i in TARGET_INDICATORS},
    _key("giảm tỷ lệ hộ nghèo"): "poverty_rate_reduction",
    _key("số hộ được hỗ trợ"): "households_supported",
    _key("công trình hoàn thành"): "works_completed",
    _key("hộ có nước sinh hoạt"): "households_with_water",
}
SOURCE_NAMES = {
    **{_key(s): s for s in MONEY_SOURCES},
    _key("ngân sách trung ương"): "central",
    _key("trung ương"): "central",
    _key("ngân sách địa phương"): "local",
    _key("địa phương"): "local",
    _key("tín dụng chính sách"): "credit",
    _key("vốn huy động"): "mobilised",
    _key("huy động"): "mobilised",
    "mobilized": "mobilised",
}


@dataclass
class ImportResult:
    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    columns: dict[str, str] = field(default_factory=dict)


def import_xlsx(session: Session, kind: str, data: bytes, filename: str) -> ImportResult:
    """Check every row of the first sheet, then write them all or none (see the module)."""
    records, errors, columns = check_rows(session, kind, data, filename)
    if errors:
        raise ImportRefused(filename, errors)
    return write_rows(session, kind, records, columns)


def check_rows(
    session: Session, kind: str, data: bytes, filename: str
) -> tuple[list[dict[str, Any]], list[CellError], dict[str, str]]:
    """(the rows as they will be written, every problem, column -> its header). Raises
    :class:`ImportRefused` for a file unreadable as a whole or whose headers are wrong."""
    if kind not in KINDS:
        raise SinhkeError(f"unknown import kind {kind!r} (allowed: {', '.join(KINDS)})")
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same answer
        raise ImportRefused(filename, [CellError(0, "-", f"not an XLSX workbook ({type(exc).__name__})")]) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise ImportRefused(filename, [CellError(1, "-", "the first sheet is empty: row 1 holds the headers")])
    wanted = HEADERS[kind]
    where: dict[str, int] = {}
    errors: list[CellError] = []
    for i, h in enumerate(header):
        if h is None or str(h).strip() == "":
            continue
        k = _key(h)
        name = next((col for col, names in wanted.items() if k in names), None)
        letter = get_column_letter(i + 1)
        if name is None:
            errors.append(CellError(1, f"{letter} ({h})", f"unknown column; known: {', '.join(wanted)}"))
        elif name in where:
            errors.append(CellError(1, f"{letter} ({h})", f"a second {name} column"))
        else:
            where[name] = i
    for col in REQUIRED[kind]:
        if col not in where:
            errors.append(CellError(1, "-", f"no {col} column (e.g. {wanted[col][0]!r} or {wanted[col][2]!r})"))
    if errors:
        raise ImportRefused(filename, errors)
    label = {c: f"{get_column_letter(i + 1)} ({header[i]})" for c, i in where.items()}

    units: dict[str, int] = dict(
        session.execute(
            text("SELECT code, id FROM admin_units WHERE boundary = 'current' AND level IN ('commune', 'province')")
        ).all()
    )
    parts = {
        (prog, code): pid
        for prog, code, pid in session.execute(
            text("SELECT p.code, pp.code, pp.id FROM programme_parts pp JOIN programmes p ON p.id = pp.programme_id")
        ).all()
    }
    programmes = {
        code: (start, end)
        for code, start, end in session.execute(text("SELECT code, start_year, end_year FROM programmes"))
    }
    records: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    for n, row in enumerate(rows, start=2):
        if n - 1 > MAX_ROWS:
            errors.append(CellError(n, "-", f"more than {MAX_ROWS:,} rows"))
            break
        cell = {c: (row[i] if i < len(row) else None) for c, i in where.items()}
        if all(v is None or str(v).strip() == "" for v in cell.values()):
            continue  # blank rows are skipped
        rec: dict[str, Any] = {"row": n}
        bad = len(errors)

        def fail(col: str, reason: str, n: int = n) -> None:
            errors.append(CellError(n, label.get(col, col), reason))

        area = cell.get("area")
        code = "" if area is None else str(area).strip()
        if isinstance(area, int | float) and not isinstance(area, bool):  # a code typed as a number lost its zeros
            code = f"{int(area):05d}" if int(area) >= 100 else f"{int(area):02d}"
        if code not in units:
            fail("area", f"{code or 'empty'}: not a 2025 commune or province code, or outside your areas")
        rec["unit_id"] = units.get(code)
        year = whole_value(cell.get("year"))
        if year is None or not 2000 <= year <= 2100:
            fail("year", f"{cell.get('year')!r}: a year such as 2025")
        rec["year"] = year
        prog = str(cell.get("programme") or "").strip() or ("2021-2025" if (year or 0) <= 2025 else "2026-2035")
        if prog not in programmes:
            fail("programme", f"{prog!r}: unknown programme (known: {', '.join(programmes)})")
        raw_part = cell.get("part")
        part_code = "" if raw_part is None else str(raw_part).strip()
        if isinstance(raw_part, float) and raw_part == int(raw_part):
            part_code = str(int(raw_part))
        part_code = part_code.lower().replace("dự án", "").replace("tiểu dự án", "").strip().rstrip(":")
        if kind == "targets":
            ind = INDICATOR_NAMES.get(_key(cell.get("indicator") or ""))
            if ind is None:
                fail(
                    "indicator",
                    f"{cell.get('indicator')!r}: unknown indicator (allowed: {', '.join(TARGET_INDICATORS)})",
                )
            rec["indicator"] = ind
            value = number_value(cell.get("value"))
            if value is None:
                fail("value", f"{cell.get('value')!r} is not a number")
            elif ind in ("households_supported", "works_completed", "households_with_water") and (
                value < 0 or value != int(value)
            ):
                fail("value", f"{cell.get('value')!r}: a count is a whole number >= 0")
            rec["value"] = value
            base = cell.get("baseline_year")
            rec["baseline_year"] = None
            if base not in (None, ""):
                b = whole_value(base)
                if b is None or year is None or not 2000 <= b < year:
                    fail("baseline_year", f"{base!r}: a year before the target's year")
                rec["baseline_year"] = b
        else:
            source = SOURCE_NAMES.get(_key(cell.get("source") or ""))
            if source is None:
                fail("source", f"{cell.get('source')!r}: unknown source (allowed: {', '.join(MONEY_SOURCES)})")
            rec["source"] = source
            for col in ("allocated", "disbursed"):
                raw = cell.get(col)
                if col == "disbursed" and raw in (None, ""):
                    rec["disbursed"] = 0
                    continue
                v = whole_value(raw)
                if v is None:
                    fail(col, f"{raw!r}: money is a whole number of VND")
                elif v < 0:
                    fail(col, f"{raw!r}: money cannot be negative")
                rec[col] = v
        rec["part_id"] = None
        if part_code:
            rec["part_id"] = parts.get((prog, part_code))
            if rec["part_id"] is None:
                fail("part", f"{raw_part!r}: no project or sub-project {part_code!r} in programme {prog}")
        elif kind == "allocations":
            fail("part", "empty: name the project or sub-project, e.g. 3.1")
        if len(errors) == bad:
            key = (
                (rec["unit_id"], rec["year"], rec["indicator"], rec["part_id"])
                if kind == "targets"
                else (rec["part_id"], rec["unit_id"], rec["year"], rec["source"])
            )
            if key in seen:
                fail("area", f"the same row as row {seen[key]}")
            seen[key] = n
            records.append(rec)
    return records, errors, {c: str(header[i]) for c, i in where.items()}


def write_rows(session: Session, kind: str, records: list[dict[str, Any]], columns: dict[str, str]) -> ImportResult:
    """Upsert checked rows (an unchanged one is not touched) and count what happened."""
    result = ImportResult(kind, rows=len(records), columns=columns)
    for rec in records:
        status = session.execute(_UPSERT[kind], rec).scalar_one_or_none()
        if status == "inserted":
            result.inserted += 1
        elif status == "updated":
            result.updated += 1
        else:
            result.unchanged += 1
    return result


_UPSERT = {
    "targets": text("""
    WITH old AS (SELECT id, value, baseline_year FROM targets
                 WHERE unit_id = :unit_id AND year = :year AND indicator = :indicator
                   AND coalesce(part_id, 0) = coalesce(CAST(:part_id AS int), 0)),
    upd AS (UPDATE targets t SET value = :value, baseline_year = :baseline_year FROM old
            WHERE t.id = old.id AND (old.value, old.baseline_year) IS DISTINCT FROM (:value, :baseline_year)
            RETURNING t.id),
    ins AS (INSERT INTO targets (unit_id, year, indicator, part_id, value, baseline_year)
            SELECT :unit_id, :year, :indicator, :part_id, :value, :baseline_year
            WHERE NOT EXISTS (SELECT 1 FROM old) RETURNING id)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'inserted' WHEN EXISTS (SELECT 1 FROM upd) THEN 'updated' END
    """),
    "allocations": text("""
    WITH old AS (SELECT id, allocated_vnd, disbursed_vnd FROM allocations
                 WHERE part_id = :part_id AND unit_id = :unit_id AND year = :year AND source = :source),
    upd AS (UPDATE allocations a SET allocated_vnd = :allocated, disbursed_vnd = :disbursed FROM old
            WHERE a.id = old.id AND (old.allocated_vnd, old.disbursed_vnd) IS DISTINCT FROM (:allocated, :disbursed)
            RETURNING a.id),
    ins AS (INSERT INTO allocations (part_id, unit_id, year, source, allocated_vnd, disbursed_vnd)
            SELECT :part_id, :unit_id, :year, :source, :allocated, :disbursed
            WHERE NOT EXISTS (SELECT 1 FROM old) RETURNING id)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'inserted' WHEN EXISTS (SELECT 1 FROM upd) THEN 'updated' END
    """),
}


class _PlanningImporter(Importer):
    """Targets or allocations from XLSX through the registry: every :class:`CellError` becomes a
    :class:`~ingest.importing.Problem` (its data row: the sheet's row less the header; its field:
    the column as written), so the report, the refusal and the ``imports`` row are the common ones."""

    formats = ("xlsx",)
    roles = ("admin", "planner")
    kind: ClassVar[str]

    def load(
        self,
        session: Session,
        path: Path,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None = None,
    ) -> None:
        try:
            records, errors, columns = check_rows(session, self.kind, path.read_bytes(), report.filename)
        except ImportRefused as exc:
            records, errors, columns = [], exc.errors, {}
        for e in errors:
            report.problems.append(Problem(e.row - 1 if e.row > 1 else None, e.column, None, e.reason))
        report.rows = len(records) + len({e.row for e in errors if e.row > 1})
        if columns:
            report.notes.append("columns read: " + ", ".join(f"{h} → {c}" for c, h in columns.items()))
        if progress:
            progress("writing", report.rows)
        if errors:
            return  # refused: run_import rolls back and records it
        result = write_rows(session, self.kind, records, columns)
        report.inserted, report.updated, report.unchanged = result.inserted, result.updated, result.unchanged


@register
class TargetImporter(_PlanningImporter):
    layer = "targets"
    title = "Targets"
    kind = "targets"


@register
class AllocationImporter(_PlanningImporter):
    layer = "allocations"
    title = "Allocations"
    kind = "allocations"
