"""The COPY fast path of :class:`ingest.tabular.TableImporter`: cells parsed by PostgreSQL, not per row in Python.

The rows of a CSV or XLSX file are streamed, as text, straight into ``COPY … FROM STDIN`` of a raw
staging table (one text column per matched field, and the row's number as the reader counts
it). One ``INSERT … SELECT`` then turns every row whose cells are all in their *canonical*
form into the typed staging table the slow path fills: a whole number as digits, a date as
``YYYY-MM-DD`` or ``DD/MM/YYYY``, text already trimmed, single-spaced and NFC, a yes/no as one
of the plain words, a choice as its stored value, a point inside lon/lat bounds and not swapped.

Every other row (a "1.500.000 đ", a swapped point, a value out of range, an empty required
cell) is read back in batches and parsed by :meth:`ingest.tabular.Field.parse` exactly as the
slow path does, so its problems (row, field, value, reason) and its repairs are the same. The
canonical forms are a strict subset of what the Python parsers accept, each giving the same
value (``tests/ingest/test_fastpath.py`` checks both agree), so no row is read differently.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ingest.headers import fold

#: Python's ``\\s`` in text (``str.isspace``), as a PostgreSQL regex bracket: any of these, a
#: leading or trailing space or two spaces in a row make a text cell non-canonical
PY_SPACE = "\\t\\n\\v\\f\\r\\u001c-\\u001f\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_CANONICAL_TEXT = f"^ | $|  |[{PY_SPACE}]"
ASCII_WORDS = "^[!-~]+( [!-~]+)*$"
TRUE_WORDS = ("1", "x", "true", "yes", "y", "co", "dung", "t", "v")
FALSE_WORDS = ("0", "false", "no", "n", "khong", "sai", "f")
#: field kinds the fast path parses in SQL (a file with a ``codes`` column takes the slow path)
KINDS = ("text", "int", "money", "float", "date", "bool", "choice", "year")
SQL_TYPE = {
    "text": "text",
    "int": "integer",
    "money": "bigint",
    "float": "double precision",
    "date": "date",
    "bool": "boolean",
    "choice": "text",
    "year": "smallint",
}


#: every day from 1900 to 2100 as people write it (2024-03-05, 05/03/2024, 5/3/2024) -> the date
#: (migration 0024): a hash join on it reads a date column far faster than taking each cell apart;
#: other forms (5.3.2024, 2024-3-5, another century) are parsed in Python
DATES = "import_date_forms"


class Params:
    """Bind parameters of the generated SQL (values from the importer's declarations, never typed in)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


def _range(value: str, lo: float | None, hi: float | None) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{value} >= {lo!r}")
    if hi is not None:
        parts.append(f"{value} <= {hi!r}")
    return " AND ".join(parts) or "true"


def parsed(
    kind: str,
    r: str,
    params: Params,
    *,
    choices: dict[str, str] | None = None,
    lo: float | None = None,
    hi: float | None = None,
    dates: str | None = None,
) -> tuple[str, str]:
    """(canonical, value): SQL over the non-empty text column ``r``; ``canonical`` is a boolean never
    NULL, ``value`` the stored value wherever ``canonical`` holds. A date is looked up: ``dates``
    is the alias of :data:`DATES` joined on ``r`` (``LEFT JOIN import_date_forms d ON d.s = r``)."""
    if kind == "text":
        # printable ASCII words with single spaces (most codes and many names): canonical at a glance
        return (
            f"(CASE WHEN {r} ~ {params.add(ASCII_WORDS)} THEN true "
            f"ELSE {r} !~ {params.add(NOT_CANONICAL_TEXT)} AND {r} IS NFC NORMALIZED END)"
        ), r
    if kind in ("int", "money", "year"):
        digits = 4 if kind == "year" else 9 if kind == "int" else 18
        if kind == "year":
            lo = max(1900, lo) if lo is not None else 1900
            hi = min(2100, hi) if hi is not None else 2100
        if kind == "money" and lo is None:
            lo = 0
        # digits only (translate is about twice as fast as a regex here), an optional leading minus
        bare = f"(CASE WHEN left({r}, 1) = '-' AND {kind!r} <> 'year' THEN substr({r}, 2) ELSE {r} END)"
        size = "= 4" if kind == "year" else f"BETWEEN 1 AND {digits}"
        digits_only = f"translate({bare}, '0123456789', '') = '' AND char_length({bare}) {size}"
        cast = f"{r}::{SQL_TYPE[kind] if kind != 'year' else 'integer'}"
        return f"(CASE WHEN {digits_only} THEN {_range(cast, lo, hi)} ELSE false END)", cast
    if kind == "float":
        pattern = params.add("^-?[0-9]{1,15}([.][0-9]{1,15})?$")
        return f"(CASE WHEN {r} ~ {pattern} THEN {_range(f'{r}::float8', lo, hi)} ELSE false END)", f"{r}::float8"
    if kind == "date":
        if dates is None:
            raise ValueError("a date is looked up in the dates table: give its alias")
        return f"({dates}.d IS NOT NULL)", f"{dates}.d"
    if kind == "bool":
        # the words as typed in lower, Title or UPPER case: one array lookup (other spellings: Python)
        true = params.add([v for w in TRUE_WORDS for v in dict.fromkeys((w, w.title(), w.upper()))])
        false = params.add([v for w in FALSE_WORDS for v in dict.fromkeys((w, w.title(), w.upper()))])
        return f"({r} = ANY({true}) OR {r} = ANY({false}))", f"({r} = ANY({true}))"
    if kind == "choice":
        stored = sorted(set((choices or {}).values()))
        folded = [fold(s) for s in stored]
        unique = [s for s, f in zip(stored, folded, strict=True) if folded.count(f) == 1]
        return f"({r} = ANY({params.add(unique)}))", r
    raise ValueError(f"no fast path for {kind}")


def cell_text(value: Any, kind: str) -> str | None:
    """A cell (an XLSX reader's number, date or text) as the text the fast path stages; parsing this
    text gives what parsing the cell gives (see :func:`ingest.tabular.Field.parse`)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("1" if value else "0") if kind == "bool" else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if kind == "date" else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


__all__ = ["KINDS", "Params", "cell_text", "parsed"]
