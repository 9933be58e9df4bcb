"""Column headers as provincial offices write them, matched to a layer's fields.

A header matches a field when both read the same with diacritics, case, punctuation and spacing
set aside: "Mã hộ", "MA HO", "ma_ho" and "Mã  hộ:" are one header. Each field lists its
Vietnamese and English names; a mapping file (``--mapping``) names anything else. The report
lists the columns nothing matched.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

from spatial import N_, Message, ParameterError


def fold(text: str) -> str:
    """Header text without diacritics, case or punctuation: "Thôn/bản" -> "thon ban"."""
    d = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in d if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", " ", bare).strip()


def match_columns(
    columns: Sequence[str], aliases: Mapping[str, Sequence[str]], mapping: dict[str, str] | None = None
) -> tuple[dict[str, int], list[str], list[str]]:
    """(field -> column index, unmapped columns, notes). ``aliases``: field -> the headers it goes
    by (its own name included); ``mapping``: header -> field, checked first."""
    folded_aliases: dict[str, str] = {}
    for name, names in aliases.items():
        for alias in (name, *names):
            folded_aliases.setdefault(fold(alias), name)
    mapping_folded = {fold(k): v for k, v in (mapping or {}).items()}
    found: dict[str, int] = {}
    unmapped: list[str] = []
    notes: list[str] = []
    for i, header in enumerate(columns):
        key = fold(header)
        if not key:
            continue
        target = mapping_folded.get(key) or folded_aliases.get(key)
        if target is None:
            unmapped.append(header)
            continue
        if target not in aliases:
            raise ParameterError(
                "mapping", f"column {header!r} is mapped to {target!r}, which is no field here", sorted(aliases)
            )
        if target in found:
            notes.append(
                Message(
                    N_("column '{column}' also reads as {field}: the first one ('{first}') is used"),
                    column=header,
                    field=target,
                    first=columns[found[target]],
                )
            )
            continue
        found[target] = i
    return found, unmapped, notes


def read_mapping(path: Path) -> dict[str, str]:
    """A mapping file: JSON ``{"header": "field"}``, or CSV rows ``header,field`` (a header row
    ``column,field`` is skipped)."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError("mapping", f"{path.name} cannot be read as UTF-8 text ({exc})") from None
    if raw.lstrip().startswith("{"):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ParameterError("mapping", f"{path.name} is not valid JSON ({exc})") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in doc.items()):
            raise ParameterError("mapping", "a JSON mapping maps header names to field names (strings)")
        return dict(doc)
    out: dict[str, str] = {}
    for n, row in enumerate(csv.reader(io.StringIO(raw)), start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise ParameterError("mapping", f"{path.name} line {n}: two columns please (header, field)")
        if n == 1 and fold(row[0]) == "column" and fold(row[1]) == "field":
            continue
        out[row[0].strip()] = row[1].strip()
    return out
