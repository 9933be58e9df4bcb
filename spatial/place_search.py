"""Search the map's places by name or code: communes (both boundary versions), villages,
livelihood models, infrastructure works and water schemes.

Matching ignores case and Vietnamese diacritics ("lang son" finds "Lạng Sơn"): both sides are
folded to ASCII, the names in SQL by ``translate()`` (no extension needed), the query in Python.
The layers are read through ``spatial.layers``, so row-level security and soft deletes decide
what a caller finds, as on the map.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from spatial import ParameterError
from spatial.layers import LAYERS, LayerQuery
from spatial.models import AdminUnit
from spatial.params import check_text, whole_number

MIN_QUERY = 2
MAX_QUERY = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 50

#: result kind -> (layer, level, boundaries)
KINDS: dict[str, tuple[str, str | None, str | None]] = {
    "commune": ("admin_units", "commune", "current"),
    "legacy_commune": ("admin_units", "commune", "legacy"),
    "village": ("villages", None, None),
    "livelihood_model": ("livelihood_models", None, None),
    "infrastructure_work": ("infrastructure_works", None, None),
    "water_scheme": ("water_schemes", None, None),
}


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d" if ch == "đ" else "D"
    base = unicodedata.normalize("NFD", ch)
    if len(base) > 1 and base[0].isascii() and all(unicodedata.combining(c) for c in base[1:]):
        return base[0]
    return ch


#: every precomposed Latin letter with marks (Vietnamese's among them) and its bare letter
_ACCENTED = "".join(ch for ch in map(chr, range(0xC0, 0x1F00)) if _fold_char(ch) != ch)
_BARE = "".join(_fold_char(ch) for ch in _ACCENTED)


def fold(text: str) -> str:
    """Lower case without diacritics, as ``_folded`` computes it in SQL."""
    return "".join(_fold_char(ch) for ch in unicodedata.normalize("NFC", text)).lower()


def _folded(column: Any) -> Any:
    return func.lower(func.translate(column, literal(_ACCENTED), literal(_BARE)))


@dataclass(frozen=True)
class PlaceQuery:
    text: str
    limit: int = DEFAULT_LIMIT


def parse_place_query(args: dict[str, str]) -> PlaceQuery:
    """``q`` (2–100 characters after trimming) and ``limit`` (1–50); ParameterError names the bad one."""
    raw = (args.get("q") or "").strip()
    check_text("q", raw)
    if len(raw) < MIN_QUERY:
        raise ParameterError("q", f"give at least {MIN_QUERY} characters of a name or code")
    if len(raw) > MAX_QUERY:
        raise ParameterError("q", f"at most {MAX_QUERY} characters")
    return PlaceQuery(raw, whole_number(args.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_places(session: Session, q: PlaceQuery) -> list[dict[str, Any]]:
    """Places whose name or code contains the query, best match first (communes before villages
    before assets at the same match), each with its bounding box (a point's is a point)."""
    needle = fold(q.text)
    escaped = _escape_like(needle)
    contains, starts, word = f"%{escaped}%", f"{escaped}%", f"% {escaped}%"
    parts = []
    for order, (kind, (layer, level, boundaries)) in enumerate(KINDS.items()):
        rel = LAYERS[layer].relation(LayerQuery(level=level, boundaries=boundaries))
        name, code = _folded(rel.c.name), func.lower(rel.c.code)
        # a village or asset says its commune; a legacy commune its district (names repeat across
        # districts); a 2025 commune nothing (its parent is the province)
        district = aliased(AdminUnit, name="district")
        context: Any
        if kind == "legacy_commune":
            context = district.name
        elif layer == "admin_units":
            context = literal(None)
        else:
            context = rel.c.commune
        # the code itself; the name, with or without its unit type ("Xã Chi Lăng" for "chi lang");
        # a name or code starting with it, or a word of the name; anything containing it
        rank = case(
            (code == needle, 0),
            ((name == needle) | name.like(f"% {escaped}", escape="\\"), 1),
            (name.like(starts, escape="\\") | code.like(starts, escape="\\") | name.like(word, escape="\\"), 2),
            else_=3,
        )
        part = select(
            literal(kind).label("kind"),
            rel.c.code,
            rel.c.name,
            cast(context, rel.c.name.type).label("context"),
            (rank * len(KINDS) + order).label("rank"),
            rel.c.geom,
        ).select_from(rel)
        if kind == "legacy_commune":
            is_district = (district.boundary == "legacy") & (district.level == "district")
            part = part.outerjoin(district, (district.code == rel.c.parent_code) & is_district)
        parts.append(
            part.where(name.like(contains, escape="\\") | code.like(contains, escape="\\"))
            .order_by(rank, rel.c.name)  # each kind's best: the union is cut to ``limit`` once more
            .limit(q.limit)
        )
    found = union_all(*parts).subquery("found")
    box = func.ST_Envelope(found.c.geom)
    rows = session.execute(
        select(
            found.c.kind,
            found.c.code,
            found.c.name,
            found.c.context,
            cast(func.ST_XMin(box), Float),
            cast(func.ST_YMin(box), Float),
            cast(func.ST_XMax(box), Float),
            cast(func.ST_YMax(box), Float),
        )
        .order_by(found.c.rank, found.c.name, found.c.kind)
        .limit(q.limit)
    ).all()
    return [
        {
            "kind": kind,
            "code": code,
            "name": name,
            "context": context,
            "bbox": [round(v, 6) for v in bbox] if None not in bbox else None,
        }
        for kind, code, name, context, *bbox in rows
    ]
