"""The import framework: one base class, one registry keyed by (layer, format), one report.

Every file that enters the platform goes through here: ``sinhke import LAYER FILE``, the upload
page and the raster catalogue alike.

How to add an importer
----------------------
Subclass :class:`Importer` (anything) or :class:`TableImporter` (rows of a table into one
PostGIS table: CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile for free), give it a ``layer``
name and the ``formats`` it reads, and decorate it with :func:`register`::

    @register
    class TargetImporter(TableImporter):
        layer = "targets"
        title = "Commune targets"
        table = "commune_targets"
        key = ("commune_id", "year")
        fields = (Field("commune", "commune", required=True, aliases=("Xã", "Mã xã")), ...)

``importer_for(layer, fmt)`` finds it; ``run_import(session, layer, path, ...)`` sniffs the
format from the file's content, runs it, and records the import in the ``imports`` table.

What every importer promises
----------------------------
* **All or nothing**: the caller's transaction holds everything; an importer never commits.
  A file with any invalid row is refused whole (nothing written) unless ``skip_invalid``.
* **A full report**: every problem, with the 1-based data row (or feature) number, the field,
  the value and the reason (:class:`Problem`); notes say what was converted or ignored.
* **Idempotent**: rows are upserted on a natural key; a row equal to the stored one is not
  touched (its ``updated_at`` stays), so importing the same file again changes nothing.
* **Scoped**: a non-admin's rows outside their 2025 communes are rejected with a reason.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar, TextIO

from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.readers import ImportFileError, sniff
from spatial import N_, Message, ParameterError, stored_text
from spatial.accounts import Principal

#: the formats ingest.readers turns into tables
TABLE_FORMATS = ("csv", "xlsx", "geojson", "gpkg", "shapefile")
#: problems kept in the ``imports`` row (the report printed and downloaded right away has them all)
MAX_STORED_PROBLEMS = 10_000
#: what an importer says as it goes: (phase, rows read so far); phases: reading, checking, writing
Progress = Callable[[str, int], None]
PHASES = ("queued", "reading", "checking", "writing")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row (``row`` 1-based, as a spreadsheet user counts data rows;
    None for the file as a whole). ``repaired``: fixed on the way in, reported, not refused."""

    row: int | None
    field: str | None
    value: str | None
    reason: str
    repaired: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "reason": str(self.reason),
            "repaired": self.repaired,
        }
        if isinstance(self.reason, Message):  # what translates it on a page
            out["msgid"], out["args"] = self.reason.msgid, self.reason.args
            if self.reason.texts:
                out["texts"] = self.reason.texts
        return out


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    skip_invalid: bool = False
    #: file column header -> field name (the ``--mapping`` file)
    mapping: dict[str, str] = field(default_factory=dict)
    #: CRS of coordinates the file does not declare (or overrides): EPSG code, name or PROJ string
    crs: str | None = None
    #: text encoding of the whole file (utf-8, cp1258, tcvn3, vni); detected per column if None
    encoding: str | None = None
    sheet: str | None = None
    #: for importers that need more (the raster catalogue's hazard, scenario …)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dry_run": self.dry_run, "skip_invalid": self.skip_invalid}
        for name in ("crs", "encoding", "sheet"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.mapping:
            out["mapping"] = self.mapping
        return out


@dataclass
class ImportReport:
    """What an import did, or would have done (dry run), or why it refused the file."""

    layer: str
    filename: str
    format: str
    sha256: str
    size_bytes: int
    status: str = "imported"  # imported | refused | dry_run
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration_ms: int = 0
    import_id: int | None = None
    #: what the importer made, for its own callers (the raster catalogue's row and whether it is new)
    result: Any = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]

    @property
    def refused(self) -> bool:
        return self.status == "refused"

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "layer": self.layer,
            "filename": self.filename,
            "format": self.format,
            "sha256": self.sha256,
            "status": self.status,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "problems": [p.as_dict() for p in self.problems],
            "notes": [str(n) for n in self.notes],
            "duration_ms": self.duration_ms,
        }


def problems_csv(
    problems: Iterable[Problem | dict[str, Any]], reason: Callable[[dict[str, Any]], str] | None = None
) -> bytes:
    """The validation report as CSV (UTF-8 with a BOM for Excel): row, field, value, reason, repaired;
    ``reason`` says a problem's reason in the reader's language (the page's download), else English."""
    from spatial.exports import to_csv

    rows = []
    for p in problems:
        d = p.as_dict() if isinstance(p, Problem) else p
        said = reason(d) if reason else d["reason"]
        rows.append([d["row"], d["field"], d["value"], said, "yes" if d.get("repaired") else ""])
    return to_csv(["row", "field", "value", "reason", "repaired"], rows)


def reason_of(exc: BaseException) -> str:
    """An exception's reason as raised: its :class:`spatial.Message` (which a page translates),
    else its text."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, str) else str(exc)


# ----------------------------------------------------------------------------- the base class and registry
class Importer:
    """Brings one file into one layer. Subclasses set ``layer``, ``title``, ``formats`` and
    implement :meth:`load`; they never commit (the caller's transaction is the import's)."""

    layer: ClassVar[str]
    title: ClassVar[str]
    formats: ClassVar[tuple[str, ...]]
    #: roles that may run this importer from the upload page (the CLI is the operator's)
    roles: ClassVar[tuple[str, ...]] = ("admin", "planner")

    def load(
        self,
        session: Session,
        path: Path,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None = None,
    ) -> None:
        """Read ``path`` (its format is ``report.format``), write it in ``session``, fill ``report``:
        its counts, problems and notes. Raise :class:`ImportFileError` for a file unreadable as a whole."""
        raise NotImplementedError


REGISTRY: dict[tuple[str, str], type[Importer]] = {}


def register(cls: type[Importer]) -> type[Importer]:
    """Class decorator: the importer serves ``(cls.layer, fmt)`` for each of its formats."""
    for fmt in cls.formats:
        if (cls.layer, fmt) in REGISTRY:
            raise ValueError(f"two importers for {cls.layer}/{fmt}")
        REGISTRY[(cls.layer, fmt)] = cls
    return cls


#: the modules whose importers register themselves with :func:`register` when imported; named
#: here, not imported, so the registry does not import its plug-ins back (as jobs.registry names
#: its jobs' targets)
IMPORTER_MODULES = ("ingest.layer_importers", "ingest.raster", "ingest.visit_import", "ingest.planning_xlsx")


def _load_importers() -> None:
    for module in IMPORTER_MODULES:
        import_module(module)


def layers() -> list[str]:
    """Every layer something can be imported into, in the registry's order."""
    _load_importers()
    return list(dict.fromkeys(layer for layer, _ in REGISTRY))


def formats_of(layer: str) -> list[str]:
    _load_importers()
    return [fmt for lay, fmt in REGISTRY if lay == layer]


def importer_for(layer: str, fmt: str) -> Importer:
    _load_importers()
    if layer not in layers():
        raise ParameterError("layer", f"nothing imports into {layer!r}", layers())
    cls = REGISTRY.get((layer, fmt))
    if cls is None:
        raise ParameterError("format", f"{layer} cannot be imported from a {fmt} file", formats_of(layer))
    return cls()


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def run_import(
    session: Session,
    layer: str,
    path: Path,
    filename: str,
    who: Principal,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    import_id: int | None = None,
) -> ImportReport:
    """Import ``path`` into ``layer`` in ``session``'s transaction and record it in ``imports``.

    Returns the report. When it is refused (any invalid row, and not ``skip_invalid``) or a dry
    run, what was written is rolled back to a savepoint and only the ``imports`` row remains,
    so the caller commits either way (a refusal is recorded too). ``filename`` is what the
    person called the file; the format comes from its content (:func:`ingest.readers.sniff`).
    ``import_id``: the ``running`` row :func:`start_import` made (an import out of the request,
    whose progress the page follows) is the one that gets the report.
    """
    options = options or ImportOptions()
    started = time.monotonic()
    if layer not in layers():
        raise ParameterError("layer", f"nothing imports into {layer!r}", layers())
    if path.is_dir():
        raise ImportFileError(filename, N_("is a folder, not a file"))
    if not path.is_file():
        raise ImportFileError(filename, N_("no such file"))
    own = formats_of(layer)
    if len(own) == 1 and own[0] not in TABLE_FORMATS:
        fmt, note = own[0], None  # an importer of one non-table format checks the content itself (rasters)
    else:
        fmt, note = sniff(path, filename)
    importer = importer_for(layer, fmt)
    if who.role not in importer.roles:
        raise ParameterError("layer", f"the {who.role} role cannot import {layer}", [r for r in importer.roles])
    sha, size = sha256_of(path)
    report = ImportReport(layer=layer, filename=filename[:255], format=fmt, sha256=sha, size_bytes=size)
    if note:
        report.notes.append(note)
    savepoint = session.begin_nested()
    try:
        importer.load(session, path, report, options, who, progress)
    except BaseException:
        savepoint.rollback()
        raise
    report.rejected = len({p.row for p in report.errors if p.row is not None})
    if report.errors and not options.skip_invalid:
        report.status = "refused"
        report.inserted = report.updated = report.unchanged = 0
        savepoint.rollback()
    elif options.dry_run:
        report.status = "dry_run"
        savepoint.rollback()
    else:
        report.status = "imported"
        savepoint.commit()
    report.duration_ms = int((time.monotonic() - started) * 1000)
    report.import_id = record_import(session, report, who, options, import_id)
    return report


def start_import(session: Session, layer: str, path: Path, filename: str, who: Principal) -> int:
    """An ``imports`` row for an import about to run in a process of its own (status ``running``,
    phase ``queued``, rows estimated from the file's size): the page polls it, the import's
    :func:`run_import` fills it. The layer and the file are checked here, so a wrong one is a 400
    in the request, not a failed run."""
    from ingest.readers import estimate_rows

    if layer not in layers():
        raise ParameterError("layer", f"nothing imports into {layer!r}", layers())
    own = formats_of(layer)
    fmt = own[0] if len(own) == 1 and own[0] not in TABLE_FORMATS else sniff(path, filename)[0]
    importer = importer_for(layer, fmt)
    if who.role not in importer.roles:
        raise ParameterError("layer", f"the {who.role} role cannot import {layer}", list(importer.roles))
    sha, size = sha256_of(path)
    row = session.execute(
        text("""INSERT INTO imports (layer, format, filename, sha256, size_bytes, user_name, user_id, status,
                                     phase, rows_estimated, progress_at)
                VALUES (:layer, :format, :filename, :sha, :size, :user_name, :user_id, 'running', 'queued',
                        :estimated, now()) RETURNING id"""),
        {
            "layer": layer,
            "format": fmt,
            "filename": filename[:255],
            "sha": sha,
            "size": size,
            "user_name": who.name,
            "user_id": who.user_id or None,
            "estimated": estimate_rows(path, fmt),
        },
    ).one()
    return int(row[0])


def set_progress(session: Session, import_id: int, phase: str, rows: int) -> None:
    """Write a running import's progress (on a connection of its own, committed at once)."""
    session.execute(
        text(
            "UPDATE imports SET phase = :phase, rows_read = :rows, progress_at = now() "
            "WHERE id = :id AND status = 'running'"
        ),
        {"id": import_id, "phase": phase, "rows": rows},
    )


#: advisory-lock namespace of running imports' processes (with the import id as the key)
ALIVE_NAMESPACE = 1_912_000_012
#: a queued import whose process has not taken its lock after this long has not started
START_GRACE_SECONDS = 60


def import_record(session: Session, import_id: int) -> Any:
    """The ``imports`` row the caller may see (row-level security), or None; a running one whose
    process died is marked failed first (:func:`check_alive`), so it is read as it now stands."""
    read = text("SELECT * FROM imports WHERE id = :i")
    row = session.execute(read, {"i": import_id}).one_or_none()
    if row is not None and not check_alive(session, row):
        row = session.execute(read, {"i": import_id}).one()
    return row


def check_alive(session: Session, row: Any) -> bool:
    """For a ``running`` row: whether its process still runs. It holds a session advisory lock
    while it lives; if the lock can be taken, the process died (killed, crashed) and, the import
    being one transaction, wrote nothing: the row is marked ``failed`` with that reason. A row
    still queued gets :data:`START_GRACE_SECONDS` to start."""
    if row.status != "running":
        return True
    if row.phase == "queued":
        young = session.execute(
            text("SELECT :at > now() - make_interval(secs => :grace)"),
            {"at": row.progress_at, "grace": START_GRACE_SECONDS},
        ).scalar_one()
        if young:
            return True
    free = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:ns, :id)"), {"ns": ALIVE_NAMESPACE, "id": row.id}
    ).scalar_one()
    if not free:
        return True
    fail_import(session, row.id, "the import's process stopped before it finished; nothing was written")
    return False


def fail_import(session: Session, import_id: int, error: str) -> None:
    session.execute(
        text(
            "UPDATE imports SET status = 'failed', error = :error, progress_at = now() "
            "WHERE id = :id AND status = 'running'"
        ),
        {"id": import_id, "error": error[:4000]},
    )


def record_import(
    session: Session, report: ImportReport, who: Principal, options: ImportOptions, import_id: int | None = None
) -> int:
    if import_id is not None:
        session.execute(
            text("""
            UPDATE imports SET format = :format, status = :status, rows = :rows, inserted = :inserted,
                   updated = :updated, unchanged = :unchanged, rejected = :rejected,
                   problems = CAST(:problems AS jsonb), problem_count = :problem_count,
                   notes = CAST(:notes AS jsonb), options = CAST(:options AS jsonb), duration_ms = :duration,
                   phase = NULL, rows_read = :rows, progress_at = clock_timestamp()
            WHERE id = :id"""),
            {**_record_values(report, who, options), "id": import_id},
        )
        return import_id
    row = session.execute(
        text("""
        INSERT INTO imports (layer, format, filename, sha256, size_bytes, user_name, user_id, status, rows,
                             inserted, updated, unchanged, rejected, problems, problem_count, notes, options,
                             duration_ms)
        VALUES (:layer, :format, :filename, :sha256, :size, :user_name, :user_id, :status, :rows, :inserted,
                :updated, :unchanged, :rejected, CAST(:problems AS jsonb), :problem_count, CAST(:notes AS jsonb),
                CAST(:options AS jsonb), :duration)
        RETURNING id"""),
        _record_values(report, who, options),
    ).one()
    return int(row[0])


def _record_values(report: ImportReport, who: Principal, options: ImportOptions) -> dict[str, Any]:
    return {
        "layer": report.layer,
        "format": report.format,
        "filename": report.filename,
        "sha256": report.sha256,
        "size": report.size_bytes,
        "user_name": who.name,
        "user_id": who.user_id or None,
        "status": report.status,
        "rows": report.rows,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "problems": _json([p.as_dict() for p in report.problems[:MAX_STORED_PROBLEMS]]),
        "problem_count": len(report.problems),
        "notes": _json([stored_text(n) for n in report.notes]),
        "options": _json(options.as_dict()),
        "duration": report.duration_ms,
    }


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def print_report(report: ImportReport, out: TextIO, *, limit: int | None = None) -> None:
    """The report as people read it on a terminal: a summary line, notes, then every problem."""
    verb = {"imported": "imported", "refused": "REFUSED", "dry_run": "dry run (nothing written)"}[report.status]
    out.write(
        f"{report.filename} → {report.layer} ({report.format}): {verb}; {report.rows} rows: "
        f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected} rejected\n"
    )
    for note in report.notes:
        out.write(f"  note: {note}\n")
    shown = report.problems if limit is None else report.problems[:limit]
    if shown:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["row", "field", "value", "reason", "repaired"])
        for p in shown:
            writer.writerow(
                [
                    p.row if p.row is not None else "",
                    p.field or "",
                    p.value or "",
                    p.reason,
                    "yes" if p.repaired else "",
                ]
            )
    if limit is not None and len(report.problems) > limit:
        out.write(f"  … and {len(report.problems) - limit} more problems\n")
    if report.refused:
        out.write(
            f"refused: {len(report.errors)} problems in {report.rejected} rows; nothing was written "
            "(fix the file, or --skip-invalid to store the valid rows)\n"
        )


def report_from_row(row: Any) -> dict[str, Any]:
    """An ``imports`` row as the page and the API show it."""
    return {
        "id": row.id,
        "layer": row.layer,
        "format": row.format,
        "filename": row.filename,
        "sha256": row.sha256,
        "user_name": row.user_name,
        "status": row.status,
        "rows": row.rows,
        "inserted": row.inserted,
        "updated": row.updated,
        "unchanged": row.unchanged,
        "rejected": row.rejected,
        "problems": row.problems,
        "problem_count": row.problem_count,
        "notes": row.notes,
        "started_at": row.started_at,
        "duration_ms": row.duration_ms,
        "phase": row.phase,
        "rows_read": row.rows_read,
        "rows_estimated": row.rows_estimated,
        "error": row.error,
    }


__all__ = [
    "REGISTRY",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "Problem",
    "importer_for",
    "layers",
    "print_report",
    "problems_csv",
    "register",
    "run_import",
    "start_import",
]
