"""Readers: a file's content (never its name) says what it is; each format becomes one :class:`SourceTable`.

CSV (any of , ; tab; UTF-8 with or without BOM, or a legacy 8-bit encoding left for
:mod:`ingest.vntext` to convert per column), XLSX (python-calamine: the first visible sheet
unless one is named; hidden sheets and merged header rows reported), GeoJSON, GeoPackage and
zipped Shapefile (GDAL through pyogrio). Zip archives are opened with limits on the number
of entries, their total size and their compression ratio, and nothing is extracted outside
the temporary folder or through a link.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Any

from spatial import N_, Message, SinhkeError


class ImportFileError(SinhkeError):
    """The file as a whole cannot be read: names the file and the reason."""

    def __init__(self, filename: str, reason: str):
        self.filename, self.reason = filename, reason
        super().__init__(f"{filename}: {reason}")


#: zip archives: more entries, more bytes or a higher compression ratio than this are refused
ZIP_MAX_ENTRIES = 1000
ZIP_MAX_TOTAL_BYTES = 2 * 1024**3
ZIP_MAX_RATIO = 200
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@dataclass
class SourceTable:
    """The rows of one file, lazily: ``rows`` yields (data row number from 1, values, WKB or None)."""

    columns: list[str]
    rows: Iterator[tuple[int, list[Any], bytes | None]]
    #: the CRS the file declares (WKT, PROJ or "EPSG:n"); None when it says nothing
    crs: str | None = None
    #: True for vector formats: geometries come with the rows
    has_geometry: bool = False
    notes: list[str] = field(default_factory=list)
    #: text cells read as bytes of an unknown 8-bit encoding (as Latin-1) and left to ingest.vntext
    legacy_bytes: bool = False
    #: releases what the rows read from (an open file), whether or not they were all read
    closer: Callable[[], None] | None = None
    #: a CSV file as it is on disk, for the COPY fast path (:mod:`ingest.tabular`): the path, its
    #: text encoding and the dialect the rows were read with
    csv_source: tuple[Path, str, Any] | None = None
    #: XLSX: where the data rows are on the sheet, filled as the rows are read: (data row, its sheet
    #: row less the data row) at the first row and wherever that difference grows (blank rows)
    sheet_offsets: list[tuple[int, int]] | None = None
    #: XLSX: the sheet column of ``columns[0]`` (0 for column A)
    first_column: int = 0

    def sheet_row(self, n: int) -> int | None:
        """The sheet's own row number of data row ``n`` (read already), or None if unknown."""
        if not self.sheet_offsets:
            return None
        at = bisect.bisect_right(self.sheet_offsets, (n, float("inf"))) - 1
        return n + self.sheet_offsets[at][1] if at >= 0 else None

    def close(self) -> None:
        close_rows = getattr(self.rows, "close", None)
        if close_rows is not None:
            close_rows()
        if self.closer is not None:
            self.closer()


def _damaged_zip(exc: BaseException) -> Message:
    return Message(N_("a damaged or truncated zip archive ({error})"), error=exc)


# ----------------------------------------------------------------------------- sniffing
def sniff(path: Path, filename: str) -> tuple[str, str | None]:
    """(format, note): what the bytes are — csv, xlsx, geojson, gpkg, shapefile or geotiff.

    The note says when the name claims something else. Empty files and unknown binary files are
    refused here."""
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(filename, N_("the file is empty"))
    with open(path, "rb") as fh:
        head = fh.read(4096)
    fmt: str
    if head.startswith(b"SQLite format 3\x00"):
        fmt = "gpkg"
    elif head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        fmt = "geotiff"
    elif head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        fmt = _sniff_zip(path, filename)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            filename, N_("an old binary Excel (.xls) file: save it as .xlsx (or CSV) and import that")
        )
    else:
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith((b"{", b"[")):
            fmt = "geojson"
        elif b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ImportFileError(
                filename, N_("not a file type sinhke reads (CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile)")
            )
        else:
            fmt = "csv"
    claimed = _claimed(filename)
    note = None
    if claimed and claimed != fmt:
        note = Message(
            N_("the file's name says {claimed}, its content is {format}: read as {format}"), claimed=claimed, format=fmt
        )
    return fmt, note


def _claimed(filename: str) -> str | None:
    ext = Path(filename).suffix.lower()
    return {
        ".csv": "csv",
        ".txt": "csv",
        ".xlsx": "xlsx",
        ".geojson": "geojson",
        ".json": "geojson",
        ".gpkg": "gpkg",
        ".zip": "shapefile",
        ".tif": "geotiff",
        ".tiff": "geotiff",
    }.get(ext)


def _sniff_zip(path: Path, filename: str) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFileError(filename, _damaged_zip(exc)) from None
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.lower().endswith(".shp") for n in names):
        return "shapefile"
    raise ImportFileError(filename, N_("a zip archive holding neither a Shapefile (.shp) nor a spreadsheet"))


# ----------------------------------------------------------------------------- zip archives
@contextmanager
def safe_extract(path: Path, filename: str, wanted: tuple[str, ...] = SHAPEFILE_PARTS) -> Iterator[Path]:
    """Extract the members ending in ``wanted`` into a temporary folder, checking every entry first:
    at most ZIP_MAX_ENTRIES entries and ZIP_MAX_TOTAL_BYTES uncompressed (as declared and as
    actually read), no entry compressed more than ZIP_MAX_RATIO times, no absolute path, no
    ``..``, no symbolic link. Yields the folder; removes it afterwards."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFileError(filename, _damaged_zip(exc)) from None
    work = Path(tempfile.mkdtemp(prefix="sinhke-unzip-"))
    try:
        with zf:
            infos = check_zip(zf, filename)
            total = 0
            for info in infos:
                if info.is_dir() or not info.filename.lower().endswith(wanted):
                    continue
                target = work / PurePosixPath(info.filename).name
                if target.exists():
                    raise ImportFileError(
                        filename, Message(N_("the zip holds two files named '{name}'"), name=target.name)
                    )
                budget = min(info.file_size, ZIP_MAX_TOTAL_BYTES - total)
                try:
                    with zf.open(info) as src, open(target, "xb") as dst:
                        written = 0
                        while chunk := src.read(1 << 20):
                            written += len(chunk)
                            if written > budget:  # more than it declared: a lying header
                                raise ImportFileError(
                                    filename,
                                    Message(N_("{entry} unpacks to more than it declares"), entry=info.filename),
                                )
                            dst.write(chunk)
                except (zipfile.BadZipFile, EOFError, OSError, zlib_error()) as exc:
                    raise ImportFileError(
                        filename,
                        Message(
                            N_("{entry} in the zip is damaged or truncated ({error})"), entry=info.filename, error=exc
                        ),
                    ) from None
                total += written
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_zip(zf: zipfile.ZipFile, filename: str) -> list[zipfile.ZipInfo]:
    """Every entry of an archive checked before anything is read from it (the limits above)."""
    infos = zf.infolist()
    if len(infos) > ZIP_MAX_ENTRIES:
        raise ImportFileError(
            filename, Message(N_("the zip holds {n} entries (at most {most})"), n=len(infos), most=ZIP_MAX_ENTRIES)
        )
    declared = sum(i.file_size for i in infos)
    if declared > ZIP_MAX_TOTAL_BYTES:
        raise ImportFileError(
            filename,
            Message(
                N_("the zip would unpack to {n} bytes (at most {most})"),
                n=f"{declared:,}",
                most=f"{ZIP_MAX_TOTAL_BYTES:,}",
            ),
        )
    for info in infos:
        _check_entry(info, filename)
    return infos


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def _check_entry(info: zipfile.ZipInfo, filename: str) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ImportFileError(filename, Message(N_("the zip entry '{name}' points outside its folder"), name=name))
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ImportFileError(filename, Message(N_("the zip entry '{name}' is a link"), name=name))
    if info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO and info.file_size > 1 << 20:
        raise ImportFileError(
            filename,
            Message(
                N_("the zip entry '{name}' is compressed {ratio}:1 (at most {most}:1): refused as a possible zip bomb"),
                name=name,
                ratio=info.file_size // info.compress_size,
                most=ZIP_MAX_RATIO,
            ),
        )


# ----------------------------------------------------------------------------- CSV
def read_csv(path: Path, filename: str, encoding: str | None = None) -> SourceTable:
    """CSV with a header row; the delimiter is sniffed (, ; tab). Text that is not UTF-8 is read as
    Latin-1 bytes (``legacy_bytes``), for :mod:`ingest.vntext` to convert column by column."""
    notes: list[str] = []
    with open(path, "rb") as fh:
        head = fh.read(65536)
    legacy = False
    if head.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
        notes.append(N_("text: UTF-8 with a byte-order mark"))
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
        notes.append(N_("text: UTF-16"))
    elif encoding and encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
        enc, legacy = "latin-1", True
    elif _is_utf8(path):
        enc = "utf-8"
    else:
        if encoding:
            raise ImportFileError(filename, N_("--encoding says UTF-8, but the file is not valid UTF-8"))
        enc, legacy = "latin-1", True
    fh_text = open(path, encoding=enc, newline="")  # noqa: SIM115 - closed by the generator
    sample = fh_text.read(65536)
    fh_text.seek(0)
    try:
        dialect: Any = csv.Sniffer().sniff(sample.split("\n", 1)[0] if sample else ",", delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(fh_text, dialect)
    try:
        header = next(reader)
    except StopIteration:
        fh_text.close()
        raise ImportFileError(filename, N_("the file is empty")) from None
    except csv.Error as exc:
        fh_text.close()
        raise ImportFileError(filename, Message(N_("not readable as CSV ({error})"), error=exc)) from None
    width = len(header)

    def rows() -> Iterator[tuple[int, list[Any], bytes | None]]:
        with fh_text:
            n = 0
            try:
                for values in reader:
                    if not "".join(values).strip():  # a blank line (any(v.strip() …), at C speed)
                        continue
                    n += 1
                    if len(values) < width:
                        values = values + [""] * (width - len(values))
                    yield n, values, None
            except csv.Error as exc:
                raise ImportFileError(
                    filename, Message(N_("CSV line {line}: {error}"), line=reader.line_num, error=exc)
                ) from None

    if legacy:
        header = [_utf8_if_valid(h) for h in header]
    return SourceTable(
        columns=[h.strip() for h in header],
        rows=rows(),
        notes=notes,
        legacy_bytes=legacy,
        closer=fh_text.close,
        csv_source=(path, enc, dialect),
    )


def _utf8_if_valid(value: str) -> str:
    """A header of a legacy-bytes file that is in fact UTF-8 (a new header over old rows)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


# ----------------------------------------------------------------------------- XLSX
def read_xlsx(path: Path, filename: str, sheet: str | None = None) -> SourceTable:
    """One sheet of a workbook: the first visible one unless ``sheet`` names another. Title rows
    above the header (one filled cell) are skipped; a header spread over merged rows is read as
    the lowest filled cell of each column ("Thông tin hộ" above "Mã hộ" gives "Mã hộ")."""
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    notes: list[str] = []
    try:
        with zipfile.ZipFile(path) as zf:  # an XLSX is a zip: the same limits before calamine opens it
            check_zip(zf, filename)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFileError(filename, _damaged_zip(exc)) from None
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for damaged files
        raise ImportFileError(
            filename, Message(N_("not a readable XLSX workbook ({error})"), error=_first_line(exc))
        ) from None
    metas = list(wb.sheets_metadata)
    hidden = [m.name for m in metas if m.visible != SheetVisibleEnum.Visible]
    if sheet is not None:
        if sheet not in wb.sheet_names:
            raise ImportFileError(
                filename,
                Message(
                    N_("no sheet named '{sheet}' (sheets: {sheets})"), sheet=sheet, sheets=", ".join(wb.sheet_names)
                ),
            )
        name = sheet
    else:
        visible = [m.name for m in metas if m.visible == SheetVisibleEnum.Visible]
        if not visible:
            raise ImportFileError(filename, N_("the workbook has no visible sheet"))
        name = visible[0]
        others = [n for n in visible[1:]]
        if others:
            notes.append(
                Message(
                    N_("sheet '{sheet}' read; other sheets not read: {others}"), sheet=name, others=", ".join(others)
                )
            )
    if hidden:
        notes.append(
            Message(N_("hidden sheets not read: {sheets} (name one with --sheet to read it)"), sheets=", ".join(hidden))
        )
    from ingest.xlsx_stream import XlsxSheets, sheet_xml_size

    stream: XlsxSheets | None = None
    try:
        if sheet_xml_size(path, name) > XLSX_IN_MEMORY_BYTES:
            # a long sheet: streamed row by row (flat memory); calamine would hold it whole
            stream = XlsxSheets(str(path))
            merged = stream.merged_ranges(name)
            rows_iter: Iterator[Any] = stream.rows(name)
        else:
            ws = wb.get_sheet_by_name(name)
            merged = list(ws.merged_cell_ranges or [])
            rows_iter = ws.iter_rows()
    except Exception as exc:  # noqa: BLE001
        if stream is not None:
            stream.close()
        raise ImportFileError(
            filename, Message(N_("sheet '{sheet}' cannot be read ({error})"), sheet=name, error=_first_line(exc))
        ) from None

    sheet_row = 0
    header: list[Any] | None = None
    pending: list[list[Any]] = []
    for values in rows_iter:
        sheet_row += 1
        filled = [v for v in values if _text(v)]
        if not filled:
            continue
        pending.append(list(values))
        if len(filled) > 1:
            header_at = sheet_row
            break
    else:
        raise ImportFileError(
            filename,
            Message(N_("sheet '{sheet}' is empty"), sheet=name)
            if not pending
            else Message(N_("sheet '{sheet}' has no header row"), sheet=name),
        )
    titles, header = pending[:-1], pending[-1]
    if titles:
        notes.append(
            Message(
                N_("title rows above the header skipped: {titles}"),
                titles=", ".join(_text(t) for r in titles for t in r if _text(t)),
            )
        )
    # merged cells touching the header row: the header goes down to the lowest row they reach
    last = header_at
    for (r0, _c0), (r1, _c1) in merged:
        if r0 + 1 == header_at and r1 + 1 > last:
            last = r1 + 1
    width = max(len(header), max((c1 + 1 for (_r0, _c0), (_r1, c1) in merged if _r0 + 1 == header_at), default=0))
    # no trailing unnamed columns: calamine's rows reach the sheet's widest row, a stream's do not
    width = max((i + 1 for i, v in enumerate(header) if _text(v)), default=0) if width == len(header) else width
    columns = [_text(v) for v in header[:width]] + [""] * (width - len(header))
    while sheet_row < last:
        try:
            values = next(rows_iter)
        except StopIteration:
            break
        sheet_row += 1
        for i, v in enumerate(values[:width]):
            if _text(v):
                columns[i] = _text(v)
    if last > header_at:
        notes.append(
            Message(
                N_(
                    "header spread over merged rows {first}–{last} of sheet '{sheet}': "
                    "the lowest label of each column used"
                ),
                first=header_at,
                last=last,
                sheet=name,
            )
        )

    offsets: list[tuple[int, int]] = []

    def rows() -> Iterator[tuple[int, list[Any], bytes | None]]:
        n, at, offset = 0, sheet_row, -1
        for values in rows_iter:
            at += 1
            if not any(_text(v) for v in values):
                continue
            n += 1
            if at - n != offset:
                offset = at - n
                offsets.append((n, offset))
            vals = list(values[:width]) + [""] * (width - len(values))
            yield n, vals, None

    def close() -> None:
        wb.close()
        if stream is not None:
            stream.close()

    start = None if stream is not None else getattr(ws, "start", None)
    return SourceTable(
        columns=columns,
        rows=rows(),
        notes=notes,
        closer=close,
        sheet_offsets=offsets,
        first_column=int(start[1]) if start else 0,
    )


#: a sheet whose XML is larger than this (uncompressed) is streamed (ingest.xlsx_stream), not read
#: whole by calamine: ~150,000 rows of ten columns; calamine is ten times faster below it
XLSX_IN_MEMORY_BYTES = 48 * 1024**2


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    return str(v).strip()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


# ----------------------------------------------------------------------------- vector formats
def read_vector(path: Path, filename: str, fmt: str) -> Generator[SourceTable, None, None]:
    """GeoJSON, GeoPackage (its first layer) or a zipped Shapefile, through GDAL. A generator
    holding the temporary folder of an unzipped Shapefile open until the rows are read."""
    if fmt == "shapefile":
        with safe_extract(path, filename) as folder:
            shps = sorted(folder.glob("*.shp")) + sorted(folder.glob("*.SHP"))
            if len(shps) != 1:
                raise ImportFileError(filename, Message(N_("the zip holds {n} .shp files (one, please)"), n=len(shps)))
            shp = shps[0]
            present = {p.suffix.lower() for p in folder.iterdir() if p.stem == shp.stem}
            for part, why in (
                (".dbf", N_("{shp} comes without its .dbf file (its attributes): zip them together")),
                (".shx", N_("{shp} comes without its .shx file (its index): zip them together")),
            ):
                if part not in present:
                    raise ImportFileError(filename, Message(why, shp=shp.name))
            yield _read_ogr(shp, filename)
        return
    if fmt == "geojson":
        _check_json(path, filename)
    yield _read_ogr(path, filename)


def _check_json(path: Path, filename: str) -> None:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            doc = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(filename, Message(N_("not valid JSON ({error})"), error=exc)) from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise ImportFileError(filename, N_("JSON, but not a GeoJSON FeatureCollection"))


def _read_ogr(path: Path, filename: str) -> SourceTable:
    import pyogrio
    from pyogrio.raw import read

    try:
        meta, _fids, geometry, field_data = read(str(path), encoding=None)
    except Exception as exc:  # noqa: BLE001 - GDAL's errors come in several types
        raise ImportFileError(
            filename,
            Message(
                N_("cannot be read as {kind} data ({error})"), kind=path.suffix or "vector", error=_first_line(exc)
            ),
        ) from None
    notes: list[str] = []
    layers_in = pyogrio.list_layers(str(path)) if path.suffix.lower() == ".gpkg" else []
    if len(layers_in) > 1:
        notes.append(
            Message(
                N_("layer '{layer}' read; other layers not read: {others}"),
                layer=layers_in[0][0],
                others=", ".join(str(r[0]) for r in layers_in[1:]),
            )
        )
    columns = [str(c) for c in meta["fields"]]
    n = len(geometry) if geometry is not None else (len(field_data[0]) if field_data else 0)

    def rows() -> Iterator[tuple[int, list[Any], bytes | None]]:
        for i in range(n):
            values = [_plain(col[i]) for col in field_data]
            wkb = geometry[i] if geometry is not None else None
            yield i + 1, values, (bytes(wkb) if wkb is not None else None)

    return SourceTable(columns=columns, rows=rows(), crs=meta.get("crs"), has_geometry=True, notes=notes)


def _plain(value: Any) -> Any:
    import numpy as np

    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: GDAL's null for numbers
        return None
    return value


def read_table(
    path: Path, filename: str, fmt: str, *, sheet: str | None = None, encoding: str | None = None
) -> Generator[SourceTable, None, None]:
    """The file as one table, whatever its format (a generator: exhaust or close it)."""
    if fmt in ("csv", "xlsx"):
        table = read_csv(path, filename, encoding) if fmt == "csv" else read_xlsx(path, filename, sheet)
        try:
            yield table
        finally:
            table.close()
    elif fmt in ("geojson", "gpkg", "shapefile"):
        for table in read_vector(path, filename, fmt):
            try:
                yield table
            finally:
                table.close()
    else:
        raise ImportFileError(filename, Message(N_("a {format} file holds no table"), format=fmt))


def stream_copy(source: io.BufferedIOBase, dest: Path, max_bytes: int, filename: str) -> None:
    """Copy an upload to ``dest``, refusing more than ``max_bytes`` (whatever the request claimed)."""
    size = 0
    with open(dest, "xb") as out:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                os.unlink(dest)
                raise ImportFileError(filename, Message(N_("larger than the limit of {n} bytes"), n=f"{max_bytes:,}"))
            out.write(chunk)


def estimate_rows(path: Path, fmt: str) -> int | None:
    """About how many data rows the file holds, for progress: a CSV's size over the length of its
    first lines; an XLSX sheet's declared dimension (its first visible sheet). None when it
    cannot be told cheaply."""
    try:
        if fmt == "csv":
            size = path.stat().st_size
            with open(path, "rb") as fh:
                head = fh.read(1 << 20)
            lines = head.count(b"\n")
            if lines < 2:
                return max(lines - 1, 0)
            if len(head) >= size:
                return lines - 1 + (0 if head.endswith(b"\n") else 1)
            return max(int(size / (len(head) / lines)) - 1, 0)
        if fmt == "xlsx":
            from ingest.xlsx_stream import first_sheet_rows

            return first_sheet_rows(path)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return None
