"""Mapbox vector tiles built by PostGIS (``ST_AsMVT``), one tile layer per map layer, cached per scope.

A tile is made in the request's session, so row-level security decides what it holds. The cache
(table ``tile_cache``) is keyed by the caller's scope (``sinhke_scope_key()``: 'all' or a digest
of the units the caller may see) and by the layer's data version (``layer_versions``, moved by
triggers on every table the layer reads, migration 0011): no tile crosses scopes and none
outlives the data it was drawn from. A table, not an in-process cache: it serves every gunicorn
worker and machine at once, survives restarts, and the triggers that move the version clear it
in the same transaction as the edit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.db import without_jit
from spatial.geometry import TILE_KEY_ZOOM, check_tile_grid
from spatial.indicators import INDICATORS, available_years
from spatial.layers import BOUNDARIES, LAYERS, LayerQuery, check_level_boundaries
from spatial.models import AreaIncomeChange, AreaIndicator, Household, LayerVersion, TileCache

MIN_ZOOM = 0
MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64
#: below this zoom households are drawn as counts in grid cells. Measured on the 20,000-household
#: demo (bench/bench_ogc.py): the largest point tile is 426 kB at z6–z8 (the whole province), 163 kB
#: at z10, 56 kB at z11; Lạng Sơn's real 200,000 households (10×) pass 500 kB up to z11, so points
#: start at z12
HOUSEHOLD_POINTS_MIN_ZOOM = 12
#: a tile from that zoom on holding more households than this is counted in cells too: at the
#: 1,000,000-household demo a z12 tile of points reached 609 kB (about 75 bytes a household);
#: 5,000 keeps a points tile near 375 kB, under the 500 kB a tile may weigh
MAX_HOUSEHOLD_POINTS = 5000
#: cells across a tile when households are aggregated (a 64 × 64 grid, 2.4 km cells at z8): the
#: tiles CELL_ZOOMS zooms further in
CELL_ZOOMS = 6
CELLS_PER_TILE = 2**CELL_ZOOMS
#: below this zoom the points of the other point layers that share a cell are one feature with a
#: ``point_count`` (about 540 symbols at z8 on the demo buried the choropleth); lines and areas stay
POINTS_CLUSTERED_BELOW_ZOOM = 12
#: cells across a tile when points are clustered: 64 px cells on a 512 px tile
CLUSTER_CELLS_PER_TILE = 8
#: the tile layer of a commune tile that holds one label point per commune (``ST_PointOnSurface``)
LABELS_SUFFIX = "_labels"
# Moved whenever what a tile holds changes in code (a layer, a property): the cache is keyed by it.
# 2: districts carry label points (districts_labels). 3: dense household tiles counted in cells.
# 4: households picked and counted by their tile key (a household on a tile's edge is in one tile).
TILE_FORMAT = 4
WEB_MERCATOR_WIDTH = 40075016.685578488


@dataclass(frozen=True)
class TileLayer:
    """A tile layer: a map layer of ``spatial.layers`` (for admin units, one level of it) and the
    tables it reads (the triggers of migration 0011 move its version when they change)."""

    name: str
    title: str
    layer: str
    reads: tuple[str, ...]
    level: str | None = None
    default_boundaries: str | None = None  # set: the layer takes ?boundaries= (and ?year= for indicators)
    clustered: bool = False  # points sharing a cell below POINTS_CLUSTERED_BELOW_ZOOM become one
    labelled: bool = False  # the tile holds a second layer, {name}_labels, of label points


_PLACED = ("admin_units",)  # every feature names its commune
_SCOPED = ("asset_units",)  # its 2025 commune decides who sees it
TILE_LAYERS: dict[str, TileLayer] = {
    t.name: t
    for t in (
        TileLayer(
            "communes",
            "Communes, with the indicators of a year",
            "admin_units",
            ("admin_units", "area_indicators", "area_income_change"),
            level="commune",
            default_boundaries="current",
            labelled=True,
        ),
        TileLayer(
            "districts",
            "Districts (legacy boundaries), with the indicators of a year",
            "admin_units",
            ("admin_units", "area_indicators", "area_income_change"),
            level="district",
            default_boundaries="legacy",
            labelled=True,
        ),
        TileLayer("villages", "Villages", "villages", ("villages", *_PLACED), clustered=True),
        TileLayer("households", "Households", "households", ("households", "villages", *_PLACED)),
        TileLayer(
            "livelihood_models",
            "Livelihood models",
            "livelihood_models",
            ("livelihood_models", "model_participants", "model_status", *_PLACED, *_SCOPED),
            clustered=True,
        ),
        TileLayer(
            "infrastructure_works",
            "Infrastructure works",
            "infrastructure_works",
            ("infrastructure_works", *_PLACED, *_SCOPED),
            clustered=True,
        ),
        TileLayer(
            "water_schemes",
            "Water schemes",
            "water_schemes",
            ("water_schemes", "water_scheme_households", *_PLACED, *_SCOPED),
            clustered=True,
        ),
        TileLayer(
            "fallback_risk",
            "Households at risk of falling back into poverty",
            "fallback_risk",
            ("fallback_risk", "households", "villages", *_PLACED),
            clustered=True,
        ),
    )
}


@dataclass(frozen=True)
class TileRequest:
    layer: str
    z: int
    x: int
    y: int
    boundaries: str | None = None
    year: int | None = None

    @property
    def cache_params(self) -> str:
        """The tile cache's key of the parameters, with the tiles' format version: tiles cached
        by an older release are never served by a newer one."""
        return f"v{TILE_FORMAT};{self.params_key}"

    @property
    def params_key(self) -> str:
        """The query parameters that change a tile's content, in one canonical form."""
        parts = []
        if self.boundaries is not None:
            parts.append(f"boundaries={self.boundaries}")
        if self.year is not None:
            parts.append(f"year={self.year}")
        return "&".join(parts)


@dataclass(frozen=True)
class Tile:
    body: bytes
    etag: str
    cached: bool


def tile_layer(name: str) -> TileLayer:
    if name not in TILE_LAYERS:
        raise NotFound(f"no tile layer {name!r} (layers: {', '.join(TILE_LAYERS)})")
    return TILE_LAYERS[name]


def parse_tile_request(session: Session, name: str, z: int, x: int, y: int, args: dict[str, str]) -> TileRequest:
    """Check the layer, the tile address and the parameters; ParameterError or NotFound says what is wrong."""
    spec = tile_layer(name)
    check_tile_grid(z, x, y, MIN_ZOOM, MAX_ZOOM)
    boundaries, year = _tile_params(session, spec, args)
    return TileRequest(name, z, x, y, boundaries, year)


def _tile_params(session: Session, spec: TileLayer, args: dict[str, str]) -> tuple[str | None, int | None]:
    unexpected = {"boundaries", "year"} & set(args) if spec.default_boundaries is None else set()
    if unexpected:
        raise ParameterError(sorted(unexpected)[0], f"the {spec.name} layer takes no such parameter")
    if spec.default_boundaries is None:
        return None, None
    boundaries = args.get("boundaries") or spec.default_boundaries
    if boundaries not in BOUNDARIES:
        raise ParameterError("boundaries", f"unknown boundary version {boundaries!r}", list(BOUNDARIES))
    check_level_boundaries(spec.level or "commune", boundaries)
    years = available_years(session)
    raw = args.get("year")
    if raw in (None, ""):
        return boundaries, (years[-1] if years else None)
    try:
        year = int(raw)
    except ValueError:
        raise ParameterError("year", f"{raw!r} is not a year", [str(y) for y in years]) from None
    if year not in years:
        raise ParameterError("year", f"no indicators for {year}", [str(y) for y in years])
    return boundaries, year


def layer_relation(
    spec: TileLayer, boundaries: str | None, year: int | None, tile: tuple[int, int, int] | None = None
) -> Any:
    """The tile layer as a subquery: ``id``, its properties, ``geom`` (EPSG:4326); with ``tile``
    (z, x, y), a ``tile_exact`` layer holds exactly the tile's rows (households by their ``tile_key``)."""
    layer = LAYERS[spec.layer]
    rel = layer.relation(LayerQuery(level=spec.level, boundaries=boundaries, tile=tile))
    if spec.default_boundaries is None:
        return rel
    # the indicators the map shows, from the area_indicators and income_change jobs' results
    a, c = AreaIndicator, AreaIncomeChange
    values = [cast(value, Float).label(name) for name, (_t, value, _n, _d) in INDICATORS.items()]
    props = [col for col in rel.c if col.name not in ("id", "geom")]
    return (
        select(rel.c.id, *props, a.year.label("year"), *values, rel.c.geom)
        .outerjoin(a, and_(a.unit_id == rel.c.id, a.year == year))
        .outerjoin(c, and_(c.unit_id == rel.c.id, c.year == year, c.span == "annual"))
        .subquery(spec.name)
    )


def _mvt_value(col: Any) -> Any:
    """A property as a type vector tiles hold: numbers, text and booleans."""
    if isinstance(col.type, (Date, DateTime)):
        return cast(col, Text).label(col.name)
    if isinstance(col.type, Numeric) and not isinstance(col.type, Float):
        return cast(col, Float).label(col.name)
    if isinstance(col.type, ARRAY):
        return func.array_to_string(col, ",").label(col.name)
    return col


def tile_fields(spec: TileLayer, z: int | None = None) -> dict[str, str]:
    """TileJSON's ``fields``: property name -> Number, String or Boolean."""
    if spec.name == "households" and z is not None and z < HOUSEHOLD_POINTS_MIN_ZOOM:
        return {"households": "Number", "members": "Number"}
    rel = layer_relation(spec, spec.default_boundaries, None)
    out = {}
    for col in rel.c:
        if col.name in ("id", "geom"):
            continue
        kind = col.type
        if isinstance(kind, Boolean):
            out[col.name] = "Boolean"
        elif isinstance(kind, (Integer, Numeric, Float)):
            out[col.name] = "Number"
        else:
            out[col.name] = "String"
    return out


def render_tile(session: Session, req: TileRequest) -> bytes:
    """The tile as PostGIS encodes it: features intersecting the tile, clipped, in tile coordinates."""
    spec = TILE_LAYERS[req.layer]
    rel = layer_relation(spec, req.boundaries, req.year, tile=(req.z, req.x, req.y))
    envelope = func.ST_TileEnvelope(req.z, req.x, req.y)
    if spec.name == "households" and (req.z < HOUSEHOLD_POINTS_MIN_ZOOM or _too_many_points(session, req)):
        return _household_cells(session, req, envelope)
    # a layer that keeps exactly the tile's rows (households by tile_key) needs no test; the others do
    exact = LAYERS[spec.layer].tile_exact
    inside = true() if exact else func.ST_Intersects(rel.c.geom, func.ST_Transform(envelope, 4326))
    if spec.clustered and req.z < POINTS_CLUSTERED_BELOW_ZOOM:
        return _clustered_points(session, spec, rel, req, envelope, inside)
    mvt_geom = func.ST_AsMVTGeom(func.ST_Transform(rel.c.geom, 3857), envelope, EXTENT, BUFFER, True)
    props = [_mvt_value(col) for col in rel.c if col.name not in ("id", "geom")]
    rows = select(rel.c.id, *props, mvt_geom.label("geom")).where(inside).subquery("tile")
    body = session.scalar(select(func.ST_AsMVT(rows.table_valued(), spec.name, EXTENT, "geom", "id")))
    return bytes(body or b"") + (_label_points(session, spec, rel, envelope) if spec.labelled else b"")


def _label_points(session: Session, spec: TileLayer, rel: Any, envelope: Any) -> bytes:
    """A second tile layer of one point inside each unit, named and coded, in the one tile that
    holds that point (labels placed on clipped polygons would repeat at every tile edge)."""
    point = func.ST_Transform(func.ST_PointOnSurface(rel.c.geom), 3857)
    rows = (
        select(rel.c.id, rel.c.code, rel.c.name, func.ST_AsMVTGeom(point, envelope, EXTENT, 0, True).label("geom"))
        .where(func.ST_Intersects(point, envelope))
        .subquery("labels")
    )
    body = session.scalar(select(func.ST_AsMVT(rows.table_valued(), spec.name + LABELS_SUFFIX, EXTENT, "geom", "id")))
    return bytes(body or b"")


def _clustered_points(
    session: Session, spec: TileLayer, rel: Any, req: TileRequest, envelope: Any, inside: Any
) -> bytes:
    """Points alone in their cell of a CLUSTER_CELLS_PER_TILE grid as they are; the points of a
    cell shared with others as one feature at their centroid with ``point_count`` and no id;
    lines and areas as they are."""
    size = WEB_MERCATOR_WIDTH / 2**req.z / CLUSTER_CELLS_PER_TILE
    merc = func.ST_Transform(rel.c.geom, 3857)
    is_point = func.GeometryType(rel.c.geom) == "POINT"
    col = case((is_point, func.floor(func.ST_X(merc) / size)))
    row = case((is_point, func.floor(func.ST_Y(merc) / size)))
    props = [_mvt_value(c) for c in rel.c if c.name not in ("id", "geom")]
    placed = (
        select(
            rel.c.id,
            *props,
            merc.label("merc"),
            col.label("col"),
            row.label("row"),
            func.count().over(partition_by=[col, row]).label("in_cell"),
        )
        .where(inside)
        .subquery("placed")
    )
    own = [placed.c[p.name] for p in props]
    alone = select(
        placed.c.id,
        *own,
        null().label("point_count"),
        func.ST_AsMVTGeom(placed.c.merc, envelope, EXTENT, BUFFER, True).label("geom"),
    ).where(or_(placed.c.col.is_(None), placed.c.in_cell == 1))
    shared = (
        select(
            null().label("id"),
            *(null().label(c.name) for c in own),
            cast(func.count(), Integer).label("point_count"),
            func.ST_AsMVTGeom(func.ST_Centroid(func.ST_Collect(placed.c.merc)), envelope, EXTENT, BUFFER, True).label(
                "geom"
            ),
        )
        .where(placed.c.col.is_not(None), placed.c.in_cell > 1)
        .group_by(placed.c.col, placed.c.row)
    )
    rows = union_all(alone, shared).subquery("tile")
    body = session.scalar(select(func.ST_AsMVT(rows.table_valued(), spec.name, EXTENT, "geom", "id")))
    return bytes(body or b"")


def _too_many_points(session: Session, req: TileRequest) -> bool:
    """Whether the tile would hold more than MAX_HOUSEHOLD_POINTS households: the ones the caller
    may see in the tile, counted up to one more from the ``tile_key`` index (no geometry is read)."""
    capped = _household_rows(req).limit(MAX_HOUSEHOLD_POINTS + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0) > MAX_HOUSEHOLD_POINTS


def _household_rows(req: TileRequest) -> Select[Any]:
    """The households layer's rows in the tile (its filters, the tile's key range), id only."""
    return LAYERS["households"].source(LayerQuery(tile=(req.z, req.x, req.y))).base


def _household_cells(session: Session, req: TileRequest, envelope: Any) -> bytes:
    """Households counted in a CELLS_PER_TILE grid: no codes, names or single points below the zoom.
    The grid's cells are the tiles CELL_ZOOMS zooms further in, so a household's cell is its
    ``tile_key`` shifted right: counted without projecting a single point."""
    zoom = min(req.z + CELL_ZOOMS, TILE_KEY_ZOOM)
    cell = Household.tile_key.op(">>")(literal(2 * (TILE_KEY_ZOOM - zoom), Integer)).label("cell")
    counted = (
        _household_rows(req)
        .with_only_columns(cell, func.count().label("households"), func.sum(Household.members).label("members"))
        .group_by(cell)
        .subquery("cells")
    )
    size = WEB_MERCATOR_WIDTH / 2**zoom
    half = WEB_MERCATOR_WIDTH / 2
    centre = func.ST_SetSRID(
        func.ST_MakePoint(
            (func.sinhke_tile_key_x(counted.c.cell) + 0.5) * size - half,
            half - (func.sinhke_tile_key_y(counted.c.cell) + 0.5) * size,
        ),
        3857,
    )
    rows = select(
        counted.c.households,
        cast(counted.c.members, Integer).label("members"),
        func.ST_AsMVTGeom(centre, envelope, EXTENT, BUFFER, True).label("geom"),
    ).subquery("tile")
    body = session.scalar(select(func.ST_AsMVT(rows.table_valued(), "households", EXTENT, "geom")))
    return bytes(body or b"")


def tile(session: Session, req: TileRequest) -> Tile:
    """The tile from the cache when its layer has not changed since; made and cached otherwise."""
    scope = func.sinhke_scope_key()
    c = TileCache
    hit = session.execute(
        select(LayerVersion.version, scope.label("scope"), c.etag, c.body)
        .select_from(LayerVersion)
        .outerjoin(
            c,
            and_(
                c.layer == LayerVersion.layer,
                c.scope_key == scope,
                c.params == req.cache_params,
                c.z == req.z,
                c.x == req.x,
                c.y == req.y,
                c.version == LayerVersion.version,
            ),
        )
        .where(LayerVersion.layer == req.layer)
    ).one()
    if hit.etag is not None:
        return Tile(bytes(hit.body), hit.etag, cached=True)
    without_jit(session)
    body = render_tile(session, req)  # read after the version: an edit in between leaves a stale entry unused
    etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
    row = dict(
        layer=req.layer,
        scope_key=hit.scope,
        params=req.cache_params,
        z=req.z,
        x=req.x,
        y=req.y,
        version=hit.version,
        etag=etag,
        body=body,
    )
    stmt = insert(c).values(**row)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[c.layer, c.scope_key, c.params, c.z, c.x, c.y],
            set_={k: stmt.excluded[k] for k in ("version", "etag", "body")},
        )
    )
    return Tile(body, etag, cached=False)


def tilejson(session: Session, name: str, tiles_url: str, args: dict[str, str]) -> dict[str, Any]:
    """TileJSON 3.0 of a tile layer; ``tiles_url`` is the URL template with {z}/{x}/{y}."""
    spec = tile_layer(name)
    boundaries, year = _tile_params(session, spec, args)
    extent = func.ST_Extent(layer_relation(spec, boundaries, year).c.geom)
    bounds = session.execute(
        select(func.ST_XMin(extent), func.ST_YMin(extent), func.ST_XMax(extent), func.ST_YMax(extent))
    ).one()
    query = TileRequest(name, 0, 0, 0, boundaries, year).params_key
    vector_layers = [
        {
            "id": name,
            "description": spec.title,
            "minzoom": MIN_ZOOM,
            "maxzoom": MAX_ZOOM,
            "fields": tile_fields(spec, MAX_ZOOM),
        }
    ]
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": name,
        "description": spec.title,
        "scheme": "xyz",
        "tiles": [tiles_url + (f"?{query}" if query else "")],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "vector_layers": vector_layers,
    }
    if bounds[0] is not None:
        body["bounds"] = [round(float(v), 6) for v in bounds]
        body["center"] = [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            8,
        ]
    if spec.name == "households":
        body["description"] += (
            f"; below zoom {HOUSEHOLD_POINTS_MIN_ZOOM}, and in any tile that would hold more than "
            f"{MAX_HOUSEHOLD_POINTS} of them, counted in a {CELLS_PER_TILE}×{CELLS_PER_TILE} grid per tile"
            " (fields households, members)"
        )
    return body
