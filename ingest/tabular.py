"""Rows of a table into one PostGIS table: :class:`TableImporter`, the base of every layer importer.

A subclass declares its fields (:class:`Field`: kind, whether required, the headers it goes by),
its natural key and its geometry; this class does the rest, for every tabular and vector format:

1. read the file (:mod:`ingest.readers`), match headers (:mod:`ingest.headers`), convert legacy
   text per column (:mod:`ingest.vntext`);
2. parse and check each row in Python (types, ranges, choices; duplicates of the key inside the
   file), reproject its geometry to WGS 84 (:mod:`spatial.vn2000`), repairing only what is
   unambiguous (swapped lon/lat, a one-point multipoint) and reporting it;
3. COPY the good rows into a temporary staging table; check in SQL what needs the database
   (commune and village codes, inside the province, the importer's scope, codes of rows the
   importer may not see);
4. upsert from staging in one statement: ``ON CONFLICT (key) DO UPDATE … WHERE`` something
   differs, so an unchanged row is not touched (its ``updated_at`` and audit trail stay) and the
   counts say inserted / updated / unchanged.

Everything happens in the caller's transaction (:func:`ingest.importing.run_import` puts it
in a savepoint, rolled back when the file is refused or it is a dry run).
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest import fastpath, vntext
from ingest.headers import fold, match_columns
from ingest.importing import Importer, ImportFileError, ImportOptions, ImportReport, Problem, Progress, reason_of
from ingest.readers import SourceTable, read_table
from spatial import N_, Message, ParameterError
from spatial.accounts import Principal
from spatial.db import driver_connection, rowcount

BATCH = 5000
#: Vietnam, roughly: a point whose "longitude" falls in the latitude range and vice versa is swapped
VN_LON = (101.0, 110.5)
VN_LAT = (7.5, 24.0)

KINDS = ("text", "int", "money", "float", "date", "bool", "choice", "year", "codes")
SQL_TYPES = {**fastpath.SQL_TYPE, "codes": "text[]"}


@dataclass(frozen=True)
class Field:
    """One field of a layer as a file gives it.

    ``name`` is the field (and, unless ``column`` says otherwise, the table column); ``aliases``
    the headers it goes by besides its name; ``choices`` maps what people write (folded, see
    :func:`ingest.headers.fold`) to the stored value; ``column=""`` for a field the importer
    resolves itself (a commune code becomes ``commune_id``)."""

    name: str
    kind: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    choices: dict[str, str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    column: str | None = None
    #: a value used when the column is missing or the cell empty (a callable gets the importer's context)
    default: Any = None

    @property
    def target(self) -> str:
        return self.name if self.column is None else self.column

    def parse(self, raw: Any) -> Any:
        """The value as stored, or ValueError with the reason (None for an empty cell)."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return _PARSERS[self.kind](self, raw)


def _text(f: Field, raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = unicodedata.normalize("NFC", str(raw).strip())
    value = re.sub(r"\s+", " ", value)
    if f.max_length and len(value) > f.max_length:
        raise ValueError(Message(N_("longer than {n} characters"), n=f.max_length))
    return value


def _number_text(raw: Any) -> str:
    s = str(raw).strip().replace("\u00a0", "").replace(" ", "")
    return re.sub(r"(?i)(vnd|vnđ|đồng|dong|đ)$", "", s)


def _int(f: Field, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(N_("not a whole number"))
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(N_("not a whole number"))
        value = int(raw)
    else:
        s = _number_text(raw)
        if re.fullmatch(r"-?\d{1,3}([.,]\d{3})+", s) and (s.count(".") == 0 or s.count(",") == 0):
            s = s.replace(".", "").replace(",", "")  # 1.500.000 or 1,500,000
        elif re.fullmatch(r"-?\d+[.,]0+", s):
            s = re.split(r"[.,]", s)[0]
        if not re.fullmatch(r"-?\d+", s):
            raise ValueError(N_("not a whole number"))
        value = int(s)
    _range(f, value)
    return value


def _float(f: Field, raw: Any) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        s = _number_text(raw)
        if s.count(",") == 1 and "." not in s:
            s = s.replace(",", ".")  # 12,5: the Vietnamese decimal comma
        try:
            value = float(s)
        except ValueError:
            raise ValueError(N_("not a number")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(N_("not a number"))
    _range(f, value)
    return value


def _range(f: Field, value: float) -> None:
    if f.minimum is not None and value < f.minimum:
        raise ValueError(Message(N_("less than {minimum}"), minimum=f"{f.minimum:g}"))
    if f.maximum is not None and value > f.maximum:
        raise ValueError(Message(N_("more than {maximum}"), maximum=f"{f.maximum:g}"))


def _date(f: Field, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    s = str(raw).strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", s)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", s)
        if m:  # Vietnamese order: day/month/year
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        raise ValueError(N_("no such date")) from None
    raise ValueError(N_("not a date (YYYY-MM-DD or DD/MM/YYYY)"))


def _year(f: Field, raw: Any) -> int:
    value = _int(Field(f.name, "int"), raw)
    if not 1900 <= value <= 2100:
        raise ValueError(N_("not a year"))
    _range(f, value)
    return value


_TRUE = {"1", "x", "true", "yes", "y", "co", "dung", "t", "v"}
_FALSE = {"0", "false", "no", "n", "khong", "sai", "f", "-"}


def _bool(f: Field, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    key = fold(str(raw))
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(N_("not yes/no (có/không, 1/0, x)"))


def _choice(f: Field, raw: Any) -> str:
    key = fold(str(raw))
    choices = f.choices or {}
    for stored in set(choices.values()):
        if key == fold(stored):
            return stored
    if key in choices:
        return choices[key]
    raise ValueError(Message(N_("not one of {choices}"), choices=", ".join(sorted(set(choices.values())))))


def _codes(f: Field, raw: Any) -> list[str]:
    parts = [p.strip() for p in re.split(r"[;,\n]", str(raw)) if p.strip()]
    return list(dict.fromkeys(parts))


_PARSERS: dict[str, Callable[[Field, Any], Any]] = {
    "text": _text,
    "int": _int,
    "money": lambda f, raw: _int(
        Field(f.name, "int", minimum=0 if f.minimum is None else f.minimum, maximum=f.maximum), raw
    ),
    "float": _float,
    "date": _date,
    "bool": _bool,
    "choice": _choice,
    "year": _year,
    "codes": _codes,
}

#: geometry columns of CSV and XLSX files
LON = Field("lon", "float", aliases=("longitude", "lng", "long", "x", "kinh độ", "kinh do", "toạ độ x", "tọa độ x"))
LAT = Field("lat", "float", aliases=("latitude", "y", "vĩ độ", "vi do", "toạ độ y", "tọa độ y"))
WKT = Field("wkt", "text", aliases=("geometry", "geom", "the_geom", "hình học"))
COMMUNE_ALIASES = (
    "xã",
    "mã xã",
    "ma xa",
    "xã/phường",
    "xa phuong",
    "commune",
    "commune code",
    "commune_code",
    "xã phường thị trấn",
)
VILLAGE_ALIASES = ("thôn/bản", "thôn", "bản", "thon ban", "mã thôn", "village", "village code", "thôn bản")


@dataclass
class Staged:
    """What a row became: its number, its values by field, its geometry (EWKB hex) or point."""

    row: int
    values: dict[str, Any]
    wkb: str | None = None
    lon: float | None = None
    lat: float | None = None


class TableImporter(Importer):
    """A layer whose rows are one table: CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile."""

    formats = ("csv", "xlsx", "geojson", "gpkg", "shapefile")
    #: the table written, and the field (or fields) that identify a row in it
    table: ClassVar[str]
    key: ClassVar[tuple[str, ...]] = ("code",)
    fields: ClassVar[tuple[Field, ...]]
    #: None: no geometry; "point": a point; "any": point, line or polygon; "multipolygon"
    geometry: ClassVar[str | None] = "point"
    geometry_required: ClassVar[bool] = False
    #: rows name a commune (code or name) valid at the date of this field (or today)
    commune_date_field: ClassVar[str | None] = None
    has_commune: ClassVar[bool] = True
    has_village: ClassVar[bool] = False
    #: the kind for the scope check (None: households, by their point or commune)
    scope_layer: ClassVar[str | None] = None
    #: geometries must lie in a province the installation knows (not for the provinces themselves)
    check_in_province: ClassVar[bool] = True
    #: CSV and XLSX rows go through the COPY fast path (:mod:`ingest.fastpath`) where they can
    fast_path: ClassVar[bool] = True

    # ------------------------------------------------------------------ the steps a subclass may extend
    def defaults(self, report: ImportReport) -> dict[str, Any]:
        """Values for fields the file leaves out (per import, e.g. the file name as a source)."""
        return {}

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        """Checks across fields of one parsed row: (field, value, reason) for each problem. May fill
        ``values`` with what follows from the others (a unit's area type from its type)."""
        return []

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        """SQL on the staging table before the checks (resolve codes into ids); add problems via
        :meth:`reject_where`."""

    def fast_joins(self, raw: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """For the fast path: joins on the raw staging table (``raw``: field -> its text column) and
        the staging columns they fill (column -> expression), so :meth:`resolve` has less to do."""
        return [], {}

    def after_write(self, session: Session, stg: str, report: ImportReport) -> None:
        """SQL after the upsert (link tables, placements)."""

    # ------------------------------------------------------------------ the machinery
    def load(
        self,
        session: Session,
        path: Path,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None = None,
    ) -> None:
        tables = read_table(path, report.filename, report.format, sheet=options.sheet, encoding=options.encoding)
        try:
            for table in tables:
                self._load_table(session, table, report, options, who, progress)
        finally:
            tables.close()

    def _aliases(self, table: SourceTable) -> dict[str, tuple[str, ...]]:
        aliases = {f.name: f.aliases for f in self.fields}
        if self.geometry and not table.has_geometry:
            for f in (LON, LAT, WKT):
                aliases[f.name] = f.aliases
        return aliases

    def _match(self, table: SourceTable, report: ImportReport, options: ImportOptions) -> dict[str, int]:
        aliases = self._aliases(table)
        columns = list(table.columns)
        found, unmapped, notes = match_columns(columns, aliases, options.mapping)
        # headers typed in a legacy font too: try them converted
        retry = [h for h in unmapped if not h.isascii()]
        if retry:
            for enc in ("tcvn3", "vni", "cp1258"):
                converted = [vntext.convert(h, enc) if h in retry else h for h in columns]
                f2, u2, _ = match_columns(converted, aliases, options.mapping)
                if len(f2) > len(found):
                    report.notes.append(Message(N_("headers read as {encoding}"), encoding=vntext.ENCODINGS[enc]))
                    columns, found, unmapped = converted, f2, u2
                    break
        report.notes.extend(notes)
        if unmapped:
            report.notes.append(
                Message(
                    N_("columns not imported (no field matches; name one with --mapping): {columns}"),
                    columns=", ".join(unmapped),
                )
            )
        mapped = ", ".join(f"{columns[i]} → {name}" for name, i in sorted(found.items(), key=lambda kv: kv[1]))
        if mapped:
            report.notes.append(Message(N_("columns read: {columns}"), columns=mapped))
        table.columns = columns
        return found

    def _load_table(
        self,
        session: Session,
        table: SourceTable,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None,
    ) -> None:
        report.notes.extend(table.notes)
        found = self._match(table, report, options)
        missing = [f.name for f in self.fields if f.required and f.name not in found and f.default is None]
        if missing:
            for name in missing:
                report.problems.append(
                    Problem(
                        None,
                        name,
                        None,
                        Message(
                            N_("no column for {field} (headers read: {headers})"),
                            field=name,
                            headers=", ".join(table.columns),
                        ),
                    )
                )
            return
        geometry_from: str | None = None
        if self.geometry:
            if table.has_geometry:
                geometry_from = "file"
            elif "wkt" in found:
                geometry_from = "wkt"
            elif "lon" in found and "lat" in found:
                geometry_from = "lonlat"
            elif self.geometry_required:
                report.problems.append(
                    Problem(
                        None,
                        "geometry",
                        None,
                        N_("no geometry: give lon and lat columns (kinh độ, vĩ độ) or a WKT column"),
                    )
                )
                return
        transformer, crs_label = self._crs(table, options, report, geometry_from)

        # legacy text: sample the first rows of each text column, decide, then convert as rows stream
        head = list(itertools.islice(table.rows, 2000))
        rows = itertools.chain(head, table.rows)
        text_fields = [f for f in self.fields if f.kind in ("text", "choice", "codes") and f.name in found]
        conversions = self._encodings(head, found, text_fields, table, options, report)

        defaults = self.defaults(report)
        stg = f"import_stage_{self.table}"
        self._create_stage(session, stg)
        used = self._fast_fields(found, geometry_from, transformer, defaults)
        if used is not None:
            all_text = table.csv_source is not None  # a CSV reader yields text only; XLSX cells are typed
            count = self._copy_fast(session, stg, rows, used, found, conversions, defaults, report, progress, all_text)
        else:
            count = self._copy_parsed(
                session, stg, rows, found, conversions, defaults, report, geometry_from, transformer, progress
            )
        report.rows = count
        if progress:
            progress("checking", count)
        if count == 0:
            report.problems.append(
                Problem(None, None, None, N_("no data rows: the file has a header and nothing under it"))
            )
            return
        if crs_label:
            report.notes.append(Message(N_("coordinates read in {crs} and stored in WGS 84"), crs=crs_label))
        session.execute(text(f"ANALYZE {stg}"))  # temporary tables get no statistics otherwise
        self._duplicates(session, stg, report)
        self._check_in_database(session, stg, report, who)
        if options.skip_invalid:
            bad = sorted({p.row for p in report.errors if p.row is not None})
            if bad:
                session.execute(text(f"DELETE FROM {stg} WHERE row_no = ANY(:rows)"), {"rows": bad})
        elif report.errors:
            return  # refused: nothing to write (run_import rolls back)
        if progress:
            progress("writing", count)
        self._upsert(session, stg, report)
        self.after_write(session, stg, report)
        session.execute(text(f"DROP TABLE {stg}"))

    # ---- into staging
    def _copy_parsed(
        self,
        session: Session,
        stg: str,
        rows: Iterator[tuple[int, list[Any], bytes | None]],
        found: dict[str, int],
        conversions: dict[int, str],
        defaults: dict[str, Any],
        report: ImportReport,
        geometry_from: str | None,
        transformer: Any,
        progress: Progress | None,
    ) -> int:
        """The slow path: every row parsed in Python, the good ones COPYed into staging."""
        count = 0
        with driver_connection(session).cursor() as cur:
            with cur.copy(f"COPY {stg} ({', '.join(self._stage_columns())}) FROM STDIN") as copy:
                for batch in _batches(rows, BATCH):
                    staged = self._parse_batch(batch, found, conversions, defaults, report, geometry_from, transformer)
                    for item in staged:
                        copy.write_row(self._stage_row(item))
                    count += len(batch)
                    if progress:
                        progress("reading", count)
        return count

    def _fast_fields(
        self, found: dict[str, int], geometry_from: str | None, transformer: Any, defaults: dict[str, Any]
    ) -> list[Field] | None:
        """The fields the COPY fast path stages (:mod:`ingest.fastpath`), or None when this file
        takes the slow path: the importer checks rows in Python, a field is of a kind SQL does not
        parse here, or geometries need more than lon/lat in WGS 84."""
        if not self.fast_path:
            return None
        if type(self).check_row is not TableImporter.check_row or type(self)._parse_batch is not (
            TableImporter._parse_batch
        ):
            return None
        if geometry_from not in (None, "lonlat") or transformer is not None:
            return None
        if geometry_from == "lonlat" and self.geometry not in ("point", "any"):
            return None
        used = [f for f in self.fields if f.name in found]
        if any(f.kind not in fastpath.KINDS for f in used):
            return None
        if any(callable(defaults.get(f.name, f.default)) for f in self.fields):
            return None
        return used + ([LON, LAT] if geometry_from == "lonlat" else [])

    def _copy_fast(
        self,
        session: Session,
        stg: str,
        rows: Iterator[tuple[int, list[Any], bytes | None]],
        used: list[Field],
        found: dict[str, int],
        conversions: dict[int, str],
        defaults: dict[str, Any],
        report: ImportReport,
        progress: Progress | None,
        all_text: bool = False,
    ) -> int:
        """The fast path (:mod:`ingest.fastpath`): cells as text into a raw staging table by COPY,
        canonical rows typed in one ``INSERT … SELECT``, the others parsed in Python as ever."""
        raw = f"{stg}_raw"
        cols = [f"r{j}" for j in range(len(used))]
        session.execute(text(f"DROP TABLE IF EXISTS {raw}"))
        session.execute(
            text(f"CREATE TEMP TABLE {raw} (row_no integer, {', '.join(f'{c} text' for c in cols)}) ON COMMIT DROP")
        )
        idx = [found[f.name] for f in used]
        kinds = [f.kind for f in used]
        encs = [conversions.get(i) for i in idx]
        count = 0
        conn = driver_connection(session)
        # as CSV text written by the csv module a batch at a time (C speed): an empty cell and a
        # missing one both arrive as NULL, which the SQL below reads as empty, as Field.parse does
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        pick = operator.itemgetter(*idx)
        with conn.cursor() as cur, cur.copy(f"COPY {raw} (row_no, {', '.join(cols)}) FROM STDIN (FORMAT csv)") as copy:
            for batch in _batches(rows, BATCH):
                if all_text and not any(encs) and len(idx) > 1:  # CSV: every cell is text already
                    writer.writerows([(n, *pick(cells)) for n, cells, _w in batch])
                else:
                    for n, cells, _w in batch:
                        out: list[Any] = [n]
                        for i, kind, enc in zip(idx, kinds, encs, strict=True):
                            v = cells[i] if i < len(cells) else None
                            if v is not None and not isinstance(v, str):
                                v = fastpath.cell_text(v, kind)
                            elif enc and v:
                                v = vntext.convert(v, enc)
                            out.append(v)
                        writer.writerow(out)
                copy.write(buf.getvalue())
                buf.seek(0)
                buf.truncate()
                count += len(batch)
                if progress:
                    progress("reading", count)
        if count == 0:
            return 0
        session.execute(text(f"ANALYZE {raw}"))  # the joins below are planned for its real size
        params = fastpath.Params()
        oks: list[str] = []
        values: dict[str, str] = {}
        joins: list[str] = []
        by_name = dict(zip((f.name for f in used), cols, strict=True))
        for f in [*self.fields, *([LON, LAT] if LON in used else [])]:
            default = defaults.get(f.name, f.default)
            sql_type = SQL_TYPES[f.kind]
            dflt = f"NULL::{sql_type}" if default is None else f"CAST({params.add(default)} AS {sql_type})"
            c = by_name.get(f.name)
            if c is None:
                values[f.name] = dflt
                continue
            dates = None
            if f.kind == "date":
                dates = f"d{len(joins)}"
                joins.append(f"LEFT JOIN {fastpath.DATES} {dates} ON {dates}.s = {c}")
            canonical, value = fastpath.parsed(
                f.kind, c, params, choices=f.choices, lo=f.minimum, hi=f.maximum, dates=dates
            )
            if f.kind == "text" and f.max_length:
                canonical = f"({canonical} AND char_length({c}) <= {int(f.max_length)})"
            empty = f"({c} IS NULL OR {c} = '')"
            oks.append(
                f"(CASE WHEN {empty} THEN {'false' if f.required and default is None else 'true'} ELSE {canonical} END)"
            )
            values[f.name] = f"(CASE WHEN {empty} THEN {dflt} ELSE {value} END)"
        if LON in used:
            x, y = by_name["lon"], by_name["lat"]
            xe, ye = f"({x} IS NULL OR {x} = '')", f"({y} IS NULL OR {y} = '')"
            oks.append(
                f"(CASE WHEN {xe} AND {ye} THEN {'false' if self.geometry_required else 'true'} "
                f"WHEN {xe} OR {ye} THEN false "
                f"WHEN NOT ({x} ~ {params.add('^-?[0-9]{1,15}([.][0-9]{1,15})?$')} "
                f"AND {y} ~ {params.add('^-?[0-9]{1,15}([.][0-9]{1,15})?$')}) THEN false "
                f"ELSE {x}::float8 BETWEEN -180 AND 180 AND {y}::float8 BETWEEN -90 AND 90 "
                f"AND NOT ({x}::float8 BETWEEN {VN_LAT[0]} AND {VN_LAT[1]} "
                f"AND {y}::float8 BETWEEN {VN_LON[0]} AND {VN_LON[1]}) END)"
            )
        ok = " AND ".join(oks) or "true"
        names = [f.name for f in self.fields] + (["lon", "lat"] if LON in used else [])
        more_joins, more = self.fast_joins(by_name)
        joins += more_joins
        values.update(more)
        names += list(more)
        typed_rows = session.execute(
            text(
                f"INSERT INTO {stg} (row_no, {', '.join(names)}) "
                f"SELECT row_no, {', '.join(values[n] for n in names)} FROM {raw} {' '.join(joins)} WHERE {ok}"
            ),
            params.values,
        )
        typed = rowcount(typed_rows)
        if typed == count:
            session.execute(text(f"DROP TABLE {raw}"))
            return count
        # the rest: parsed in Python as the slow path parses them, for the same problems and repairs
        session.execute(
            text(
                f"DECLARE import_rest NO SCROLL CURSOR FOR SELECT row_no, {', '.join(cols)} FROM {raw} r "
                f"WHERE NOT EXISTS (SELECT FROM {stg} s WHERE s.row_no = r.row_no) ORDER BY row_no"
            )
        )
        local = {f.name: j for j, f in enumerate(used)}
        geometry_from = "lonlat" if LON in used else None
        while fetched := session.execute(text(f"FETCH {BATCH} FROM import_rest")).all():
            staged = self._parse_batch(
                [(r[0], list(r[1:]), None) for r in fetched], local, {}, defaults, report, geometry_from, None
            )
            with conn.cursor() as cur, cur.copy(f"COPY {stg} ({', '.join(self._stage_columns())}) FROM STDIN") as copy:
                for item in staged:
                    copy.write_row(self._stage_row(item))
        session.execute(text("CLOSE import_rest"))
        session.execute(text(f"DROP TABLE {raw}"))
        return count

    def _duplicates(self, session: Session, stg: str, report: ImportReport) -> None:
        """Rows whose key an earlier row of the file has: reported and dropped from staging (found in
        SQL, so memory stays flat however many rows the file has)."""
        keys = ", ".join(self.key)
        # most files have none: a hash aggregate finds that faster than numbering every row
        if not session.execute(
            text(f"SELECT EXISTS (SELECT FROM {stg} GROUP BY {keys} HAVING count(*) > 1)")
        ).scalar_one():
            return
        dups = session.execute(
            text(f"""DELETE FROM {stg} s USING (
                       SELECT row_no, min(row_no) OVER (PARTITION BY {keys}) AS first FROM {stg}) d
                     WHERE d.row_no = s.row_no AND d.first <> s.row_no
                     RETURNING s.row_no, d.first, concat_ws('/', {", ".join(f"s.{k}" for k in self.key)})""")
        ).all()
        for row_no, first, value in sorted(dups):
            report.problems.append(
                Problem(
                    row_no, "/".join(self.key), value, Message(N_("duplicate: the same key as row {row}"), row=first)
                )
            )

    # ---- text
    def _encodings(
        self,
        head: list[tuple[int, list[Any], bytes | None]],
        found: dict[str, int],
        text_fields: list[Field],
        table: SourceTable,
        options: ImportOptions,
        report: ImportReport,
    ) -> dict[int, str]:
        """column index -> the encoding its text is converted from."""
        out: dict[int, str] = {}
        given = None
        if options.encoding:
            try:
                given = vntext.encoding_name(options.encoding)
            except ValueError as exc:
                raise ParameterError("encoding", str(exc)) from None
        for f in text_fields:
            i = found[f.name]
            header = table.columns[i]
            if given and given != "utf-8":
                out[i] = given
                continue
            if given == "utf-8":
                continue
            values = [str(r[1][i]) for r in head if i < len(r[1]) and isinstance(r[1][i], str)]
            candidates = ("cp1258", "tcvn3", "vni") if table.legacy_bytes else ("tcvn3", "vni")
            enc = vntext.detect_column(values, candidates)
            if enc is None and table.legacy_bytes and any(not v.isascii() for v in values):
                enc = "cp1258"  # bytes that are not UTF-8 and read as no Vietnamese font: the Windows code page
            if enc:
                out[i] = enc
                report.notes.append(
                    Message(
                        N_("column '{column}' converted from {encoding} to Unicode"),
                        column=header,
                        encoding=vntext.ENCODINGS[enc],
                    )
                )
        if given and given != "utf-8":
            report.notes.append(
                Message(N_("text columns converted from {encoding} (--encoding)"), encoding=vntext.ENCODINGS[given])
            )
        return out

    # ---- coordinates
    def _crs(self, table: SourceTable, options: ImportOptions, report: ImportReport, geometry_from: str | None):
        from spatial.vn2000 import describe, parse_crs, to_wgs84_transformer

        if not geometry_from:
            return None, None
        if options.crs:
            crs = parse_crs(options.crs)
            label = f"{options.crs} (--crs)"
            if table.crs:
                report.notes.append(Message(N_("the file's own CRS is overridden by --crs {crs}"), crs=options.crs))
        elif table.crs:
            crs = parse_crs(table.crs, parameter="crs of the file")
            label = describe(crs)
        else:
            return None, None if geometry_from != "file" else None
        transformer = to_wgs84_transformer(crs)
        return transformer, (label if transformer is not None else None)

    # ---- rows
    def _parse_batch(
        self,
        batch: list[tuple[int, list[Any], bytes | None]],
        found: dict[str, int],
        conversions: dict[int, str],
        defaults: dict[str, Any],
        report: ImportReport,
        geometry_from: str | None,
        transformer: Any,
    ) -> list[Staged]:
        out: list[Staged] = []
        geoms: list[Any] = []
        for number, cells, wkb in batch:
            values: dict[str, Any] = {}
            bad = False
            for f in self.fields:
                i = found.get(f.name)
                raw = cells[i] if i is not None and i < len(cells) else None
                if i in conversions and isinstance(raw, str):
                    raw = vntext.convert(raw, conversions[i])
                try:
                    value = f.parse(raw)
                except ValueError as exc:
                    report.problems.append(Problem(number, f.name, _show(raw), reason_of(exc)))
                    bad = True
                    continue
                if value is None:
                    value = defaults.get(f.name, f.default)
                if value is None and f.required:
                    report.problems.append(Problem(number, f.name, None, N_("required, but empty")))
                    bad = True
                values[f.name] = value
            for field_name, value, reason in [] if bad else self.check_row(values):
                report.problems.append(Problem(number, field_name, _show(value), reason))
                bad = True
            geom = None
            if geometry_from and not bad:
                geom, reason, field_name, raw_value = self._geometry(geometry_from, cells, wkb, found, number, report)
                if reason:
                    report.problems.append(Problem(number, field_name, raw_value, reason))
                    bad = True
            if bad:
                continue
            out.append(Staged(number, values))
            geoms.append(geom)
        # one reprojection for the whole batch
        arr = np.array(geoms, dtype=object)
        present = np.array([g is not None for g in geoms], dtype=bool)
        if transformer is not None and present.any():
            arr[present] = shapely.transform(
                arr[present], lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
            )
        keep: list[Staged] = []
        for item, geom in zip(out, arr, strict=True):
            if geom is not None:
                geom, problem = self._check_geometry(geom, item.row)
                if problem is not None:
                    report.problems.append(problem)
                    if not problem.repaired:
                        continue
                if geom is not None and geom.geom_type == "Point":
                    item.lon, item.lat = geom.x, geom.y
                elif geom is not None:
                    item.wkb = shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True)
            elif self.geometry_required:
                report.problems.append(Problem(item.row, "geometry", None, N_("required, but empty")))
                continue
            keep.append(item)
        return keep

    def _geometry(
        self, source: str, cells: list[Any], wkb: bytes | None, found: dict[str, int], number: int, report: ImportReport
    ):
        """(shapely geometry or None, reason or None, field, raw value) of one row, in the file's CRS."""
        if source == "file":
            if wkb is None:
                return None, None, None, None
            try:
                return shapely.force_2d(shapely.from_wkb(wkb)), None, None, None
            except shapely.errors.GEOSException as exc:
                return None, Message(N_("unreadable geometry ({error})"), error=exc), "geometry", None
        if source == "wkt":
            raw = cells[found["wkt"]]
            if raw is None or not str(raw).strip():
                return None, None, None, None
            try:
                return shapely.force_2d(shapely.from_wkt(str(raw))), None, None, None
            except shapely.errors.GEOSException as exc:
                return None, Message(N_("not WKT ({error})"), error=str(exc)[:120]), "wkt", _show(raw)
        lon_raw, lat_raw = cells[found["lon"]], cells[found["lat"]]
        if (lon_raw is None or str(lon_raw).strip() == "") and (lat_raw is None or str(lat_raw).strip() == ""):
            return None, None, None, None
        try:
            x = LON.parse(lon_raw)
        except ValueError as exc:
            return None, reason_of(exc), "lon", _show(lon_raw)
        try:
            y = LAT.parse(lat_raw)
        except ValueError as exc:
            return None, reason_of(exc), "lat", _show(lat_raw)
        if x is None or y is None:
            return None, N_("give both lon and lat, or neither"), "lon" if x is None else "lat", None
        if VN_LAT[0] <= x <= VN_LAT[1] and VN_LON[0] <= y <= VN_LON[1]:
            report.problems.append(
                Problem(
                    number,
                    "lon/lat",
                    f"{x}, {y}",
                    N_("longitude and latitude were swapped: swapped back"),
                    repaired=True,
                )
            )
            x, y = y, x
        return shapely.Point(x, y), None, None, None

    def _check_geometry(self, geom: Any, number: int) -> tuple[Any, Problem | None]:
        kind = geom.geom_type
        if geom.is_empty:
            return None, Problem(number, "geometry", None, N_("empty geometry"))
        if self.geometry == "point" and kind != "Point":
            if kind == "MultiPoint" and len(geom.geoms) == 1:
                return geom.geoms[0], Problem(
                    number, "geometry", "MultiPoint", N_("a one-point MultiPoint: stored as its point"), repaired=True
                )
            return None, Problem(number, "geometry", kind, N_("a point is expected here"))
        if self.geometry == "multipolygon":
            if kind == "Polygon":
                geom = shapely.MultiPolygon([geom])
            elif kind != "MultiPolygon":
                return None, Problem(number, "geometry", kind, N_("a polygon is expected here"))
        x0, y0, x1, y1 = geom.bounds
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            return None, Problem(
                number,
                "geometry",
                f"{x0:.6g}, {y0:.6g}",
                N_("not longitude/latitude: give --crs (e.g. 3405 or vn2000:lang_son)"),
            )
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            fixed = shapely.make_valid(geom)
            same_area = abs(shapely.area(fixed) - abs(_signed_area(geom))) <= 1e-12 + 1e-9 * shapely.area(fixed)
            if fixed.geom_type == kind and same_area:
                return fixed, Problem(
                    number, "geometry", reason, N_("invalid geometry repaired (same shape, fixed rings)"), repaired=True
                )
            return None, Problem(
                number, "geometry", reason, N_("invalid geometry: fix it in the GIS (no unambiguous repair)")
            )
        return geom, None

    # ---- staging and SQL
    def _stage_columns(self) -> list[str]:
        cols = ["row_no"] + [f.name for f in self.fields]
        if self.geometry:
            cols += ["wkb", "lon", "lat"]
        return cols

    def _create_stage(self, session: Session, stg: str) -> None:
        cols = ["row_no integer PRIMARY KEY"] + [f"{f.name} {SQL_TYPES[f.kind]}" for f in self.fields]
        if self.geometry:
            cols += ["wkb text", "lon double precision", "lat double precision", "geom geometry"]
        if self.has_commune:
            cols += ["commune_id integer"]
        if self.has_village:
            cols += ["village_id integer"]
        cols += self.extra_stage_columns()
        cols += ["stored boolean NOT NULL DEFAULT false"]  # the key names a stored row (set by _upsert)
        session.execute(text(f"DROP TABLE IF EXISTS {stg}"))
        session.execute(text(f"CREATE TEMP TABLE {stg} ({', '.join(cols)}) ON COMMIT DROP"))

    def extra_stage_columns(self) -> list[str]:
        return []

    def _stage_row(self, item: Staged) -> tuple[Any, ...]:
        row: list[Any] = [item.row] + [item.values.get(f.name) for f in self.fields]
        if self.geometry:
            row += [item.wkb, item.lon, item.lat]
        return tuple(row)

    def reject_where(
        self,
        session: Session,
        sql: str,
        params: dict[str, Any],
        field_name: str,
        reason: str,
        report: ImportReport,
        **values: object,
    ) -> None:
        """Report each staged row ``sql`` selects (``row_no``, ``value``) as a problem of ``field_name``;
        ``reason`` is a marked message that may name ``{value}`` and ``values``."""
        for row_no, value in session.execute(text(sql), params).all():
            shown = _show(value)
            report.problems.append(Problem(row_no, field_name, shown, Message(reason, value=shown or "", **values)))

    def _check_in_database(self, session: Session, stg: str, report: ImportReport, who: Principal) -> None:
        if self.geometry:
            session.execute(
                text(
                    f"UPDATE {stg} SET geom = CASE WHEN wkb IS NOT NULL THEN ST_GeomFromEWKB(decode(wkb, 'hex')) "
                    "WHEN lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END"
                )
            )
        if self.geometry and self.check_in_province:
            self.reject_where(
                session,
                f"SELECT row_no, ST_AsText(ST_PointOnSurface(geom)) FROM {stg} s "
                "WHERE geom IS NOT NULL AND NOT sinhke_in_province(s.geom) ORDER BY row_no",
                {},
                "geometry",
                N_("outside the province"),
                report,
            )
        if self.has_commune:
            self._resolve_communes(session, stg, report)
        if self.has_village:
            self._resolve_villages(session, stg, report)
        self.resolve(session, stg, report)
        if not who.sees_everything:
            self._check_scope(session, stg, report)

    def _resolve_communes(self, session: Session, stg: str, report: ImportReport) -> None:
        """``commune`` (a code, or a name unique among the communes valid at the row's date) -> commune_id."""
        when = f"coalesce(s.{self.commune_date_field}, current_date)" if self.commune_date_field else "current_date"
        session.execute(
            text(f"""
            UPDATE {stg} s SET commune_id = (
              SELECT u.id FROM admin_units u
              WHERE u.level = 'commune' AND u.valid_from <= {when} AND (u.valid_to IS NULL OR u.valid_to >= {when})
                AND (u.code = s.commune OR lower(u.name) = lower(s.commune)
                     OR lower(u.unit_type || ' ' || u.name) = lower(s.commune))
              ORDER BY (u.code = s.commune) DESC, u.id LIMIT 1)
            WHERE s.commune IS NOT NULL""")
        )
        self.reject_where(
            session,
            f"SELECT row_no, commune FROM {stg} s WHERE commune IS NOT NULL AND commune_id IS NULL ORDER BY row_no",
            {},
            "commune",
            N_("no commune with this code or name valid at the row's date (or not in your area)"),
            report,
        )
        self.reject_where(
            session,
            f"""SELECT row_no, commune FROM {stg} s WHERE commune_id IS NOT NULL AND (
                  SELECT count(*) FROM admin_units u WHERE u.level = 'commune'
                    AND u.valid_from <= {when} AND (u.valid_to IS NULL OR u.valid_to >= {when})
                    AND u.code <> s.commune AND (lower(u.name) = lower(s.commune)
                        OR lower(u.unit_type || ' ' || u.name) = lower(s.commune))) > 1 ORDER BY row_no""",
            {},
            "commune",
            N_("several communes are named {value}: give its code"),
            report,
        )

    def _resolve_villages(self, session: Session, stg: str, report: ImportReport) -> None:
        session.execute(
            text(f"""
            UPDATE {stg} s SET village_id = (
              SELECT v.id FROM villages v WHERE v.code = s.village
                 OR (v.commune_id = s.commune_id AND lower(v.name) = lower(s.village))
              ORDER BY (v.code = s.village) DESC, v.id LIMIT 1)
            WHERE s.village IS NOT NULL""")
        )
        self.reject_where(
            session,
            f"SELECT row_no, village FROM {stg} WHERE village IS NOT NULL AND village_id IS NULL ORDER BY row_no",
            {},
            "village",
            N_("no village with this code (or this name in the row's commune)"),
            report,
        )

    def _check_scope(self, session: Session, stg: str, report: ImportReport) -> None:
        """A scoped importer: rows whose place is outside their 2025 communes, and codes that
        already name a row they may not see, are rejected."""
        if self.has_commune:
            geom = "s.geom" if self.geometry else "NULL::geometry"
            self.reject_where(
                session,
                f"SELECT row_no, commune FROM {stg} s WHERE commune_id IS NOT NULL "
                f"AND NOT sinhke_asset_placeable({geom}, s.commune_id) ORDER BY row_no",
                {},
                "commune",
                N_("outside your 2025 communes: only an admin or a user of that commune may import it"),
                report,
            )
        if self.key == ("code",) and self.table in (
            "households",
            "villages",
            "livelihood_models",
            "infrastructure_works",
            "water_schemes",
        ):
            self.reject_where(
                session,
                f"SELECT s.row_no, s.code FROM {stg} s WHERE s.code IN "
                f"(SELECT sinhke_import_hidden_codes(:layer, (SELECT array_agg(code) FROM {stg}))) ORDER BY s.row_no",
                {"layer": self.table},
                "code",
                N_("this code names a record outside your communes"),
                report,
            )

    def written_columns(self) -> dict[str, str]:
        """table column -> the staging expression written into it."""
        cols = {f.target: f.name for f in self.fields if f.target}
        if self.geometry:
            cols["geom"] = "geom"
        if self.has_commune:
            cols["commune_id"] = "commune_id"
        if self.has_village:
            cols["village_id"] = "village_id"
        return cols

    def conflict_target(self) -> tuple[str, ...]:
        return tuple(next((f.target for f in self.fields if f.name == k), k) for k in self.key)

    def key_equals(self, column: str, staged: str) -> str:
        """SQL: the stored row ``t`` and the staged row ``s`` agree on this key column."""
        return f"t.{column} = s.{staged}"

    def _upsert(self, session: Session, stg: str, report: ImportReport) -> None:
        """An UPDATE of the rows whose key exists and whose values differ, then an INSERT of the
        rest: no ``ON CONFLICT … RETURNING``, whose row-level-security checks a scoped user's new
        row could not pass (its placement does not exist yet). Imports into one table wait for
        each other (a transaction-level advisory lock), so the INSERT never races another one."""
        cols = self.written_columns()
        keys = self.conflict_target()
        updates = [c for c in cols if c not in keys]
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"sinhke-import:{self.table}"})
        match = " AND ".join(self.key_equals(k, cols[k]) for k in keys)
        # which rows exist, decided before anything is written: an INSERT … WHERE NOT EXISTS over
        # the table it fills, planned for an empty table, re-reads every row it has added (O(n²))
        session.execute(text(f"UPDATE {stg} s SET stored = true FROM {self.table} t WHERE {match}"))
        updated = session.execute(
            text(
                f"UPDATE {self.table} AS t SET {', '.join(f'{c} = s.{cols[c]}' for c in updates)} FROM {stg} s "
                f"WHERE s.stored AND {match} AND ({', '.join(f't.{c}' for c in updates)}) "
                f"IS DISTINCT FROM ({', '.join(f's.{cols[c]}' for c in updates)})"
            )
        )
        inserted = session.execute(
            text(
                f"INSERT INTO {self.table} ({', '.join(cols)}) SELECT {', '.join(f's.{cols[c]}' for c in cols)} "
                f"FROM {stg} s WHERE NOT s.stored ORDER BY s.row_no"
            )
        )
        staged = session.execute(text(f"SELECT count(*) FROM {stg}")).scalar_one()
        report.updated = rowcount(updated)
        report.inserted = rowcount(inserted)
        report.unchanged = int(staged) - report.inserted - report.updated


def _signed_area(geom: Any) -> float:
    """Area as the rings' coordinates give it (a bow tie's halves cancel), to tell a repair that
    keeps the shape from one that guesses."""
    if geom.geom_type == "MultiPolygon":
        return sum(abs(_signed_area(g)) for g in geom.geoms)
    if geom.geom_type != "Polygon":
        return shapely.area(geom)

    def ring(coords: Any) -> float:
        xy = np.asarray(coords)[:, :2]
        return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))

    return abs(ring(geom.exterior.coords)) - sum(abs(ring(i.coords)) for i in geom.interiors)


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 0 is read as 0.0: shown as typed
    s = str(value)
    return s if len(s) <= 200 else s[:197] + "…"


def _batches(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


__all__ = ["Field", "ImportFileError", "TableImporter"]
