"""Visits exported from KoboToolbox or ODK Central (CSV or XLSX) against our forms (``forms/``).

Each row becomes the body a phone would send to ``/api/field/visits`` and goes through the same
code (:func:`ingest.visits.sync_batch`): the form's validator, the target's scope, the pass-on
ledger. Only what the export's own layout needs is translated here:

* group prefixes go (``grp_herd/births_female`` or ``grp_herd-births_female`` → ``births_female``);
* the visit id is the submission's instance id (``meta/instanceID``, ``_uuid``, ``KEY``: ``uuid:…``);
* the time is ``end`` (else ``start``, ``_submission_time``, ``SubmissionDate``), in the
  programme's time zone when it carries no offset;
* a geopoint is its ``…latitude``/``…longitude``/``…precision`` columns, or one "lat lon alt acc" cell;
* a multiple choice is one cell "a b c", or Kobo's one 0/1 column per choice (``vaccinations/fmd``);
* the form is the loaded one (for the target's kind) whose fields the columns match best; the
  target is the ``model``, ``work`` or ``water_scheme`` column (a code).

The same export again changes nothing (a visit's id is its key); a row whose id is stored with
other answers is reported, not overwritten.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.headers import fold
from ingest.importing import Importer, ImportOptions, ImportReport, Problem, Progress, reason_of, register
from ingest.readers import read_table
from ingest.tabular import Field
from spatial import N_, Message
from spatial.accounts import Principal

ID_COLUMNS = ("meta/instanceid", "instanceid", "_uuid", "key", "meta-instanceid", "id")
TIME_COLUMNS = ("end", "start", "visited_at", "_submission_time", "submissiondate", "today")
TARGET_COLUMNS = {
    "model": ("model", "model_code", "ma mo hinh"),
    "work": ("work", "work_code", "ma cong trinh"),
    "water_scheme": ("water_scheme", "scheme", "scheme_code", "ma cong trinh nuoc"),
}
KIND_OF_TARGET = {"model": "livelihood_model", "work": "infrastructure_work", "water_scheme": "water_scheme"}
BATCH = 500


@dataclass(frozen=True)
class ExportLayout:
    """Where an export keeps what a visit body needs: column indices (None: absent), the form."""

    columns: list[str]
    form: dict[str, Any]
    fields: dict[str, dict[str, Any]]
    target_key: str
    target_col: int
    id_col: int | None
    time_col: int
    lat: int | None
    lon: int | None
    acc: int | None
    point: int | None
    #: column -> (field, the choice of a one-column-per-choice multiple choice, or None)
    answer_cols: dict[int, tuple[str, str | None]]
    zone: ZoneInfo


def _leaf(header: str) -> str:
    """A column's field name without its group path."""
    return re.split(r"[/-]", header.strip())[-1].strip().lower()


@register
class VisitImporter(Importer):
    layer = "visits"
    title = "Visits (KoboToolbox or ODK export)"
    formats = ("csv", "xlsx")
    roles = ("admin", "planner", "extension_worker")

    def load(
        self,
        session: Session,
        path: Path,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None = None,
    ) -> None:
        from ingest.visits import InvalidVisit, VisitConflict, VisitForbidden, sync_batch

        zone = ZoneInfo(options.extra.get("timezone", "Asia/Ho_Chi_Minh"))
        tables = read_table(path, report.filename, report.format, sheet=options.sheet, encoding=options.encoding)
        try:
            for table in tables:
                columns = [c.strip() for c in table.columns]
                lowered = [c.lower() for c in columns]
                target_key, target_col = self._target(columns)
                if target_col is None:
                    report.problems.append(
                        Problem(None, "model", None, N_("no target column: model, work or water_scheme (a code)"))
                    )
                    return
                form = self._form(session, columns, KIND_OF_TARGET[target_key], report)
                if form is None:
                    return
                fields = {f["name"]: f for f in form["fields"] if f["type"] != "note"}
                id_col = next((lowered.index(c) for c in ID_COLUMNS if c in lowered), None)
                time_col = next((lowered.index(c) for c in TIME_COLUMNS if c in lowered), None)
                if time_col is None:
                    report.problems.append(
                        Problem(
                            None,
                            "visited_at",
                            None,
                            Message(N_("no time column ({columns})"), columns=", ".join(TIME_COLUMNS)),
                        )
                    )
                    return
                lat = next((i for i, c in enumerate(lowered) if c.endswith("latitude")), None)
                lon = next((i for i, c in enumerate(lowered) if c.endswith("longitude")), None)
                acc = next((i for i, c in enumerate(lowered) if c.endswith(("precision", "accuracy"))), None)
                point = next(
                    (i for i, c in enumerate(columns) if _leaf(c) in ("location", "gps", "_geolocation")), None
                )
                used = {target_col, id_col, time_col, lat, lon, acc, point}
                answer_cols: dict[int, tuple[str, str | None]] = {}
                for i, c in enumerate(columns):
                    leaf = _leaf(c)
                    parts = re.split(r"[/-]", c.strip())
                    if leaf in fields:
                        answer_cols[i] = (leaf, None)
                    elif len(parts) >= 2 and parts[-2].strip().lower() in fields:
                        answer_cols[i] = (parts[-2].strip().lower(), parts[-1].strip())  # one column per choice
                ignored = [
                    columns[i]
                    for i in range(len(columns))
                    if i not in used and i not in answer_cols and not columns[i].startswith("_")
                ]
                if ignored:
                    report.notes.append(
                        Message(
                            N_("columns not read (no field of {form}): {columns}"),
                            form=form["form_id"],
                            columns=", ".join(ignored),
                        )
                    )
                layout = ExportLayout(
                    columns,
                    form,
                    fields,
                    target_key,
                    target_col,
                    id_col,
                    time_col,
                    lat,
                    lon,
                    acc,
                    point,
                    answer_cols,
                    zone,
                )
                bodies: list[tuple[int, dict[str, Any]]] = []
                count = 0
                for number, cells, _wkb in table.rows:
                    count += 1
                    body, problem = self._body(number, cells, layout)
                    if problem is not None:
                        report.problems.append(problem)
                        continue
                    bodies.append((number, body))
                    if len(bodies) >= BATCH:
                        self._send(
                            session, who, bodies, report, sync_batch, (InvalidVisit, VisitConflict, VisitForbidden)
                        )
                        bodies = []
                        if progress:
                            progress("reading", count)
                if bodies:
                    self._send(session, who, bodies, report, sync_batch, (InvalidVisit, VisitConflict, VisitForbidden))
                report.rows = count
                report.notes.append(
                    Message(
                        N_("form {form} version {version}, target column '{column}'"),
                        form=form["form_id"],
                        version=form["version"],
                        column=columns[target_col],
                    )
                )
                if count == 0:
                    report.problems.append(
                        Problem(None, None, None, N_("no data rows: the file has a header and nothing under it"))
                    )
        finally:
            tables.close()

    @staticmethod
    def _target(columns: list[str]) -> tuple[str, int | None]:
        for key, names in TARGET_COLUMNS.items():
            for i, c in enumerate(columns):
                if fold(_leaf(c)).replace(" ", "_") in names or fold(c) in names:
                    return key, i
        return "model", None

    @staticmethod
    def _form(session: Session, columns: list[str], target: str, report: ImportReport) -> dict[str, Any] | None:
        rows = session.execute(
            text("""SELECT DISTINCT ON (form_id) form_id, version, definition FROM form_definitions
                    WHERE target = :t ORDER BY form_id, version DESC"""),
            {"t": target},
        ).all()
        leaves = {_leaf(c) for c in columns} | {
            re.split(r"[/-]", c)[-2].strip().lower() for c in columns if re.search(r"[/-]", c)
        }
        best, best_score = None, 0
        for form_id, version, definition in rows:
            names = {f["name"] for f in definition["fields"] if f["type"] != "note"}
            score = len(names & leaves) - len(
                [
                    f
                    for f in definition["fields"]
                    if f.get("required") and f["name"] not in leaves and not f.get("relevant")
                ]
            )
            if score > best_score:
                best, best_score = {"form_id": form_id, "version": version, **definition}, score
        if best is None:
            report.problems.append(
                Problem(
                    None,
                    None,
                    None,
                    Message(N_("the columns match no loaded {kind} form (sinhke forms list)"), kind=target),
                )
            )
        return best

    @staticmethod
    def _body(number: int, cells: list[Any], layout: ExportLayout) -> tuple[dict[str, Any], Problem | None]:
        (columns, form, fields, target_key, target_col, id_col, time_col, lat, lon, acc, point, answer_cols, zone) = (
            getattr(layout, n) for n in ExportLayout.__dataclass_fields__
        )

        def cell(i: int | None) -> Any:
            if i is None or i >= len(cells):
                return None
            v = cells[i]
            return None if v is None or (isinstance(v, str) and not v.strip()) else v

        raw_id = cell(id_col)
        if raw_id is None:
            basis = "|".join(str(c) for c in cells)
            visit_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sinhke-visit:{form['form_id']}:{basis}"))
        else:
            try:
                visit_id = str(uuid.UUID(str(raw_id).removeprefix("uuid:")))
            except ValueError:
                return {}, Problem(number, columns[id_col], str(raw_id), N_("not a submission id (uuid:…)"))
        when = cell(time_col)
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when.strip().replace(" ", "T", 1))
            except ValueError:
                return {}, Problem(number, columns[time_col], when, N_("not a date-time (ISO 8601)"))
        if isinstance(when, date) and not isinstance(when, datetime):
            when = datetime(when.year, when.month, when.day, 12)
        if not isinstance(when, datetime):
            return {}, Problem(
                number, columns[time_col], None if when is None else str(when), N_("required, but empty")
            )
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
        answers: dict[str, Any] = {}
        for i, (name, choice) in answer_cols.items():
            value = cell(i)
            if value is None:
                continue
            field = fields[name]
            if choice is not None:
                if str(value).strip() in ("1", "1.0", "True", "true") and field["type"] == "select_multiple":
                    answers.setdefault(name, []).append(choice)
                continue
            try:
                answers[name] = _answer(field, value)
            except ValueError as exc:
                return {}, Problem(number, columns[i], str(value), reason_of(exc))
        body: dict[str, Any] = {
            "id": visit_id,
            target_key: str(cell(target_col) or "").strip() or None,
            "visited_at": when.isoformat(),
            "form": form["form_id"],
            "form_version": form["version"],
            "answers": answers,
        }
        la, lo, ac = cell(lat), cell(lon), cell(acc)
        if (la is None or lo is None) and cell(point) is not None:
            parts = str(cell(point)).split()
            if len(parts) >= 2:
                la, lo = parts[0], parts[1]
                ac = parts[3] if len(parts) >= 4 else ac
        if la is not None and lo is not None:
            try:
                body["location"] = {"type": "Point", "coordinates": [float(lo), float(la)]}
                if ac is not None:
                    body["accuracy_m"] = float(ac)
            except ValueError:
                return {}, Problem(number, "location", f"{la} {lo}", N_("not a geopoint (latitude longitude)"))
        return body, None

    @staticmethod
    def _send(session, who, bodies, report, sync_batch, errors) -> None:
        results = sync_batch(session, who, [b for _, b in bodies])
        for (number, _body), outcome in zip(bodies, results, strict=True):
            if isinstance(outcome, errors):
                for e in getattr(outcome, "errors", None) or [{"field": None, "message": str(outcome)}]:
                    name = (e.get("field") or "").removeprefix("answers.") or None
                    report.problems.append(Problem(number, name, None, e.get("message", str(outcome))))
            elif outcome.status == "created":
                report.inserted += 1
            else:
                report.unchanged += 1


def _answer(field: dict[str, Any], value: Any) -> Any:
    """A cell of the export as the form's validator expects the answer."""
    t = field["type"]
    if t == "integer":
        return Field(field["name"], "int").parse(value)  # 1.500.000 and 1,500,000 too
    if t == "decimal":
        return Field(field["name"], "float").parse(value)
    if t == "select_multiple":
        return str(value).split()
    if t == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return str(value).strip()[:10]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
