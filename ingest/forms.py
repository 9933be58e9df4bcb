"""XLSForm → stored form definitions.

M&E officers write forms as XLSForm, as for ODK and Kobo. pyxform (ODK's own converter)
checks each file as a whole; the result is reduced to the JSON definition both validators
run on (``spatial/forms.py``), refusing anything outside the subset they evaluate
identically. A file is loaded as a new version only when its definition changed; a changed
form must carry a new version string (ODK's rule: a version, once used, names one form).
Errors name the file, sheet, row and column.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import IngestError
from spatial.forms import ExpressionError, parse_condition
from spatial.models import FORM_TARGETS, MODEL_TYPES, WORK_TYPES, FormDefinition

FORMS_DIR = Path(__file__).resolve().parents[1] / "forms"
_TYPES = {
    "text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "note": "note",
    "select one": "select_one",
    "select all that apply": "select_multiple",
}
_TRUE = ("yes", "true", "true()", "1")
_FALSE = ("no", "false", "false()", "0", "")
#: survey columns whose effect the validators would not reproduce
_UNSUPPORTED_BIND = ("calculate", "jr:preload", "readonly")
#: appearances the field app draws: a multi-line box, or a pick-list of the model's
#: participating households (searchable, kept on the phone; typing a code stays possible)
APPEARANCES = {"text": ("multiline", "participants")}
_LANG = re.compile(r"\((\w{2,3})\)\s*$")
TARGET_TYPES = {"livelihood_model": MODEL_TYPES, "infrastructure_work": WORK_TYPES, "water_scheme": ()}


class FormLoadError(IngestError):
    """An XLSForm sinhke cannot take; says where: file, sheet, row, column."""

    def __init__(
        self, file: str, message: str, sheet: str | None = None, row: int | None = None, column: str | None = None
    ):
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        where = ", ".join(
            p
            for p in (
                f"sheet {sheet!r}" if sheet else "",
                f"row {row}" if row else "",
                f"column {column}" if column else "",
            )
            if p
        )
        super().__init__(f"{file}: {where + ': ' if where else ''}{message}")


@dataclass(frozen=True)
class ParsedForm:
    form_id: str
    version: str
    target: str
    target_types: list[str]
    title_vi: str
    title_en: str
    definition: dict[str, Any]
    definition_sha256: str
    source_name: str
    source_sha256: str


@dataclass(frozen=True)
class LoadOutcome:
    form_id: str
    version: str
    status: str  # added | unchanged
    source_name: str


class _Locator:
    """Rows and column letters of the workbook, so errors can point at a cell."""

    def __init__(self, path: Path):
        self.columns: dict[str, dict[str, str]] = {}
        self.rows: dict[str, int] = {}
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in wb.worksheets:
                rows = sheet.iter_rows(values_only=True)
                header = next(rows, ())
                self.columns[sheet.title] = {
                    str(h).strip(): get_column_letter(i + 1) for i, h in enumerate(header) if h is not None
                }
                if sheet.title == "survey":
                    name_at = next((i for i, h in enumerate(header) if str(h).strip() == "name"), None)
                    for n, row in enumerate(rows, start=2):
                        if name_at is not None and name_at < len(row) and row[name_at]:
                            self.rows.setdefault(str(row[name_at]).strip(), n)
        finally:
            wb.close()

    def column(self, sheet: str, header: str) -> str | None:
        letter = self.columns.get(sheet, {}).get(header)
        return f"{letter} ({header})" if letter else header


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _languages(value: Any, default: str = "vi") -> dict[str, str]:
    """{"Tiếng Việt (vi)": …, "English (en)": …} → {"vi": …, "en": …}; plain text serves both."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"vi": value, "en": value}
    out = {}
    for key, text in value.items():
        m = _LANG.search(key)
        out[m.group(1) if m else default] = text
    if "vi" in out and "en" not in out:
        out["en"] = out["vi"]
    return out


def parse_xlsform(path: Path) -> ParsedForm:
    """Check one XLSForm with pyxform and reduce it to sinhke's definition."""
    from pyxform import xls2xform
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    name = path.name
    try:
        raw = path.read_bytes()
        where = _Locator(path)
    except Exception as exc:  # noqa: BLE001 - not a workbook at all
        raise FormLoadError(name, f"not a readable .xlsx workbook ({exc})") from exc
    warnings: list[str] = []
    try:
        xls2xform.convert(str(path), warnings=warnings)  # the whole of ODK's checks
        survey = parse_file_to_json(str(path), warnings=warnings)
    except PyXFormError as exc:
        raise _pyxform_error(name, str(exc), where) from exc

    def fail(message: str, sheet: str | None = None, field: str | None = None, column: str | None = None):
        row = where.rows.get(field) if field else (2 if sheet == "settings" else None)
        return FormLoadError(name, message, sheet, row, where.column(sheet, column) if sheet and column else None)

    form_id = survey.get("id_string") or ""
    if not form_id or "form_id" not in where.columns.get("settings", {}):
        raise fail("a form_id is required", "settings", column="form_id")
    version = str(survey.get("version") or "").strip()
    if not version:
        raise fail("a version is required (e.g. 2025120101)", "settings", column="version")
    target = survey.get("target") or ""
    if target not in FORM_TARGETS:
        raise fail(f"target must be one of {', '.join(FORM_TARGETS)}, not {target!r}", "settings", column="target")
    types = str(survey.get("target_types") or "*").split()
    allowed = TARGET_TYPES[target]
    if types != ["*"] and (not allowed or any(t not in allowed for t in types)):
        raise fail(
            f"target_types: '*' or some of {', '.join(allowed) or '(none for this target)'}",
            "settings",
            column="target_types",
        )
    title_vi = str(survey.get("title") or form_id)
    title_en = str(survey.get("form_title_en") or title_vi)

    fields: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for child in survey.get("children", []):
        if child.get("name") == "meta" and child.get("type") == "group":
            continue  # pyxform's own instanceID block
        fields.append(_field(child, seen, fail))
        seen[child["name"]] = fields[-1]["type"]
    if not any(f["type"] != "note" for f in fields):
        raise fail("the survey sheet has no question", "survey")
    definition = {
        "form": form_id,
        "version": version,
        "title": {"vi": title_vi, "en": title_en},
        "target": target,
        "target_types": types,
        "fields": fields,
    }
    return ParsedForm(
        form_id=form_id,
        version=version,
        target=target,
        target_types=types,
        title_vi=title_vi,
        title_en=title_en,
        definition=definition,
        definition_sha256=hashlib.sha256(_canonical(definition)).hexdigest(),
        source_name=name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
    )


def _field(child: dict[str, Any], seen: dict[str, str], fail) -> dict[str, Any]:
    name = child["name"]
    kind = _TYPES.get(child.get("type", ""))
    if kind is None:
        raise fail(
            f"question type {child.get('type')!r} is not supported by the field validators "
            f"(supported: {', '.join(_TYPES)}; no groups, repeats or calculations)",
            "survey",
            name,
            "type",
        )
    bind = child.get("bind", {}) or {}
    for key in _UNSUPPORTED_BIND:
        if key in bind:
            raise fail(f"{key} is not supported by the field validators", "survey", name, key)
    if child.get("choice_filter"):
        raise fail("choice_filter is not supported by the field validators", "survey", name, "choice_filter")
    required = str(bind.get("required", "")).strip().lower()
    if required not in _TRUE + _FALSE:
        raise fail("required must be yes or no (expressions are not supported)", "survey", name, "required")
    field: dict[str, Any] = {
        "name": name,
        "type": kind,
        "label": _languages(child.get("label")),
        "required": required in _TRUE and kind != "note",
    }
    if child.get("hint"):
        field["hint"] = _languages(child["hint"])
    if kind.startswith("select"):
        field["choices"] = [
            {"name": str(c["name"]), "label": _languages(c.get("label"))} for c in child.get("choices", [])
        ]
    # a warning is a constraint at warning level: the same subset, confirmed rather than refused
    expressions = {
        "constraint": bind.get("constraint"),
        "relevant": bind.get("relevant"),
        "warning": child.get("warning"),
    }
    for key, expr in expressions.items():
        if not expr:
            continue
        try:
            conditions = parse_condition(str(expr), "relevant" if key == "relevant" else "constraint")
        except ExpressionError as exc:
            raise fail(f"{key} {expr!r}: {exc}", "survey", name, key) from exc
        for c in conditions:
            ref_type = kind if c["ref"] == "." else seen.get(c["ref"])
            if ref_type is None:
                raise fail(f"{key} refers to ${{{c['ref']}}}, which is not an earlier question", "survey", name, key)
            problem = _mismatch(c, ref_type)
            if problem:
                raise fail(f"{key} {expr!r}: {problem}", "survey", name, key)
        field[key] = {"expr": str(expr), "all": conditions}
    if bind.get("jr:constraintMsg"):
        field["constraint_message"] = _languages(bind["jr:constraintMsg"])
    if child.get("warning_message"):
        field["warning_message"] = _languages(child["warning_message"])
    appearance = (child.get("control") or {}).get("appearance")
    if appearance:
        if appearance not in APPEARANCES.get(kind, ()):
            raise fail(
                f"appearance {appearance!r} is not one the field app knows for {kind} "
                f"({', '.join(APPEARANCES.get(kind, ())) or 'none'})",
                "survey",
                name,
                "appearance",
            )
        field["appearance"] = appearance
    return field


def _mismatch(cond: dict[str, Any], ref_type: str) -> str | None:
    """A condition that could never be true as written (a number against text and the like)."""
    op, value = cond["op"], cond["value"]
    numeric = ref_type in ("integer", "decimal")
    if op == "selected":
        return None if ref_type.startswith("select") else "selected() needs a select question"
    if op == "regex":
        return None if ref_type in ("text", "date") else "regex() needs a text question"
    if isinstance(value, str) and numeric:
        return "compares a number question with text"
    if not isinstance(value, str) and not numeric:
        return f"compares a {ref_type} question with a number"
    if ref_type == "select_multiple":
        return "use selected() for a select_multiple question"
    return None


def _pyxform_error(name: str, message: str, where: _Locator) -> FormLoadError:
    row = re.search(r"\[row\s*:\s*(\d+)\]", message)
    sheet = re.search(r"'(survey|choices|settings)' sheet", message)
    column = re.search(r"the '([\w:]+)' value", message)
    text = re.sub(r"^\[row\s*:\s*\d+\]\s*", "", message)
    s = sheet.group(1) if sheet else ("survey" if row else None)
    return FormLoadError(
        name, text, s, int(row.group(1)) if row else None, where.column(s, column.group(1)) if s and column else None
    )


# ----------------------------------------------------------------------------- storing
def stored_source(store: Path, source_sha256: str) -> Path:
    """Where the XLSForm file of a loaded version is kept (named by its SHA-256, like the rasters' COGs)."""
    return store / f"{source_sha256}.xlsx"


def load_form(session: Session, path: Path, store: Path | None = None) -> LoadOutcome:
    """Store one XLSForm as a new version unless its definition is already stored; with ``store``, the
    file of a new version is kept there too (``stored_source``), so each version can be downloaded."""
    parsed = parse_xlsform(path)
    same_version = session.scalar(
        select(FormDefinition).where(FormDefinition.form_id == parsed.form_id, FormDefinition.version == parsed.version)
    )
    if same_version is not None:
        if same_version.definition_sha256 == parsed.definition_sha256:
            return LoadOutcome(parsed.form_id, parsed.version, "unchanged", parsed.source_name)
        raise FormLoadError(
            parsed.source_name,
            f"the form changed but version {parsed.version} is already loaded; give the changed form a new version",
            "settings",
            2,
            "version",
        )
    latest = session.scalar(
        select(FormDefinition)
        .where(FormDefinition.form_id == parsed.form_id)
        .order_by(FormDefinition.id.desc())
        .limit(1)
    )
    if latest is not None and latest.definition_sha256 == parsed.definition_sha256:
        return LoadOutcome(parsed.form_id, latest.version, "unchanged", parsed.source_name)
    session.add(
        FormDefinition(
            form_id=parsed.form_id,
            version=parsed.version,
            target=parsed.target,
            target_types=parsed.target_types,
            title_vi=parsed.title_vi,
            title_en=parsed.title_en,
            definition=parsed.definition,
            definition_sha256=parsed.definition_sha256,
            source_name=parsed.source_name,
            source_sha256=parsed.source_sha256,
        )
    )
    session.flush()
    if store is not None:
        kept = stored_source(store, parsed.source_sha256)
        if not kept.exists():
            store.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_suffix(".part")
            shutil.copyfile(path, tmp)
            tmp.replace(kept)  # whole or absent: a reader never sees half a file
    return LoadOutcome(parsed.form_id, parsed.version, "added", parsed.source_name)


def load_forms(session: Session, directory: Path = FORMS_DIR, store: Path | None = None) -> list[LoadOutcome]:
    """Every XLSForm (*.xlsx) of a directory, in name order."""
    paths = sorted(p for p in Path(directory).glob("*.xlsx") if not p.name.startswith("~$"))
    if not paths:
        raise IngestError(f"{directory}: no XLSForm (.xlsx) files")
    return [load_form(session, p, store) for p in paths]
