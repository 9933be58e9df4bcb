"""Tables as files people open elsewhere: CSV (Excel-friendly UTF-8), XLSX, GeoPackage.

Vietnamese names keep their diacritics in every format; times are the programme's local time
with the offset written out (ISO 8601). GeoPackage goes through GDAL
(pyogrio), geometries as WKB in EPSG:4326.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from spatial import ParameterError
from spatial.localtime import local_iso

FORMATS = ("csv", "xlsx", "gpkg")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
}


#: a text cell starting with one of these is a formula to Excel and LibreOffice (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell as data, never a formula: one starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe, which spreadsheets show as text. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(v) for v in row]


def _xlsx_row(ws: Any, row: Iterable[Any]) -> list[Any]:
    """An XLSX row whose text cells are stored as text: openpyxl would store "=…" as a formula.
    (The value stays as it was: in an XLSX only the cell type makes a formula.)"""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for v in row:
        if isinstance(v, str) and v.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(ws, value=v)
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(v)
    return out


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_safe_row(columns))
    writer.writerows(_safe_row(r) for r in rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8


def to_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(_xlsx_row(ws, columns))
    for row in rows:
        ws.append(_xlsx_row(ws, row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_gpkg(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], geometries_wkb: Sequence[bytes | None], layer: str
) -> bytes:
    """A GeoPackage with one layer; attribute types follow the first non-null value."""
    from pyogrio.raw import write

    fields = []
    for i, _name in enumerate(columns):
        values = [r[i] for r in rows]
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, bool):
            fields.append(np.array([None if v is None else int(v) for v in values], dtype=object))
        elif isinstance(sample, int):
            fields.append(
                np.array([np.nan if v is None else v for v in values], dtype=np.float64)
                if any(v is None for v in values)
                else np.array(values, dtype=np.int64)
            )
        elif isinstance(sample, float):
            fields.append(np.array([np.nan if v is None else v for v in values], dtype=np.float64))
        else:
            fields.append(np.array(["" if v is None else str(v) for v in values], dtype=object))
    geometry = np.array(list(geometries_wkb), dtype=object)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{layer}.gpkg"
        write(
            str(path),
            geometry,
            fields,
            list(columns),
            geometry_type="Unknown",
            crs="EPSG:4326",
            driver="GPKG",
            layer=layer,
            encoding="UTF-8",
        )
        return path.read_bytes()


def table_file(
    fmt: str, columns: Sequence[str], rows: Sequence[dict[str, Any]], name: str, *, zone: str = "UTC"
) -> bytes:
    """Rows (dicts holding ``columns``, and ``wkb`` for a GeoPackage) as one file of ``fmt``;
    instants as ISO 8601 in ``zone`` with its offset (``2026-12-02T03:10:00+07:00``)."""
    if fmt not in FORMATS:
        raise ParameterError("format", f"unknown format {fmt!r}", list(FORMATS))
    table = [[local_iso(v, zone) if isinstance(v, datetime) else v for v in (r[c] for c in columns)] for r in rows]
    if fmt == "csv":
        return to_csv(columns, table)
    if fmt == "xlsx":
        return to_xlsx(columns, table, sheet=name)
    return to_gpkg(columns, table, [bytes(r["wkb"]) for r in rows], layer=name.replace("-", "_"))


# ----------------------------------------------------------------------------- streamed downloads
#: layer downloads (``/ogc/.../items?f=``): every format streams or writes in chunks
LAYER_FORMATS = ("csv", "xlsx", "gpkg", "shp")
LAYER_MIME = {**MIME, "shp": "application/zip"}
CHUNK = 5000


def _list_cell(value: Any) -> Any:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value


def _cell(value: Any) -> Any:
    """A CSV cell: lists joined, formulas neutralised."""
    return neutralise(_list_cell(value))


def csv_stream(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """CSV (UTF-8 with a BOM, so Excel keeps the diacritics), one chunk of rows at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_safe_row(columns))
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    for batch in _batches(rows, CHUNK):
        buf.seek(0)
        buf.truncate()
        writer.writerows([_cell(r[c]) for c in columns] for r in batch)
        yield buf.getvalue().encode("utf-8")


def write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]], sheet: str) -> None:
    """An XLSX written row by row (openpyxl's write-only mode keeps no rows in memory)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(_xlsx_row(ws, columns))
    for r in rows:
        ws.append(_xlsx_row(ws, [_list_cell(r[c]) for c in columns]))
    wb.save(path)


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for r in rows:
        batch.append(r)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _field_arrays(
    columns: Sequence[str], kinds: dict[str, str | None], batch: list[dict[str, Any]]
) -> tuple[list[Any], list[Any]]:
    """Attribute arrays of one chunk, typed by the column's SQL kind (the same in every chunk), and
    their null masks."""
    data, masks = [], []
    for c in columns:
        values = [r[c] for r in batch]
        mask = np.array([v is None for v in values], dtype=bool)
        kind = kinds.get(c)
        if kind == "integer":
            data.append(np.array([0 if v is None else int(v) for v in values], dtype=np.int64))
        elif kind == "number":
            data.append(np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64))
        elif kind == "boolean":
            data.append(np.array([bool(v) for v in values], dtype=bool))
        else:
            data.append(np.array([None if v is None else str(_cell(v)) for v in values], dtype=object))
        masks.append(mask)
    return data, masks


def write_gpkg(
    path: Path,
    columns: Sequence[str],
    kinds: dict[str, str | None],
    rows: Iterable[dict[str, Any]],
    layer: str,
    crs: str,
    geometry_type: str,
) -> int:
    """Rows (with ``wkb``) into a GeoPackage, CHUNK rows per write; returns the count."""
    from pyogrio.raw import write

    count = 0
    for batch in _batches(rows, CHUNK):
        data, masks = _field_arrays(columns, kinds, batch)
        write(
            str(path),
            np.array([bytes(r["wkb"]) for r in batch], dtype=object),
            data,
            list(columns),
            field_mask=masks,
            layer=layer,
            driver="GPKG",
            geometry_type=geometry_type,
            crs=crs,
            encoding="UTF-8",
            append=count > 0,
        )
        count += len(batch)
    return count


#: a Shapefile holds one kind of geometry: mixed layers become one file per kind
SHAPE_KINDS = {
    "POINT": "Point",
    "MULTIPOINT": "MultiPoint",
    "LINESTRING": "MultiLineString",
    "MULTILINESTRING": "MultiLineString",
    "POLYGON": "MultiPolygon",
    "MULTIPOLYGON": "MultiPolygon",
}


def write_shapefile_zip(
    path: Path,
    columns: Sequence[str],
    kinds: dict[str, str | None],
    rows: Iterable[dict[str, Any]],
    layer: str,
    crs: str,
) -> None:
    """A zipped Shapefile (one per geometry kind for mixed layers), each with a UTF-8 ``.cpg``."""
    import zipfile

    workdir = path.parent / f"{layer}-shp"
    workdir.mkdir()
    pending: dict[str, list[dict[str, Any]]] = {}
    written: dict[str, int] = {}
    for r in rows:
        kind = SHAPE_KINDS.get(r["gtype"], "Point")
        pending.setdefault(kind, []).append(r)
        if len(pending[kind]) >= CHUNK:
            _flush_shapes(workdir, kind, pending.pop(kind), columns, kinds, layer, crs, written)
    for kind, batch in pending.items():
        _flush_shapes(workdir, kind, batch, columns, kinds, layer, crs, written)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(workdir.iterdir()):
            zf.write(f, f.name)
        for cpg in {f.with_suffix(".cpg").name for f in workdir.glob("*.shp")} - {f.name for f in workdir.iterdir()}:
            zf.writestr(cpg, "UTF-8")


def dbf_names(columns: Sequence[str]) -> list[str]:
    """Field names a Shapefile holds (10 characters), kept unique: budget_allocated_vnd -> budget_all,
    budget_disbursed_vnd -> budget_di1."""
    out: list[str] = []
    for name in columns:
        short, n = name[:10], 0
        while short in out:
            n += 1
            short = f"{name[: 10 - len(str(n))]}{n}"
        out.append(short)
    return out


def _flush_shapes(
    workdir: Path,
    kind: str,
    batch: list[dict[str, Any]],
    columns: Sequence[str],
    kinds: dict[str, str | None],
    layer: str,
    crs: str,
    written: dict[str, int],
) -> None:
    from pyogrio.raw import write

    name = f"{layer}_{kind.lower()}"
    data, masks = _field_arrays(columns, kinds, batch)
    write(
        str(workdir / f"{name}.shp"),
        np.array([bytes(r["wkb"]) for r in batch], dtype=object),
        data,
        dbf_names(columns),
        field_mask=masks,
        layer=name,
        driver="ESRI Shapefile",
        geometry_type=kind,
        crs=crs,
        encoding="UTF-8",
        append=written.get(kind, 0) > 0,
        promote_to_multi=kind != "Point",
    )
    written[kind] = written.get(kind, 0) + len(batch)
