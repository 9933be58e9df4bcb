"""OGC API – Features (Parts 1, 2 and 3) over the map layers of ``spatial.layers``.

Collections are the layers (administrative units split by level and boundary version, so each
collection has one geometry type and one meaning). Items pages are built by PostGIS as GeoJSON
text and handed on untouched; filters (bbox, datetime, CQL2) and sort keys address only the
layer's own columns, through bound parameters. Every query runs in the caller's session, so
row-level security scopes collections, counts, extents and features alike.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Integer, Text, bindparam, cast, func, literal, null, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from spatial import N_, NotFound, ParameterError
from spatial.cql2 import compile_filter, kind_of
from spatial.db import without_jit, without_parallel_workers
from spatial.layers import DEFAULT_LIMIT, LAYERS, MAX_LIMIT, LayerQuery, int_parameter
from spatial.models import LayerVersion

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: CRS URI -> (SRID, axis order swapped, decimals in output)
CRS: dict[str, tuple[int, bool, int]] = {
    CRS84: (4326, False, 7),
    "http://www.opengis.net/def/crs/EPSG/0/4326": (4326, True, 7),
    "http://www.opengis.net/def/crs/EPSG/0/3405": (3405, False, 2),  # VN-2000 / UTM 48N
    "http://www.opengis.net/def/crs/EPSG/0/3406": (3406, False, 2),  # VN-2000 / UTM 49N
}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/sortables",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
]


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    layer: str
    level: str | None = None
    boundaries: str | None = None

    @property
    def query(self) -> LayerQuery:
        return LayerQuery(level=self.level, boundaries=self.boundaries)


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection("communes", N_("Communes (2025 boundaries)"), "admin_units", "commune", "current"),
        Collection("provinces", N_("Province (2025 boundaries)"), "admin_units", "province", "current"),
        Collection(
            "legacy_communes", N_("Communes (boundaries until 30 June 2025)"), "admin_units", "commune", "legacy"
        ),
        Collection("legacy_districts", N_("Districts (until 30 June 2025)"), "admin_units", "district", "legacy"),
        Collection("villages", N_("Villages"), "villages"),
        Collection("households", N_("Households (no names or ID numbers)"), "households"),
        Collection("livelihood_models", N_("Livelihood models"), "livelihood_models"),
        Collection("infrastructure_works", N_("Infrastructure works"), "infrastructure_works"),
        Collection("water_schemes", N_("Water schemes"), "water_schemes"),
        Collection("fallback_risk", N_("Households at risk of falling back into poverty"), "fallback_risk"),
    )
}


def collection(collection_id: str) -> Collection:
    if collection_id not in COLLECTIONS:
        raise NotFound(f"no collection {collection_id!r} (collections: {', '.join(COLLECTIONS)})")
    return COLLECTIONS[collection_id]


def crs_srid(uri: str | None, parameter: str) -> tuple[str, int, bool, int]:
    """(canonical URI, SRID, axes swapped, decimals) of a CRS named by URI, ``EPSG:n`` or ``CRS84``."""
    if uri in (None, ""):
        uri = CRS84
    assert uri is not None
    short = re.fullmatch(r"(?:\[?EPSG:(\d+)\]?)", uri, re.IGNORECASE)
    if short:
        uri = f"http://www.opengis.net/def/crs/EPSG/0/{short.group(1)}"
    elif uri.upper() in ("CRS84", "[OGC:CRS84]", "OGC:CRS84"):
        uri = CRS84
    uri = uri.replace("https://", "http://")
    if uri not in CRS:
        raise ParameterError(parameter, f"unsupported CRS {uri!r}", list(CRS))
    return (uri, *CRS[uri])


# ----------------------------------------------------------------------------- items query
@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: str = CRS84
    crs: str = CRS84
    datetime: tuple[date | None, date | None] | None = None
    filter: str | None = None
    filter_crs: str = CRS84
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, descending)
    #: keyset paging: the page starts after this row (the ``next`` link of an unsorted page says
    #: where the page before it ended), read by index instead of skipping ``offset`` rows
    after: int | None = None
    args: dict[str, str] = field(default_factory=dict)


KNOWN_PARAMETERS = frozenset(
    {
        "f",
        "limit",
        "offset",
        "after",
        "bbox",
        "bbox-crs",
        "crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
    }
)


def parse_items_query(c: Collection, args: dict[str, str]) -> ItemsQuery:
    """Check the items parameters; ParameterError names the one that is wrong."""
    limit = int_parameter(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_parameter(args, "offset", 0, 0, 10**9)
    bbox_crs = crs_srid(args.get("bbox-crs"), "bbox-crs")[0]
    crs = crs_srid(args.get("crs"), "crs")[0]
    filter_crs = crs_srid(args.get("filter-crs"), "filter-crs")[0]
    bbox = _bbox(args.get("bbox"))
    lang = args.get("filter-lang") or "cql2-text"
    if lang != "cql2-text":
        raise ParameterError("filter-lang", f"unsupported filter language {lang!r}", ["cql2-text"])
    when = _datetime(args.get("datetime"))
    if when is not None and LAYERS[c.layer].temporal is None:
        raise ParameterError("datetime", f"the {c.id} collection has no time")
    columns = _columns(c)
    sortby = []
    for part in (args.get("sortby") or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in columns or kind_of(columns[name]) is None:
            raise ParameterError("sortby", f"cannot sort by {name!r}", sortables(c))
        sortby.append((name, desc))
    unknown = set(args) - KNOWN_PARAMETERS
    if unknown:
        raise ParameterError(sorted(unknown)[0], "unknown parameter", sorted(KNOWN_PARAMETERS))
    after = int_parameter(args, "after", 0, 0, 2**31 - 1) if args.get("after") not in (None, "") else None
    if after is not None and sortby:
        raise ParameterError("after", "a page of a sorted collection is addressed by offset, not after")
    return ItemsQuery(
        limit=limit,
        offset=offset,
        bbox=bbox,
        bbox_crs=bbox_crs,
        crs=crs,
        datetime=when,
        filter=args.get("filter") or None,
        filter_crs=filter_crs,
        sortby=tuple(sortby),
        after=after,
        args=args,
    )


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw in (None, ""):
        return None
    assert raw is not None
    try:
        nums = [float(p) for p in raw.split(",")]
    except ValueError:
        raise ParameterError("bbox", f"{raw!r} is not 4 (or 6) comma-separated numbers") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or any(n != n or n in (float("inf"), float("-inf")) for n in nums):
        raise ParameterError("bbox", f"{raw!r} is not 4 (or 6) comma-separated numbers")
    if nums[0] > nums[2] or nums[1] > nums[3]:
        raise ParameterError("bbox", f"{raw!r}: the lower corner comes first (minx,miny,maxx,maxy)")
    return (nums[0], nums[1], nums[2], nums[3])


def _instant(raw: str) -> date | None:
    if raw in ("", ".."):
        return None
    try:
        if "T" in raw:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        return date.fromisoformat(raw)
    except ValueError:
        raise ParameterError("datetime", f"{raw!r} is not an RFC 3339 date or date-time") from None


def _datetime(raw: str | None) -> tuple[date | None, date | None] | None:
    """An instant (start = end) or an interval ``start/end`` with ``..`` for an open end."""
    if raw in (None, ""):
        return None
    assert raw is not None
    if "/" in raw:
        start, _, end = raw.partition("/")
        interval = (_instant(start), _instant(end))
        if interval[0] and interval[1] and interval[0] > interval[1]:
            raise ParameterError("datetime", f"{raw!r}: the interval ends before it starts")
        return interval
    instant = _instant(raw)
    if instant is None:
        raise ParameterError("datetime", f"{raw!r} is not a date or an interval")
    return (instant, instant)


# ----------------------------------------------------------------------------- queries
def _relation(c: Collection) -> Any:
    return LAYERS[c.layer].relation(c.query)


def _columns(c: Collection, rel: Any = None) -> dict[str, Any]:
    rel = rel if rel is not None else _relation(c)
    return {col.name: col for col in rel.c if col.name not in ("id", "geom")}


def _conditions(c: Collection, q: ItemsQuery, rel: Any) -> list[Any]:
    conds: list[Any] = []
    if q.bbox is not None:
        _, srid, swapped, _ = crs_srid(q.bbox_crs, "bbox-crs")
        x1, y1, x2, y2 = q.bbox
        if swapped:
            x1, y1, x2, y2 = y1, x1, y2, x2
        envelope = func.ST_MakeEnvelope(literal(x1), literal(y1), literal(x2), literal(y2), srid)
        if srid != 4326:
            envelope = func.ST_Transform(envelope, 4326)
        conds.append(func.ST_Intersects(rel.c.geom, envelope))
    temporal = LAYERS[c.layer].temporal
    if q.datetime is not None and temporal is not None:
        start_col = rel.c[temporal[0]]
        end_col = rel.c[temporal[1]] if temporal[1] else start_col
        if isinstance(start_col.type, (Date, DateTime)):
            lo, hi = q.datetime
            if hi is not None:
                conds.append(start_col <= hi)
            if lo is not None:
                conds.append(or_(end_col.is_(None), end_col >= lo) if temporal[1] else start_col >= lo)
        else:  # a year
            lo, hi = q.datetime
            if hi is not None:
                conds.append(start_col <= hi.year)
            if lo is not None:
                conds.append(start_col >= lo.year)
    if q.filter:
        srid = crs_srid(q.filter_crs, "filter-crs")[1]
        conds.append(compile_filter(q.filter, _columns(c, rel), rel.c.geom, srid))
    return conds


def _geometry_out(geom: Any, crs: str) -> Any:
    _, srid, swapped, decimals = crs_srid(crs, "crs")
    if srid != 4326:
        geom = func.ST_Transform(geom, srid)
    if swapped:
        geom = func.ST_FlipCoordinates(geom)
    return cast(func.ST_AsGeoJSON(geom, decimals, 0), JSON)


def _feature(rel: Any, columns: dict[str, Any], crs: str) -> Any:
    args: list[Any] = []
    for name, col in columns.items():
        args += [cast(literal(name), Text), col]
    return func.json_build_object(
        "type",
        "Feature",
        "id",
        rel.c.code,
        "geometry",
        _geometry_out(rel.c.geom, crs),
        "properties",
        func.json_build_object(*args),
    )


@dataclass(frozen=True)
class ItemsPage:
    matched: int
    returned: int
    features_json: str  # the GeoJSON features array as PostgreSQL wrote it
    last_id: int | None = None  # the page's last row (ids ascending when unsorted): the next page starts after it


#: the tile layer whose version moves with every write to the tables a collection's rows and
#: filters read (layer_versions, migration 0013): a count is valid while that version stands
COUNT_VERSION_LAYER = {
    "admin_units": "communes",
    "villages": "villages",
    "households": "households",
    "livelihood_models": "livelihood_models",
    "infrastructure_works": "infrastructure_works",
    "water_schemes": "water_schemes",
    "fallback_risk": "fallback_risk",
}
#: numberMatched of recent queries, by (collection, filters, scope, layer version); bounded
COUNT_CACHE_SIZE = 2048
_counts: OrderedDict[tuple[Any, ...], int] = OrderedDict()
_counts_lock = threading.Lock()


def _count_key(session: Session, c: Collection, q: ItemsQuery) -> tuple[Any, ...] | None:
    """The key a page's numberMatched is cached under, or None when it must be counted: the
    collection and every parameter that filters (not the page, the order or the output CRS), the
    caller's scope and the layer's version, read in the request's transaction. A transaction that
    has written anything counts afresh: its version may be one that a rollback takes back."""
    layer = COUNT_VERSION_LAYER.get(c.layer)
    if layer is None:
        return None
    row = session.execute(
        select(func.sinhke_scope_key(), LayerVersion.version, func.txid_current_if_assigned()).where(
            LayerVersion.layer == layer
        )
    ).one_or_none()
    if row is None or row[2] is not None:
        return None
    filters = (q.bbox, q.bbox_crs, q.datetime, q.filter, q.filter_crs, q.args.get("filter-lang"))
    return (c.id, filters, row[0], layer, row[1])


def _cached_count(key: tuple[Any, ...] | None) -> int | None:
    if key is None:
        return None
    with _counts_lock:
        hit = _counts.get(key)
        if hit is not None:
            _counts.move_to_end(key)
        return hit


def _remember_count(key: tuple[Any, ...] | None, matched: int) -> None:
    if key is None:
        return
    with _counts_lock:
        _counts[key] = matched
        while len(_counts) > COUNT_CACHE_SIZE:
            _counts.popitem(last=False)


def _ordered(cols: list[Any], sortby: Any) -> list[Any]:
    """The columns ascending or descending as ``sortby`` (name, descending) says."""
    return [col.desc() if desc else col.asc() for col, (_name, desc) in zip(cols, sortby, strict=True)]


#: a page from this offset on skips its rows in one process (``without_parallel_workers``)
SERIAL_FROM_OFFSET = 10_000


def items(session: Session, c: Collection, q: ItemsQuery) -> ItemsPage:
    """One page of a collection: the count of all that match and the page's features, in one query."""
    without_jit(session)
    # numberMatched counts every row that matches (a million households: most of a page's time),
    # so it is counted once per scope and filter and kept until the layer's data changes
    count_key = _count_key(session, c, q)
    known = _cached_count(count_key)
    if known is not None and q.after is None and q.offset >= SERIAL_FROM_OFFSET:
        without_parallel_workers(session)  # counted already: the statement only skips to its page
    plain = q.bbox is None and q.datetime is None and q.filter is None and not q.sortby
    if plain and known is not None:
        # what a client reading a whole collection asks for, page after page (GDAL, QGIS): the
        # statement is built once; building it and its cache key was a third of such a page's time
        stmt = _plain_page(c, q.crs, q.after is not None)
    else:
        stmt = _page_statement(c, q, known)
    params = {"matched": known, "after": q.after, "page_limit": q.limit, "page_offset": q.offset}
    row = session.execute(stmt, params).one()
    if known is None:
        _remember_count(count_key, int(row[0]))
    return ItemsPage(matched=row[0], returned=row[1], features_json=row[3], last_id=row[2])


@cache
def _plain_page(c: Collection, crs: str, keyset: bool) -> Any:
    return _page_statement(c, ItemsQuery(crs=crs, after=0 if keyset else None), 0)


def _page_statement(c: Collection, q: ItemsQuery, known: int | None) -> Any:
    """The page's statement: its count (bound as ``matched`` when ``known``), then the features of
    the rows from ``page_offset`` (or after ``after``, keyset paging) to ``page_limit`` of them."""
    rel = _relation(c)
    conds = _conditions(c, q, rel)
    columns = _columns(c, rel)
    matched = (
        bindparam("matched", type_=Integer)
        if known is not None
        else select(func.count()).select_from(rel).where(*conds).scalar_subquery()
    )
    # the page's ids first, features only for them: building a feature for every row up to the
    # offset made reading a collection page by page quadratic. The page carries its sort keys so
    # its features are aggregated in the same order (a row_number() over every row up to the
    # offset took as long again as the offset itself)
    keys = [columns[name].label(f"k{i}") for i, (name, _desc) in enumerate(q.sortby)]
    # after a known row (an unsorted page's next link): an index range, not an offset to skip
    keyset = [rel.c.id > bindparam("after", type_=Integer)] if q.after is not None else []
    ids = (
        select(rel.c.id, *keys)
        .where(*conds, *keyset)
        .order_by(*_ordered([columns[name] for name, _ in q.sortby], q.sortby), rel.c.id)
        .limit(bindparam("page_limit", type_=Integer))
        .offset(0 if q.after is not None else bindparam("page_offset", type_=Integer))
        .subquery("ids")
    )
    page = (
        select(_feature(rel, columns, q.crs).label("f"), ids.c.id.label("pid"), *(ids.c[k.name] for k in keys))
        .join(ids, ids.c.id == rel.c.id)
        .subquery("page")
    )
    in_order = [*_ordered([page.c[k.name] for k in keys], q.sortby), page.c.pid]
    features = (
        select(
            func.count().label("returned"),
            func.max(page.c.pid).label("last_id"),
            cast(func.coalesce(func.json_agg(aggregate_order_by(page.c.f, *in_order)), func.json_build_array()), Text),
        )
        .select_from(page)
        .subquery("features")
    )
    return select(matched, *features.c)


def item(session: Session, c: Collection, feature_id: str, crs: str = CRS84) -> str:
    """One feature as GeoJSON text; NotFound when it does not exist or is outside the scope."""
    rel = _relation(c)
    body = session.scalar(
        select(cast(_feature(rel, _columns(c, rel), crs), Text)).where(rel.c.code == feature_id).limit(1)
    )
    if body is None:
        raise NotFound(f"no feature {feature_id!r} in {c.id}")
    return body


def download_rows(session: Session, c: Collection, q: ItemsQuery, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """Every matching feature (no paging) as a dict of its properties and ``wkb`` (EPSG:4326 or the
    ``crs`` asked for), read through a server-side cursor ``chunk`` rows at a time."""
    without_jit(session)
    rel = _relation(c)
    columns = _columns(c, rel)
    _, srid, _, _ = crs_srid(q.crs, "crs")
    geom = rel.c.geom if srid == 4326 else func.ST_Transform(rel.c.geom, srid)
    order = [columns[name].desc() if desc else columns[name].asc() for name, desc in q.sortby] + [rel.c.id]
    stmt = (
        select(*columns.values(), func.ST_AsBinary(geom).label("wkb"), func.GeometryType(rel.c.geom).label("gtype"))
        .where(*_conditions(c, q, rel))
        .order_by(*order)
    )
    result = session.execute(stmt, execution_options={"yield_per": chunk})
    for row in result:
        yield row._asdict()


def download_columns(c: Collection) -> list[str]:
    return list(_columns(c))


# ----------------------------------------------------------------------------- metadata
def sortables(c: Collection) -> list[str]:
    return [name for name, col in _columns(c).items() if kind_of(col) is not None]


def queryables(c: Collection, url: str) -> dict[str, Any]:
    """JSON Schema of what a filter may name (Part 3)."""
    json_types = {"number": "number", "string": "string", "boolean": "boolean", "date": "string"}
    props: dict[str, Any] = {
        "geom": {"format": f"geometry-{LAYERS[c.layer].geometry_type.lower().replace('geometry', 'any')}"}
    }
    for name, col in _columns(c).items():
        kind = kind_of(col)
        if kind is None:
            continue
        schema: dict[str, Any] = {"title": name, "type": json_types[kind]}
        if kind == "date":
            schema["format"] = "date-time" if isinstance(col.type, DateTime) else "date"
        props[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
    }


def collection_extent(session: Session, c: Collection) -> dict[str, Any]:
    """The spatial (CRS84) and, where the layer has time, temporal extent of what the caller sees."""
    rel = _relation(c)
    extent = func.ST_Extent(rel.c.geom)
    temporal = LAYERS[c.layer].temporal
    cols: list[Any] = [func.ST_XMin(extent), func.ST_YMin(extent), func.ST_XMax(extent), func.ST_YMax(extent)]
    if temporal is not None:
        end = rel.c[temporal[1]] if temporal[1] else rel.c[temporal[0]]
        cols += [func.min(rel.c[temporal[0]]), func.max(end) if temporal[1] is None else null()]
    row = session.execute(select(*cols)).one()
    out: dict[str, Any] = {}
    if row[0] is not None:
        out["spatial"] = {"bbox": [[round(float(v), 6) for v in row[:4]]], "crs": CRS84}
    if temporal is not None:
        out["temporal"] = {
            "interval": [[_rfc3339(row[4]), _rfc3339(row[5])]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return out


def _rfc3339(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):
        return f"{value}-01-01T00:00:00Z"
    if isinstance(value, datetime):
        return value.isoformat()
    return f"{value.isoformat()}T00:00:00Z"


def visible_collections(session: Session) -> list[Collection]:
    """The collections holding anything the caller may see (row-level security decides)."""
    out = []
    for c in COLLECTIONS.values():
        rel = _relation(c)
        if session.scalar(select(literal(True)).select_from(rel).limit(1)):
            out.append(c)
    return out


def geometry_kind(c: Collection) -> str:
    return LAYERS[c.layer].geometry_type


def download_kinds(c: Collection) -> dict[str, str | None]:
    """Column -> integer, number, boolean or string: the field types of a GeoPackage or Shapefile."""
    from sqlalchemy import Integer

    out: dict[str, str | None] = {}
    for name, col in _columns(c).items():
        kind = kind_of(col)
        if kind == "number" and isinstance(col.type, Integer):
            kind = "integer"
        out[name] = kind if kind in ("integer", "number", "boolean") else "string"
    return out
