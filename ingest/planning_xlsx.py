"""Targets and money from a spreadsheet: the ``targets`` and ``allocations`` layers of the import registry.

Both are :class:`~ingest.tabular.TableImporter` layers like every other: XLSX or CSV (or any
table format the framework reads), headers in Vietnamese (with or without diacritics) or English,
the common report (data row, field, value, reason), all or nothing, ``--dry-run`` and
``--skip-invalid``, one row in ``imports`` per file, and idempotent on the natural key: area ×
year × indicator (× project) for a target, sub-project × area × year × source for an allocation;
a row equal to the stored one is not touched, a changed one is updated and audited (the tables'
triggers). An area is a 2025 commune or province the importer may see (row-level security): a
planner's rows outside their communes are refused like unknown codes.

``sinhke import targets|allocations FILE``, the upload page ``/imports``, ``sinhke planning
import`` and the planning page's own upload (:mod:`webapp.views.planning`) all go through
:func:`ingest.importing.run_import`; :func:`cell_errors` says where each problem is on the sheet
(its row and column letter) for the planning page and its API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from openpyxl.utils import get_column_letter
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.headers import fold
from ingest.importing import ImportOptions, ImportReport, Progress, register
from ingest.readers import SourceTable
from ingest.tabular import Field, TableImporter
from spatial import N_, SinhkeError
from spatial.accounts import Principal
from spatial.models import MONEY_SOURCES, TARGET_INDICATORS
from spatial.planning_entry import COUNT_INDICATORS, MAX_VND

#: the layers, as the planning page and its API name them (``/api/planning/import/<kind>``)
KINDS = ("targets", "allocations")

AREA = ("area", "area code", "địa bàn", "mã địa bàn", "mã xã", "xã", "mã đơn vị", "commune", "province")
YEAR = ("year", "năm")
PART = ("project", "sub-project", "subproject", "dự án", "tiểu dự án", "dự án / tiểu dự án", "dự án/tiểu dự án")
PROGRAMME = ("programme", "program", "chương trình")


def _choices(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(alias): stored for stored, aliases in table.items() for alias in (stored, *aliases)}


INDICATORS = _choices(
    {
        "poverty_rate_reduction": ("giảm tỷ lệ hộ nghèo", "giảm tỉ lệ hộ nghèo", "poverty rate reduction"),
        "households_supported": ("số hộ được hỗ trợ", "hộ được hỗ trợ", "households supported"),
        "works_completed": ("công trình hoàn thành", "số công trình hoàn thành", "works completed"),
        "households_with_water": ("hộ có nước sinh hoạt", "hộ được cấp nước", "households with water"),
    }
)
assert set(INDICATORS.values()) == set(TARGET_INDICATORS)
SOURCES = _choices(
    {
        "central": ("ngân sách trung ương", "trung ương", "central budget"),
        "local": ("ngân sách địa phương", "địa phương", "local budget"),
        "credit": ("tín dụng chính sách", "tín dụng", "social policy credit"),
        "mobilised": ("vốn huy động", "huy động", "mobilized"),
    }
)
assert set(SOURCES.values()) == set(MONEY_SOURCES)


def _area_code(value: str) -> str:
    """A code typed as a number lost its leading zero: 2025 commune codes have 5 digits, provinces 2."""
    if value.isdigit() and len(value) < 5:
        return value.zfill(5 if len(value) >= 3 else 2)
    return value


def _part_code(value: str) -> str:
    """'Dự án 3', 'Tiểu dự án 3.1:', 'project 3.1' -> '3', '3.1'."""
    v = re.sub(r"(?i)^\s*(tiểu dự án|dự án|tieu du an|du an|sub-?project|project)\s*", "", value)
    return v.strip().rstrip(":").strip()


class _PlanningImporter(TableImporter):
    """What targets and allocations share: an area (2025 commune or province code), a year, a
    programme part (code within the programme of the year, unless the file names one)."""

    roles = ("admin", "planner")
    geometry = None
    has_commune = False
    fast_path = False  # a few thousand rows at most, each checked in Python for its reason

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        if values.get("area"):
            values["area"] = _area_code(values["area"])
        if values.get("part"):
            values["part"] = _part_code(values["part"])
        if not values.get("programme") and values.get("year"):
            values["programme"] = "2021-2025" if values["year"] <= 2025 else "2026-2035"
        return []

    def extra_stage_columns(self) -> list[str]:
        return ["unit_id integer", "part_id integer"]

    def written_columns(self) -> dict[str, str]:
        return {**super().written_columns(), "unit_id": "unit_id", "part_id": "part_id"}

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        # admin_units is read under the importer's row-level security: another planner's commune is not found
        session.execute(
            text(f"""UPDATE {stg} s SET unit_id = u.id FROM admin_units u
                     WHERE u.code = s.area AND u.boundary = 'current' AND u.level IN ('commune', 'province')""")
        )
        self.reject_where(
            session,
            f"SELECT row_no, area FROM {stg} WHERE unit_id IS NULL ORDER BY row_no",
            {},
            "area",
            N_("not a 2025 commune or province code, or outside your areas"),
            report,
        )
        self.reject_where(
            session,
            f"""SELECT row_no, programme FROM {stg} s
                WHERE NOT EXISTS (SELECT FROM programmes p WHERE p.code = s.programme) ORDER BY row_no""",
            {},
            "programme",
            N_("unknown programme"),
            report,
        )
        session.execute(
            text(f"""UPDATE {stg} s SET part_id = pp.id
                     FROM programme_parts pp JOIN programmes p ON p.id = pp.programme_id
                     WHERE p.code = s.programme AND pp.code = s.part""")
        )
        self.reject_where(
            session,
            f"""SELECT row_no, part FROM {stg} s WHERE part IS NOT NULL AND part_id IS NULL
                AND EXISTS (SELECT FROM programmes p WHERE p.code = s.programme) ORDER BY row_no""",
            {},
            "part",
            N_("no such project or sub-project in the programme"),
            report,
        )

    def _check_scope(self, session: Session, stg: str, report: ImportReport) -> None:
        """Row-level security hides other communes already (see :meth:`resolve`); this says so
        plainly should a policy ever let one through."""
        self.reject_where(
            session,
            f"SELECT row_no, area FROM {stg} WHERE unit_id IS NOT NULL AND NOT sinhke_unit_visible(unit_id) "
            "ORDER BY row_no",
            {},
            "area",
            N_("outside your areas"),
            report,
        )

    # ------------------------------------------------------------------ where a problem is on the sheet
    def load(
        self,
        session: Session,
        path: Path,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None = None,
    ) -> None:
        self._sheet: SheetPlaces | None = None
        super().load(session, path, report, options, who, progress)
        report.result = self._sheet

    def _match(self, table: SourceTable, report: ImportReport, options: ImportOptions) -> dict[str, int]:
        found = super()._match(table, report, options)
        self._sheet = SheetPlaces(table, {name: i for name, i in found.items()})
        return found


@dataclass
class SheetPlaces:
    """Where the rows and fields of a table read by a planning importer are on its sheet."""

    table: SourceTable
    found: dict[str, int] = field(default_factory=dict)

    def row(self, data_row: int | None) -> int | None:
        """An XLSX sheet's own row number; in any other file the data row as the import report
        counts it (from 1, blank lines not counted, see :func:`ingest.readers.read_table`); None
        for the file as a whole."""
        if data_row is None:
            return None
        return self.table.sheet_row(data_row) or data_row

    def column(self, field_name: str | None) -> str:
        """'E (Vốn giao)': the column letter and its header as written; the field's name if no column has it."""
        if field_name is None:
            return "-"
        i = self.found.get(field_name)
        if i is None:
            return field_name
        return f"{get_column_letter(self.table.first_column + i + 1)} ({self.table.columns[i]})"


def cell_errors(report: ImportReport) -> list[dict[str, Any]]:
    """A refused report's problems as the planning page and ``/api/planning/import`` show them:
    the sheet's row, the column (letter and header), the field, the value and the reason."""
    places = report.result if isinstance(report.result, SheetPlaces) else None
    out = []
    for p in report.errors:
        out.append(
            {
                "row": places.row(p.row) if places else p.row,
                "column": places.column(p.field) if places else (p.field or "-"),
                "field": p.field,
                "value": p.value,
                "reason": p.reason,  # a Message: the page says it in the reader's language
            }
        )
    return out


class ImportRefused(SinhkeError):
    """A refused planning file, for the planning page and its API (422): ``errors`` as
    :func:`cell_errors` gives them, ``report`` the framework's own."""

    def __init__(self, report: ImportReport, errors: list[dict[str, Any]] | None = None):
        self.report = report
        self.filename = report.filename
        self.errors = cell_errors(report) if errors is None else errors
        shown = "; ".join(f"row {e['row']}, column {e['column']}: {e['reason']}" for e in self.errors[:20])
        more = f" (and {len(self.errors) - 20} more)" if len(self.errors) > 20 else ""
        super().__init__(f"{self.filename}: nothing imported: {shown}{more}")


@register
class TargetImporter(_PlanningImporter):
    layer = "targets"
    title = "Targets"
    table = "targets"
    key: ClassVar[tuple[str, ...]] = ("area", "year", "indicator", "part")
    fields = (
        Field("area", required=True, max_length=20, column="", aliases=AREA),
        Field("year", "year", required=True, minimum=2000, aliases=YEAR),
        Field("indicator", "choice", required=True, choices=INDICATORS, aliases=("indicator", "chỉ tiêu")),
        Field("part", max_length=20, column="", aliases=PART),
        Field("value", "float", required=True, minimum=-1e12, maximum=1e12, aliases=("target", "giá trị", "mục tiêu")),
        Field("baseline_year", "year", minimum=2000, aliases=("baseline year", "năm gốc", "năm cơ sở")),
        Field("programme", max_length=20, column="", aliases=PROGRAMME),
    )

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        out = super().check_row(values)
        value = values.get("value")
        if values.get("indicator") in COUNT_INDICATORS and value is not None and (value < 0 or value != int(value)):
            out.append(("value", value, "a count is a whole number >= 0"))
        base = values.get("baseline_year")
        if base is not None and values.get("year") is not None and base >= values["year"]:
            out.append(("baseline_year", base, "a year before the target's year"))
        return out

    def conflict_target(self) -> tuple[str, ...]:
        return ("unit_id", "year", "indicator", "part_id")

    def key_equals(self, column: str, staged: str) -> str:
        if column == "part_id":  # no project is a key of its own (the unique index reads it as 0)
            return f"coalesce(t.part_id, 0) = coalesce(s.{staged}, 0)"
        return super().key_equals(column, staged)


@register
class AllocationImporter(_PlanningImporter):
    layer = "allocations"
    title = "Allocations and disbursements"
    table = "allocations"
    key: ClassVar[tuple[str, ...]] = ("part", "area", "year", "source")
    fields = (
        Field("part", required=True, max_length=20, column="", aliases=PART),
        Field("area", required=True, max_length=20, column="", aliases=AREA),
        Field("year", "year", required=True, minimum=2000, aliases=YEAR),
        Field("source", "choice", required=True, choices=SOURCES, aliases=("source", "nguồn vốn", "nguồn")),
        Field(
            "allocated",
            "money",
            required=True,
            maximum=MAX_VND,
            column="allocated_vnd",
            aliases=("allocated", "allocated vnd", "vốn giao", "kế hoạch vốn", "vốn được giao"),
        ),
        Field(
            "disbursed",
            "money",
            default=0,
            maximum=MAX_VND,
            column="disbursed_vnd",
            aliases=("disbursed", "disbursed vnd", "giải ngân", "vốn giải ngân", "đã giải ngân"),
        ),
        Field("programme", max_length=20, column="", aliases=PROGRAMME),
    )

    def conflict_target(self) -> tuple[str, ...]:
        return ("part_id", "unit_id", "year", "source")


__all__ = ["KINDS", "AllocationImporter", "ImportRefused", "SheetPlaces", "TargetImporter", "cell_errors"]
