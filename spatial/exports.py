"""Tables as files people open elsewhere: CSV (Excel-friendly UTF-8), XLSX, GeoPackage.

Vietnamese names keep their diacritics in every format; times are the programme's local time
with the offset written out (ISO 8601). GeoPackage goes through GDAL
(pyogrio), geometries as WKB in EPSG:4326.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
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


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8


def to_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(list(columns))
    for row in rows:
        ws.append(list(row))
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
