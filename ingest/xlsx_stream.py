"""The rows of one XLSX sheet, streamed from the zip: memory stays flat however long the sheet.

python-calamine reads a sheet whole into memory (fast, but a million rows hold hundreds of MB), and
openpyxl's read-only mode streams but takes ~200 µs a row. This reads the sheet's XML with lxml's
``iterparse`` one ``<row>`` at a time (each cleared once read), with the shared strings, the date
styles and the 1904 flag of the workbook, and yields each row as calamine would: text as ``str``,
numbers as ``float``, date-formatted numbers as ``date`` (a whole day) or ``datetime``, booleans as
``bool``, empty cells as ``""``, gaps as empty rows, every row from column A. ``merged_ranges`` reads
the ``<mergeCells>`` (after the data in the file) in a first pass over the same stream.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from posixpath import join, normpath
from typing import Any

from lxml import etree

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
#: built-in number formats that show a date or a time (ECMA-376 18.8.30)
DATE_FORMATS = {14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57}
_CELL = re.compile(r"([A-Z]+)(\d+)")
#: huge trees: one shared string or row may be long; entities are never resolved (no XXE)
_PARSER = dict(huge_tree=True, resolve_entities=False, no_network=True)


def _col(ref: str) -> int:
    n = 0
    for ch in ref:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _is_date_format(code: str) -> bool:
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code).lower()
    return bool(re.search(r"[dmyhs]", bare)) and "general" not in bare


def _workbook(zf: zipfile.ZipFile) -> tuple[datetime, dict[str, str]]:
    """The workbook's date epoch (1900 or 1904) and each sheet's XML entry by sheet name."""
    wb = etree.fromstring(zf.read("xl/workbook.xml"), etree.XMLParser(**_PARSER))
    pr = wb.find(f"{NS}workbookPr")
    epoch = datetime(1904, 1, 1) if pr is not None and pr.get("date1904") in ("1", "true") else datetime(1899, 12, 30)
    rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"), etree.XMLParser(**_PARSER))
    targets = {r.get("Id"): r.get("Target") or "" for r in rels}
    paths: dict[str, str] = {}
    for s in wb.iter(f"{NS}sheet"):
        target = targets.get(s.get(f"{REL}id"), "")
        paths[s.get("name", "")] = target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))
    return epoch, paths


def sheet_xml_size(path: Any, name: str) -> int:
    """Uncompressed size of sheet ``name``'s XML; 0 when it cannot be told."""
    try:
        with zipfile.ZipFile(path) as zf:
            entry = _workbook(zf)[1].get(name)
            return zf.getinfo(entry).file_size if entry else 0
    except (KeyError, OSError, zipfile.BadZipFile, etree.XMLSyntaxError):
        return 0


def first_sheet_rows(path: Any) -> int | None:
    """About how many data rows the workbook's first sheet holds: its ``<dimension ref="A1:H1001">``
    when it has one (written before the data), else its XML's size over the length of its first
    rows. The header row not counted."""
    with zipfile.ZipFile(path) as zf:
        paths = _workbook(zf)[1]
        if not paths:
            return None
        entry = next(iter(paths.values()))
        size = zf.getinfo(entry).file_size
        with zf.open(entry) as fh:
            head = fh.read(1 << 16)
    text = head.decode("utf-8", "replace")
    m = re.search(r'<dimension ref="[A-Z]+(\d+)(?::[A-Z]+(\d+))?"', text[:4096])
    if m:
        return max(int(m[2] or m[1]) - int(m[1]), 0)
    rows = text.count("<row")
    if rows < 2:
        return None
    if len(head) >= size:
        return rows - 1
    return max(int(size / (len(head) / rows)) - 1, 0)


class XlsxSheets:
    """An open workbook: its sheets' paths, shared strings and date styles."""

    def __init__(self, path: str) -> None:
        self.zf = zipfile.ZipFile(path)
        self.epoch, self.paths = _workbook(self.zf)
        self.strings = self._shared_strings()
        self.date_styles = self._date_styles()

    def close(self) -> None:
        self.zf.close()

    def _shared_strings(self) -> list[str]:
        out: list[str] = []
        if "xl/sharedStrings.xml" not in self.zf.namelist():
            return out
        with self.zf.open("xl/sharedStrings.xml") as fh:
            for _ev, si in etree.iterparse(fh, events=("end",), tag=f"{NS}si", **_PARSER):
                out.append("".join(t.text or "" for t in si.iter(f"{NS}t") if t.getparent().tag != f"{NS}rPh"))
                si.clear()
        return out

    def _date_styles(self) -> set[int]:
        """Indexes of the cell styles whose number format shows a date or a time."""
        if "xl/styles.xml" not in self.zf.namelist():
            return set()
        st = etree.fromstring(self.zf.read("xl/styles.xml"), etree.XMLParser(**_PARSER))
        custom = {int(f.get("numFmtId", "0")): f.get("formatCode", "") for f in st.iter(f"{NS}numFmt")}
        xfs = st.find(f"{NS}cellXfs")
        out = set()
        for i, xf in enumerate(xfs if xfs is not None else []):
            fid = int(xf.get("numFmtId", "0"))
            if fid in DATE_FORMATS or (fid in custom and _is_date_format(custom[fid])):
                out.add(i)
        return out

    def merged_ranges(self, name: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """((row, col), (row, col)) 0-based, first and last cell of each merged range, as calamine gives
        them. The ``<mergeCell ref="A1:C2"/>`` elements follow the data: found by scanning the
        decompressed bytes (a regex over 1 MB chunks), far faster than parsing the XML twice."""
        out = []
        pattern = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')
        tail = b""
        with self.zf.open(self.paths[name]) as fh:
            while chunk := fh.read(1 << 20):
                data = tail + chunk
                for m in pattern.finditer(data):
                    a, _, b = m[1].decode().partition(":")
                    ma, mb = _CELL.fullmatch(a), _CELL.fullmatch(b or a)
                    if ma and mb:
                        out.append(((int(ma[2]) - 1, _col(ma[1])), (int(mb[2]) - 1, _col(mb[1]))))
                cut = data.rfind(b"<")
                tail = data[cut:] if cut >= 0 and len(data) - cut < 256 else b""
        return list(dict.fromkeys(out))

    def rows(self, name: str) -> Iterator[list[Any]]:
        """Every row from the first, gaps as empty rows; cells from column A."""
        strings, dates, epoch = self.strings, self.date_styles, self.epoch
        v_tag, is_tag, t_tag = f"{NS}v", f"{NS}is", f"{NS}t"
        with self.zf.open(self.paths[name]) as fh:
            last = 0
            for _ev, row in etree.iterparse(fh, events=("end",), tag=f"{NS}row", **_PARSER):
                number = int(row.get("r") or last + 1)
                while last + 1 < number:
                    last += 1
                    yield []
                last = number
                values: list[Any] = []
                for c in row:
                    ref = c.get("r")
                    if ref:
                        m = _CELL.match(ref)
                        if m:
                            at = _col(m[1])
                            if at > len(values):
                                values.extend([""] * (at - len(values)))
                    kind = c.get("t")
                    v = c.find(v_tag)
                    text = v.text if v is not None else None
                    if kind == "s":
                        value: Any = strings[int(text)] if text is not None else ""
                    elif kind == "inlineStr":
                        node = c.find(is_tag)
                        value = "".join(t.text or "" for t in node.iter(t_tag)) if node is not None else ""
                    elif kind in ("str", "e"):
                        value = text or ""
                    elif kind == "b":
                        value = "" if text is None else text.strip() in ("1", "true")
                    elif kind == "d":
                        value = datetime.fromisoformat(text) if text else ""
                    elif text is None:
                        value = ""  # an empty cell, as calamine gives it
                    else:
                        number_value = float(text)
                        style = c.get("s")
                        if style is not None and int(style) in dates:
                            value = epoch + timedelta(days=number_value)
                            if number_value.is_integer():
                                value = value.date()  # a whole day, as calamine gives it
                        else:
                            value = number_value
                    values.append(value)
                row.clear()
                while row.getprevious() is not None:
                    del row.getparent()[0]
                yield values


__all__ = ["XlsxSheets"]
