"""OGC SensorThings API v1.1 (read): entity sets over the sensor tables, and the query options.

Every request becomes one SELECT per entity set touched (the page, and one per expanded
navigation), built from this module's own column expressions; what comes from the client is a
property name looked up in an allow-list or a literal bound as a parameter. ``$filter`` is a
small OData subset: comparisons (eq ne gt ge lt le) of a property with a literal, joined by
and/or/not and parentheses. Row-level security scopes every read to the caller's communes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError

#: $top when none is asked for, and the most one page may hold
DEFAULT_TOP = 100
MAX_TOP = 10_000
#: the most members of an expanded collection per entity
EXPAND_TOP = 100
ISO = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


@dataclass(frozen=True)
class Nav:
    """A navigation property: the target set's rows whose ``target_key`` equals the parent's ``parent_key``."""

    target: str
    target_key: str
    parent_key: str
    single: bool


@dataclass(frozen=True)
class EntitySet:
    name: str
    source: str
    #: the id as SensorThings shows it (an expression), and how one id is matched
    id_sql: str
    #: property -> SQL expression (what a response shows)
    properties: dict[str, str]
    #: property -> (SQL expression, type: num | time | text), for $filter and $orderby
    comparable: dict[str, tuple[str, str]]
    default_order: tuple[str, ...]
    navigation: dict[str, Nav] = field(default_factory=dict)


#: an observation's id: its datastream and time in microseconds (date_part's double is exact to the
#: microsecond until the year 2255, and cheaper than extract's numeric)
_OBS_ID = "o.datastream_id || '_' || (date_part('epoch', o.phenomenon_time) * 1000000)::bigint"
SETS: dict[str, EntitySet] = {
    s.name: s
    for s in (
        EntitySet(
            "Things",
            "sensor_things t WHERE t.deleted_at IS NULL",
            "t.id",
            {
                "name": "t.name",
                "description": "t.description",
                "properties": "jsonb_build_object('code', t.code, 'kind', t.kind, 'commune', "
                "(SELECT c.code FROM admin_units c WHERE c.id = t.commune_id)) || t.properties",
            },
            {"@iot.id": ("t.id", "num"), "name": ("t.name", "text"), "description": ("t.description", "text")},
            ("t.id",),
            {
                "Locations": Nav("Locations", "l.id", "t.id", False),
                "Datastreams": Nav("Datastreams", "d.thing_id", "t.id", False),
            },
        ),
        EntitySet(
            "Locations",
            "sensor_things l WHERE l.deleted_at IS NULL",
            "l.id",
            {
                "name": "l.name",
                "description": "'Where ' || l.code || ' stands'",
                "encodingType": "'application/geo+json'",
                "location": "ST_AsGeoJSON(l.geom, 6)::json",
            },
            {"@iot.id": ("l.id", "num"), "name": ("l.name", "text")},
            ("l.id",),
            {"Things": Nav("Things", "t.id", "l.id", False)},
        ),
        EntitySet(
            "Datastreams",
            "sensor_datastreams d WHERE d.deleted_at IS NULL",
            "d.id",
            {
                "name": "d.name",
                "description": "d.description",
                "observationType": "'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement'",
                "unitOfMeasurement": "json_build_object('name', d.unit_name, 'symbol', d.unit_symbol, "
                "'definition', 'http://unitsofmeasure.org/ucum.html')",
                "properties": "json_build_object('quantity', d.quantity, 'expectedInterval', d.expected_interval_s, "
                "'validRange', json_build_array(d.valid_min, d.valid_max))",
                "phenomenonTime": "(SELECT "
                + ISO.format("min(o.phenomenon_time)")
                + " || '/' || "
                + ISO.format("max(o.phenomenon_time)")
                + " FROM sensor_observations o WHERE o.datastream_id = d.id)",
            },
            {"@iot.id": ("d.id", "num"), "name": ("d.name", "text"), "properties/quantity": ("d.quantity", "text")},
            ("d.id",),
            {
                "Thing": Nav("Things", "t.id", "d.thing_id", True),
                "Sensor": Nav("Sensors", "s.id", "d.sensor_id", True),
                "ObservedProperty": Nav("ObservedProperties", "p.id", "d.observed_property_id", True),
                "Observations": Nav("Observations", "o.datastream_id", "d.id", False),
            },
        ),
        EntitySet(
            "Sensors",
            "sensor_sensors s WHERE true",
            "s.id",
            {
                "name": "s.name",
                "description": "s.description",
                "encodingType": "s.encoding_type",
                "metadata": "s.metadata",
            },
            {"@iot.id": ("s.id", "num"), "name": ("s.name", "text")},
            ("s.id",),
            {"Datastreams": Nav("Datastreams", "d.sensor_id", "s.id", False)},
        ),
        EntitySet(
            "ObservedProperties",
            "sensor_observed_properties p WHERE true",
            "p.id",
            {"name": "p.name", "definition": "p.definition", "description": "p.description"},
            {"@iot.id": ("p.id", "num"), "name": ("p.name", "text")},
            ("p.id",),
            {"Datastreams": Nav("Datastreams", "d.observed_property_id", "p.id", False)},
        ),
        EntitySet(
            "Observations",
            "sensor_observations o WHERE true",
            _OBS_ID,
            {
                "phenomenonTime": ISO.format("o.phenomenon_time"),
                "resultTime": ISO.format("o.result_time"),
                "result": "o.value",
            },
            {
                "phenomenonTime": ("o.phenomenon_time", "time"),
                "resultTime": ("o.result_time", "time"),
                "result": ("o.value", "num"),
                "Datastream/@iot.id": ("o.datastream_id", "num"),
            },
            ("o.datastream_id", "o.phenomenon_time"),
            {"Datastream": Nav("Datastreams", "d.id", "o.datastream_id", True)},
        ),
    )
}


# ----------------------------------------------------------------------------- $filter
_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^']|'')*')"
    r"|(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<word>[A-Za-z@][\w@./]*))"
)
_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _tokens(source: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            raise ParameterError("$filter", f"cannot read {source[pos : pos + 20]!r} at position {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Filter:
    """Recursive descent over the tokens, writing SQL with a bound parameter per literal."""

    def __init__(self, entity: EntitySet, source: str, params: dict[str, Any]):
        self.entity, self.tokens, self.i, self.params = entity, _tokens(source), 0, params

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ParameterError("$filter", "the filter ends too early")
        self.i += 1
        return token

    def parse(self) -> str:
        sql = self.disjunction()
        if self.peek() is not None:
            raise ParameterError("$filter", f"unexpected {self.peek()[1]!r} at position {self.peek()[2]}")  # type: ignore[index]
        return sql

    def disjunction(self) -> str:
        parts = [self.conjunction()]
        while (t := self.peek()) and t[0] == "word" and t[1] == "or":
            self.i += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def conjunction(self) -> str:
        parts = [self.negation()]
        while (t := self.peek()) and t[0] == "word" and t[1] == "and":
            self.i += 1
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def negation(self) -> str:
        t = self.peek()
        if t and t[0] == "word" and t[1] == "not":
            self.i += 1
            return f"NOT ({self.negation()})"
        if t and t[0] == "lp":
            self.i += 1
            inner = self.disjunction()
            if self.take()[0] != "rp":
                raise ParameterError("$filter", f"a parenthesis opened at position {t[2]} is not closed")
            return f"({inner})"
        return self.comparison()

    def comparison(self) -> str:
        left, op, right = self.take(), self.take(), self.take()
        if op[0] != "word" or op[1] not in _OPS:
            raise ParameterError("$filter", f"{op[1]!r} at position {op[2]} is not a comparison", list(_OPS))
        flipped = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
        sql_op = _OPS[op[1]]
        if left[0] != "word" and right[0] == "word":
            left, right, sql_op = right, left, flipped.get(sql_op, sql_op)
        if left[0] != "word" or left[1] not in self.entity.comparable:
            raise ParameterError(
                "$filter", f"{left[1]!r} is not a property of {self.entity.name}", list(self.entity.comparable)
            )
        column, kind = self.entity.comparable[left[1]]
        name = f"f{len(self.params)}"
        self.params[name] = _literal(right, kind, left[1])
        return f"{column} {sql_op} :{name}"


def _literal(token: tuple[str, str, int], kind: str, prop: str) -> Any:
    what, value, pos = token
    if kind == "time" and what == "time":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "num" and what == "num":
        return float(value)
    if kind == "text" and what == "str":
        return value[1:-1].replace("''", "'")
    expected = {"time": "a time such as 2026-07-01T00:00:00Z", "num": "a number", "text": "a 'quoted' string"}
    raise ParameterError("$filter", f"{prop} compares with {expected[kind]}, not {value!r} (position {pos})")


# ----------------------------------------------------------------------------- query options
@dataclass(frozen=True)
class Options:
    top: int
    skip: int
    count: bool
    order: list[str]
    select: list[str] | None
    expand: list[str]
    where: str
    params: dict[str, Any]


def _whole(args: dict[str, str], name: str, default: int, most: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ParameterError(name, f"{raw!r} is not a whole number ≥ 0")
    value = int(raw)
    if value > most:
        raise ParameterError(name, f"{value} is more than {most}")
    return value


def parse_options(entity: EntitySet, args: dict[str, str]) -> Options:
    known = {"$top", "$skip", "$count", "$orderby", "$select", "$expand", "$filter", "$resultFormat"}
    unknown = sorted(k for k in args if k.startswith("$") and k not in known)
    if unknown:
        raise ParameterError(unknown[0], "is not a query option", sorted(known))
    count = args.get("$count", "false")
    if count not in ("true", "false"):
        raise ParameterError("$count", f"{count!r} is neither true nor false")
    order: list[str] = []
    for part in filter(None, (p.strip() for p in args.get("$orderby", "").split(","))):
        prop, _, direction = part.partition(" ")
        direction = direction.strip().lower() or "asc"
        if prop not in entity.comparable or direction not in ("asc", "desc"):
            raise ParameterError("$orderby", f"cannot order {entity.name} by {part!r}", list(entity.comparable))
        order.append(f"{entity.comparable[prop][0]} {direction.upper()}")
    order += [f"{column} ASC" for column in entity.default_order]
    select = None
    if args.get("$select"):
        select = [p.strip() for p in args["$select"].split(",") if p.strip()]
        allowed = ["@iot.id", *entity.properties]
        bad = [p for p in select if p not in allowed]
        if bad:
            raise ParameterError("$select", f"{bad[0]!r} is not a property of {entity.name}", allowed)
    expand = [p.strip() for p in args.get("$expand", "").split(",") if p.strip()]
    for nav in expand:
        if nav not in entity.navigation:
            raise ParameterError("$expand", f"{nav!r} is not a navigation of {entity.name}", list(entity.navigation))
    params: dict[str, Any] = {}
    where = _Filter(entity, args["$filter"], params).parse() if args.get("$filter", "").strip() else ""
    return Options(
        top=_whole(args, "$top", DEFAULT_TOP, MAX_TOP),
        skip=_whole(args, "$skip", 0, 10**9),
        count=count == "true",
        order=order,
        select=select,
        expand=expand,
        where=where,
        params=params,
    )


# ----------------------------------------------------------------------------- reading
def _columns(entity: EntitySet, select: list[str] | None) -> str:
    props = [p for p in entity.properties if select is None or p in select]
    cols = [f'{entity.id_sql} AS "@iot.id"'] + [f'{entity.properties[p]} AS "{p}"' for p in props]
    cols += [f'{nav.parent_key} AS "_k_{name}"' for name, nav in entity.navigation.items()]
    return ", ".join(cols)


def _id_condition(entity: EntitySet, raw: str, params: dict[str, Any]) -> str:
    """The WHERE of one entity by its @iot.id (Observations: ``datastream_microseconds``)."""
    raw = raw.strip("'")
    if entity.name == "Observations":
        ds, _, micros = raw.partition("_")
        if not (ds.isdigit() and micros.lstrip("-").isdigit()):
            raise NotFound(f"no observation {raw!r}")
        params.update(id_ds=int(ds), id_us=int(micros))
        return "o.datastream_id = :id_ds AND o.phenomenon_time = to_timestamp(:id_us / 1000000.0)"
    if not raw.isdigit():
        raise NotFound(f"no {entity.name} {raw!r}")
    params["id"] = int(raw)
    return f"{entity.id_sql} = :id"


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


@dataclass(frozen=True)
class Resource:
    entity: EntitySet
    id: str | None = None
    nav: str | None = None


_PATH = re.compile(r"^(?P<set>[A-Za-z]+)(?:\((?P<id>\d+|'[^']*'|[\d_]+)\))?(?:/(?P<nav>[A-Za-z]+))?$")


def resolve(path: str) -> tuple[Resource, EntitySet, bool]:
    """The resource a path names: what is read, from which set, and whether it is one entity."""
    m = _PATH.match(path.strip("/"))
    if m is None or m.group("set") not in SETS:
        raise NotFound(f"no SensorThings resource {path!r}; entity sets: {', '.join(SETS)}")
    entity = SETS[m.group("set")]
    resource = Resource(entity, m.group("id"), m.group("nav"))
    if resource.nav is not None:
        if resource.id is None or resource.nav not in entity.navigation:
            raise NotFound(f"{entity.name} has no navigation {resource.nav!r}; it has {', '.join(entity.navigation)}")
        nav = entity.navigation[resource.nav]
        return resource, SETS[nav.target], nav.single
    return resource, entity, resource.id is not None


#: Observations' properties are numbers and times, never text to escape: their JSON is written
#: by concatenation, about half the work of json_build_object; a time is a quoted ISO string
_PLAIN = {"phenomenonTime": True, "resultTime": True, "result": False}
#: an observation's id quoted the OData way in its links: Observations('12_1719792000000000')
_OBS_KEY = "'''' || {} || ''''"


class _Sql(str):
    """An SQL expression among the literal texts of ``_concat``."""


def _concat(pieces: list[str | _Sql]) -> str:
    """One SQL text expression of literal texts and expressions (``_Sql``), adjacent literals
    merged into one: each ``||`` copies the row's text so far, and a month of readings is
    8,640 rows of them."""
    out: list[str] = []
    literal = ""
    for piece in pieces:
        if isinstance(piece, _Sql):
            if literal:
                out.append("'" + literal.replace("'", "''") + "'")
                literal = ""
            out.append(piece)
        else:
            literal += piece
    if literal:
        out.append("'" + literal.replace("'", "''") + "'")
    return " || ".join(out)


def _entity_json(entity: EntitySet, select: list[str] | None, top: int) -> str:
    """SQL aggregating the first ``top`` rows ``x`` (of ``_columns``, numbered ``x._n``) into the JSON
    array ``_dress`` would make of them: the id, its links unless $select chose, the properties.
    Binds ``:base`` (for json_build_object) and ``:base_json`` (the base, JSON-escaped, for
    concatenation). An empty page is ``[]``."""
    keep = f"FILTER (WHERE x._n <= {top})"
    ident = 'x."@iot.id"'
    chosen = [p for p in entity.properties if select is None or p in select]
    navs = list(entity.navigation) if select is None else []
    if entity.name == "Observations" and set(chosen) <= set(_PLAIN):
        link: list[str | _Sql] = [_Sql(":base_json"), "/Observations('", _Sql(ident), "')"]
        pieces: list[str | _Sql] = ["{"]
        fields: list[list[str | _Sql]] = []
        if select is None or "@iot.id" in select:
            fields.append(['"@iot.id":"', _Sql(ident), '"'])
        if select is None:
            fields.append(['"@iot.selfLink":"', *link, '"'])
        for p in chosen:  # never null (NOT NULL columns)
            fields.append([f'"{p}":"', _Sql(f'x."{p}"'), '"'] if _PLAIN[p] else [f'"{p}":', _Sql(f'x."{p}"::text')])
        fields += [[f'"{name}@iot.navigationLink":"', *link, f'/{name}"'] for name in navs]
        for i, f in enumerate(fields):
            pieces += ([","] if i else []) + f
        row = _concat([*pieces, "}"])
        return f"coalesce('[' || string_agg({row}, ',' ORDER BY x._n) {keep} || ']', '[]')"
    # an observation's id is a string: quoted in its links, as _dress does
    key = _OBS_KEY.format(ident) if entity.name == "Observations" else f"{ident}::text"
    pairs: list[str] = []
    if select is None or "@iot.id" in select:
        pairs.append(f"'@iot.id', {ident}")
    if select is None:
        pairs.append(f"'@iot.selfLink', :base || '/{entity.name}(' || {key} || ')'")
    pairs += [f"'{p}', x.\"{p}\"" for p in chosen]
    pairs += [f"'{name}@iot.navigationLink', :base || '/{entity.name}(' || {key} || ')/{name}'" for name in navs]
    return f"coalesce(json_agg(json_build_object({', '.join(pairs)}) ORDER BY x._n) {keep}::text, '[]')"


def read_json(session: Session, path: str, args: dict[str, str], base: str) -> str:
    """``read``'s body as JSON text. A page without $expand is built by PostgreSQL (one json_agg of
    the page: no Python object per entity, which a month of readings, 8,640 of them, is made of);
    the rest through ``read``."""
    resource, target, single = resolve(path)
    options = parse_options(target, args)
    if single or options.expand:
        return json.dumps(read(session, path, args, base), ensure_ascii=False, separators=(",", ":"))
    params = dict(options.params)
    where = _where(session, resource, target, options, params)
    params["base"] = base
    params["base_json"] = json.dumps(base, ensure_ascii=False)[1:-1]
    page = (
        f"SELECT {_columns(target, options.select)} FROM {target.source}{where} "
        f"ORDER BY {', '.join(options.order)} LIMIT {options.top + 1} OFFSET {options.skip}"
    )
    row = session.execute(
        text(
            f"SELECT count(*) > {options.top} AS more, "
            f"{_entity_json(target, options.select, options.top)} AS value "
            f"FROM (SELECT p.*, row_number() OVER () AS _n FROM ({page}) p) x"
        ),
        params,
    ).one()
    head: dict[str, Any] = {}
    if options.count:
        params.pop("base")
        params.pop("base_json")
        head["@iot.count"] = session.scalar(text(f"SELECT count(*) FROM {target.source}{where}"), params)
    if row.more:
        head["@iot.nextLink"] = _next_link(base, path, args, options.top, options.skip)
    start = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    return f'{start}{"," if head else ""}"value":{row.value}}}'


def _where(session: Session, resource: Resource, target: EntitySet, options: Options, params: dict[str, Any]) -> str:
    """The conditions after the entity set's own: $filter, the parent of a navigation, or the id."""
    conditions = [options.where] if options.where else []
    if resource.nav is not None:
        parent = resource.entity
        nav = parent.navigation[resource.nav]
        cond = _id_condition(parent, resource.id or "", params)
        if session.execute(text(f"SELECT 1 FROM {parent.source} AND {cond}"), params).first() is None:
            raise NotFound(f"no {parent.name}({resource.id}) in your communes")
        conditions.append(f"{nav.target_key} = (SELECT {nav.parent_key} FROM {parent.source} AND {cond})")
    elif resource.id is not None:
        conditions.append(_id_condition(target, resource.id, params))
    return "".join(f" AND {c}" for c in conditions)


def read(session: Session, path: str, args: dict[str, str], base: str) -> dict[str, Any]:
    """The response body for GET ``base/path?args``: one entity or a page of a collection."""
    resource, target, single = resolve(path)
    options = parse_options(target, args)
    params = dict(options.params)
    where = _where(session, resource, target, options, params)
    sql = f"SELECT {_columns(target, options.select)} FROM {target.source}{where} ORDER BY {', '.join(options.order)}"
    if single:
        rows = _rows(session, sql + " LIMIT 1", params)
        if not rows:
            raise NotFound(f"no {path} in your communes")
        _expand(session, target, rows, options.expand, base)
        return _dress(target, rows[0], base, options.select)
    page = _rows(session, sql + f" LIMIT {options.top + 1} OFFSET {options.skip}", params)
    more = len(page) > options.top
    page = page[: options.top]
    _expand(session, target, page, options.expand, base)
    body: dict[str, Any] = {}
    if options.count:
        body["@iot.count"] = session.scalar(text(f"SELECT count(*) FROM {target.source}{where}"), params)
    if more:
        body["@iot.nextLink"] = _next_link(base, path, args, options.top, options.skip)
    body["value"] = [_dress(target, row, base, options.select) for row in page]
    return body


def _expand(session: Session, entity: EntitySet, rows: list[dict[str, Any]], navs: list[str], base: str) -> None:
    """One query per expanded navigation over every row of the page (at most EXPAND_TOP members each)."""
    for name in navs:
        nav = entity.navigation[name]
        target = SETS[nav.target]
        keys = sorted({r[f"_k_{name}"] for r in rows if r.get(f"_k_{name}") is not None})
        found: dict[Any, list[dict[str, Any]]] = {}
        if keys:
            sql = (
                f"SELECT k.key AS _parent, x.* FROM unnest(:keys) AS k(key) CROSS JOIN LATERAL ("
                f"SELECT {_columns(target, None)} FROM {target.source} AND {nav.target_key} = k.key "
                f"ORDER BY {', '.join(f'{c} ASC' for c in target.default_order)} LIMIT {EXPAND_TOP}) x"
            )
            for row in _rows(session, sql, {"keys": keys}):
                found.setdefault(row.pop("_parent"), []).append(row)
        for row in rows:
            members = [_dress(target, m, base, None) for m in found.get(row.get(f"_k_{name}"), [])]
            row[f"_x_{name}"] = (members[0] if members else None) if nav.single else members


def _dress(entity: EntitySet, row: dict[str, Any], base: str, select: list[str] | None) -> dict[str, Any]:
    """A row as a SensorThings entity: its id, links (unless $select chose), properties, expansions."""
    ident = row["@iot.id"]
    key = f"'{ident}'" if isinstance(ident, str) else ident
    out: dict[str, Any] = {}
    if select is None or "@iot.id" in select:
        out["@iot.id"] = ident
    if select is None:
        out["@iot.selfLink"] = f"{base}/{entity.name}({key})"
    for prop in entity.properties:
        if prop in row and (select is None or prop in select):
            out[prop] = row[prop]
    for name in entity.navigation:
        if f"_x_{name}" in row:
            out[name] = row[f"_x_{name}"]
        elif select is None:
            out[f"{name}@iot.navigationLink"] = f"{base}/{entity.name}({key})/{name}"
    return out


def _next_link(base: str, path: str, args: dict[str, str], top: int, skip: int) -> str:
    from urllib.parse import urlencode

    return f"{base}/{path.strip('/')}?" + urlencode({**args, "$top": str(top), "$skip": str(skip + top)})


def root(base: str) -> dict[str, Any]:
    return {
        "value": [{"name": name, "url": f"{base}/{name}"} for name in SETS],
        "serverSettings": {
            "conformance": [
                "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
            ]
        },
    }
