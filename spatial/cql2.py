"""CQL2-text filters (OGC API – Features Part 3) compiled to SQLAlchemy expressions.

A small recursive-descent parser, written here rather than taken from pygeofilter or cql2 (both
in the package index): what it accepts is exactly what we compile, every error names its
character position, and the output is SQLAlchemy over the allow-listed columns of one collection
with every literal a bound parameter - no SQL text is ever built from the filter.

Supported: comparisons (= <> < <= > >=), AND/OR/NOT, parentheses, [NOT] LIKE, [NOT] BETWEEN,
[NOT] IN (...), IS [NOT] NULL, S_INTERSECTS / S_WITHIN / S_CONTAINS / S_DISJOINT between the
geometry and a BBOX(...) or WKT literal (POINT, LINESTRING, POLYGON, MULTI…), DATE('…'),
TIMESTAMP('…'), TRUE/FALSE, numbers and 'strings' ('' escapes a quote).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    func,
    literal,
    not_,
    or_,
)

from spatial import ParameterError

GEOMETRY = "geometry"


class CQL2Error(ParameterError):
    """A filter that does not parse or names what it may not; ``position`` is 1-based."""

    def __init__(self, message: str, position: int):
        self.position = position
        super().__init__("filter", f"{message} at position {position}")


def kind_of(column: Any) -> str | None:
    """number, string, date, boolean or None (not queryable) for a column's SQL type."""
    t = column.type
    if isinstance(t, ARRAY):
        return None
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, (Integer, Numeric, Float)):
        return "number"
    if isinstance(t, (Date, DateTime)):
        return "date"
    if isinstance(t, (String, Text)):
        return "string"
    return None


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, op, punct, eof
    text: str
    pos: int  # 0-based


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
    | (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<ident>[A-Za-z_][A-Za-z0-9_:.]*)
    | (?P<op><>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_WKT_TYPES = ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON")
_SPATIAL = {
    "S_INTERSECTS": "ST_Intersects",
    "S_WITHIN": "ST_Within",
    "S_CONTAINS": "ST_Contains",
    "S_DISJOINT": "ST_Disjoint",
}


def _tokens(text: str) -> list[Token]:
    out, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            at = i + len(text[i:]) - len(text[i:].lstrip())
            raise CQL2Error(f"unexpected character {text[at]!r}", at + 1)
        kind = m.lastgroup or ""
        value = m.group(kind)
        start = m.start(kind)
        if kind == "quoted":
            kind, value = "ident", value[1:-1].replace('""', '"')
        out.append(Token(kind, value, start))
        i = m.end()
    out.append(Token("eof", "", len(text)))
    return out


@dataclass
class _Value:
    expr: Any
    kind: str | None  # number, string, date, boolean, geometry; None: NULL
    is_property: bool = False


class _Parser:
    def __init__(self, text: str, columns: dict[str, Any], geom: Any, srid: int):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.columns = columns
        self.geom = geom
        self.srid = srid

    # -- tokens
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, message: str, tok: Token | None = None) -> CQL2Error:
        return CQL2Error(message, (tok or self.tok).pos + 1)

    def keyword(self, *words: str) -> bool:
        if self.tok.kind == "ident" and self.tok.text.upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        tok = self.tok
        if tok.text.upper() != text or tok.kind in ("string", "eof") and text != "":
            found = "the end of the filter" if tok.kind == "eof" else repr(tok.text)
            raise self.error(f"expected {text!r}, found {found}")
        self.i += 1
        return tok

    # -- grammar
    def parse(self) -> ColumnElement[bool]:
        if self.tok.kind == "eof":
            raise self.error("the filter is empty")
        expr = self.disjunction()
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self.tok.text!r}")
        return expr

    def disjunction(self) -> Any:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def conjunction(self) -> Any:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def negation(self) -> Any:
        if self.keyword("NOT"):
            return not_(self.negation())
        return self.predicate()

    def predicate(self) -> Any:
        tok = self.tok
        if tok.text == "(":
            self.i += 1
            inner = self.disjunction()
            self.expect(")")
            return inner
        if tok.kind == "ident" and tok.text.upper() in _SPATIAL:
            return self.spatial()
        left = self.operand()
        op = self.tok
        if op.kind == "op":
            self.i += 1
            right = self.operand()
            self.same_kind(left, right, op)
            return _COMPARE[op.text](left.expr, right.expr)
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            self.expect("NULL")
            return left.expr.is_not(None) if negate else left.expr.is_(None)
        negate = self.keyword("NOT")
        if self.keyword("LIKE"):
            pattern = self.operand()
            if left.kind != "string" or pattern.kind != "string":
                raise self.error("LIKE compares text with a 'pattern'", op)
            expr = left.expr.like(pattern.expr)
        elif self.keyword("BETWEEN"):
            low = self.operand()
            self.expect("AND")
            high = self.operand()
            self.same_kind(left, low, op)
            self.same_kind(left, high, op)
            expr = left.expr.between(low.expr, high.expr)
        elif self.keyword("IN"):
            self.expect("(")
            items = [self.operand()]
            while self.tok.text == ",":
                self.i += 1
                items.append(self.operand())
            self.expect(")")
            for item in items:
                self.same_kind(left, item, op)
            expr = left.expr.in_([item.expr for item in items])
        else:
            found = "the end of the filter" if op.kind == "eof" else repr(op.text)
            raise self.error(f"expected a comparison, LIKE, BETWEEN, IN or IS NULL, found {found}", op)
        return not_(expr) if negate else expr

    def same_kind(self, left: _Value, right: _Value, at: Token) -> None:
        if left.kind is None or right.kind is None:
            raise self.error("NULL is compared with IS NULL", at)
        if left.kind != right.kind:
            raise self.error(f"cannot compare {left.kind} with {right.kind}", at)

    def spatial(self) -> Any:
        name = self.tok.text.upper()
        self.i += 1
        self.expect("(")
        a = self.geometry()
        self.expect(",")
        b = self.geometry()
        self.expect(")")
        return getattr(func, _SPATIAL[name])(a, b)

    def geometry(self) -> Any:
        tok = self.tok
        if tok.kind == "ident" and tok.text.upper() == "BBOX":
            self.i += 1
            self.expect("(")
            nums = [self.number()]
            while self.tok.text == ",":
                self.i += 1
                nums.append(self.number())
            self.expect(")")
            if len(nums) == 6:
                nums = [nums[0], nums[1], nums[3], nums[4]]
            if len(nums) != 4 or nums[0] > nums[2] or nums[1] > nums[3]:
                raise self.error("BBOX takes minx, miny, maxx, maxy", tok)
            return self.in_storage(func.ST_MakeEnvelope(*[literal(n) for n in nums], self.srid))
        if tok.kind == "ident" and tok.text.upper() in _WKT_TYPES:
            return self.in_storage(func.ST_GeomFromText(literal(self.wkt()), self.srid))
        if tok.kind == "ident" and tok.text in self.columns or tok.text == "geom":
            value = self.operand()
            if value.kind != GEOMETRY:
                raise self.error(f"{tok.text!r} is not a geometry", tok)
            return value.expr
        raise self.error("expected a geometry: the geometry property, BBOX(...) or a WKT literal", tok)

    def in_storage(self, geom: Any) -> Any:
        return geom if self.srid == 4326 else func.ST_Transform(geom, 4326)

    def wkt(self) -> str:
        """The WKT literal's text, checked by shapely so a broken one is a 400 with its position."""
        import shapely.wkt
        from shapely.errors import ShapelyError

        start = self.tok
        self.i += 1
        depth = 0
        end = start.pos + len(start.text)
        while True:
            tok = self.tok
            if tok.kind == "eof":
                raise self.error("the WKT literal is not closed", start)
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
            elif tok.kind not in ("number", "punct"):
                raise self.error(f"unexpected {tok.text!r} in a WKT literal", tok)
            self.i += 1
            end = tok.pos + len(tok.text)
            if depth == 0:
                break
        text = self.text[start.pos : end]
        try:
            shapely.wkt.loads(text)
        except (ShapelyError, ValueError) as exc:
            raise self.error(f"invalid WKT ({exc})", start) from None
        return text

    def number(self) -> float:
        tok = self.tok
        if tok.kind != "number":
            raise self.error("expected a number", tok)
        self.i += 1
        return float(tok.text)

    def operand(self) -> _Value:
        tok = self.tok
        self.i += 1
        if tok.kind == "number":
            value = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
            return _Value(literal(value), "number")
        if tok.kind == "string":
            return _Value(literal(tok.text[1:-1].replace("''", "'"), String), "string")
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                return _Value(literal(word == "TRUE", Boolean), "boolean")
            if word == "NULL":
                return _Value(None, None)
            if word in ("DATE", "TIMESTAMP") and self.tok.text == "(":
                self.i += 1
                raw = self.tok
                if raw.kind != "string":
                    raise self.error(f"{word} takes a quoted date", raw)
                self.i += 1
                self.expect(")")
                return _Value(literal(self.instant(word, raw), Date if word == "DATE" else DateTime), "date")
            if tok.text == "geom":
                return _Value(self.geom, GEOMETRY, True)
            if tok.text in self.columns:
                column = self.columns[tok.text]
                return _Value(column, kind_of(column), True)
            raise CQL2Error(
                f"{tok.text!r} is not queryable (queryables: {', '.join(['geom', *self.columns])})", tok.pos + 1
            )
        found = "the end of the filter" if tok.kind == "eof" else repr(tok.text)
        raise CQL2Error(f"expected a property or a value, found {found}", tok.pos + 1)

    def instant(self, word: str, raw: Token) -> date | datetime:
        text = raw.text[1:-1]
        try:
            return date.fromisoformat(text) if word == "DATE" else datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.error(f"{text!r} is not an ISO 8601 {word.lower()}", raw) from None


_COMPARE = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_filter(text: str, columns: dict[str, Any], geom: Any, srid: int = 4326) -> ColumnElement[bool]:
    """A CQL2-text filter as a SQLAlchemy condition over ``columns`` (queryable name -> column) and
    ``geom``; geometry literals are in ``srid`` (the ``filter-crs``). CQL2Error says what and where."""
    queryable = {name: col for name, col in columns.items() if kind_of(col) is not None}
    return _Parser(text, queryable, geom, srid).parse()
