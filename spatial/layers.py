"""Map layers as GeoJSON built by PostGIS, with bbox filter and paging.

Each layer is an allow-listed table and property list; request values only ever
reach SQL as bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import functions as gf
from sqlalchemy import JSON, ColumnElement, Select, Text, cast, func, literal, select
from sqlalchemy.orm import Session, aliased

from spatial import NotFound, ParameterError
from spatial.geometry import tile_key_range
from spatial.models import (
    AdminUnit,
    FallbackRisk,
    Household,
    InfrastructureWork,
    LivelihoodModel,
    ModelParticipant,
    ModelStatus,
    Village,
    WaterScheme,
    WaterSchemeHousehold,
)
from spatial.params import whole_number


class JSONText:
    """JSON that PostgreSQL has written already: the web layer copies it into the body as it is.
    (Not a dataclass: orjson would write that as an object of its fields.)"""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
LEVELS = ("province", "district", "commune")
BOUNDARIES = ("current", "legacy")


@dataclass(frozen=True)
class LayerQuery:
    bbox: tuple[float, float, float, float] | None = None
    #: a vector tile (z, x, y): households are then exactly those of its ``tile_key`` range
    tile: tuple[int, int, int] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    level: str | None = None
    boundaries: str | None = None


@dataclass(frozen=True)
class LayerSource:
    """What a layer reads: ``base`` selects the id with its joins and filters; ``columns`` are the
    properties (name -> expression), the only names a filter, a sort or a download may use."""

    base: Select[Any]
    id_col: Any
    geom_col: Any
    columns: dict[str, Any]


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    source: Callable[[LayerQuery], LayerSource]
    code: Any  # the column a feature is addressed by
    params: tuple[str, ...] = ()
    geometry_type: str = "Point"
    #: property names of the interval a feature is valid in (start, end or None), for ``datetime``
    temporal: tuple[str, str | None] | None = None
    #: given ``LayerQuery.tile``, the source keeps exactly the tile's rows (households by ``tile_key``)
    tile_exact: bool = False

    def build(self, q: LayerQuery) -> tuple[Select[Any], Any, Any]:
        """(select of id + properties as one JSON object, id column, geometry column)."""
        src = self.source(q)
        return src.base.add_columns(_props(src.columns).label("properties")), src.id_col, src.geom_col

    def relation(self, q: LayerQuery) -> Any:
        """The layer as a subquery of columns ``id``, each property, and ``geom`` (EPSG:4326):
        filters, sorts, tiles and downloads address only these names."""
        src = self.source(q)
        labelled = [expr.label(name) for name, expr in src.columns.items()]
        return src.base.add_columns(*labelled, src.geom_col.label("geom")).subquery(self.name)


def _admin_units(q: LayerQuery) -> LayerSource:
    parent = aliased(AdminUnit)
    columns = dict(
        code=AdminUnit.code,
        name=AdminUnit.name,
        level=AdminUnit.level,
        unit_type=AdminUnit.unit_type,
        area_type=AdminUnit.area_type,
        boundary=AdminUnit.boundary,
        parent_code=parent.code,
        valid_from=AdminUnit.valid_from,
        valid_to=AdminUnit.valid_to,
        approximate=AdminUnit.geom_approximate,
    )
    stmt = (
        select(AdminUnit.id)
        .outerjoin(parent, parent.id == AdminUnit.parent_id)
        .where(AdminUnit.boundary == (q.boundaries or "current"))
    )
    if q.level is not None:
        stmt = stmt.where(AdminUnit.level == q.level)
    return LayerSource(stmt, AdminUnit.id, AdminUnit.geom, columns)


def _commune_name(unit_id: Any) -> ColumnElement[Any]:
    return select(AdminUnit.name).where(AdminUnit.id == unit_id).scalar_subquery()


def _villages(q: LayerQuery) -> LayerSource:
    v = Village
    columns = dict(code=v.code, name=v.name, commune=_commune_name(v.commune_id))
    return LayerSource(select(v.id).where(v.geom.is_not(None)), v.id, v.geom, columns)


def _livelihood_models(q: LayerQuery) -> LayerSource:
    participants = select(func.count()).where(ModelParticipant.model_id == LivelihoodModel.id).scalar_subquery()
    m, st = LivelihoodModel, ModelStatus  # status: the model_status job's, absent until it runs
    columns = dict(
        code=m.code,
        name=m.name,
        model_type=m.model_type,
        status=m.status,
        commune=_commune_name(m.commune_id),
        start_date=m.start_date,
        funding_project=m.funding_project,
        budget_allocated_vnd=m.budget_allocated_vnd,
        budget_disbursed_vnd=m.budget_disbursed_vnd,
        value_chain_partner=m.value_chain_partner,
        participants=participants,
        last_visit_at=st.last_visit_at,
        next_visit_due=st.next_visit_due,
        overdue_days=st.overdue_days,
        herd_size=st.herd_size,
        flock_size=st.flock_size,
        harvest_kg_12m=st.harvest_kg_12m,
    )
    stmt = select(m.id).outerjoin(st, st.model_id == m.id).where(m.deleted_at.is_(None))
    return LayerSource(stmt, m.id, m.geom, columns)


def _infrastructure_works(q: LayerQuery) -> LayerSource:
    w = InfrastructureWork
    columns = dict(
        code=w.code,
        name=w.name,
        work_type=w.work_type,
        status=w.status,
        commune=_commune_name(w.commune_id),
        start_date=w.start_date,
        completion_date=w.completion_date,
        budget_vnd=w.budget_vnd,
        disbursed_vnd=w.disbursed_vnd,
    )
    return LayerSource(select(w.id).where(w.deleted_at.is_(None)), w.id, w.geom, columns)


def _water_schemes(q: LayerQuery) -> LayerSource:
    s = WaterScheme
    served = select(func.count()).where(WaterSchemeHousehold.scheme_id == s.id).scalar_subquery()
    columns = dict(
        code=s.code,
        name=s.name,
        technology=s.technology,
        status=s.status,
        capacity_m3_day=s.capacity_m3_day,
        install_year=s.install_year,
        status_reported_on=s.status_reported_on,
        households_served=served,
        commune=_commune_name(s.commune_id),
    )
    return LayerSource(select(s.id).where(s.deleted_at.is_(None)), s.id, s.geom, columns)


def _households(q: LayerQuery) -> LayerSource:
    # personal fields (head's name, ID card) stay out of the map layer
    h = Household
    village = select(Village.name).where(Village.id == h.village_id).scalar_subquery()
    columns = dict(
        code=h.code, commune=_commune_name(h.commune_id), village=village, members=h.members, ethnicity=h.ethnicity
    )
    stmt = _within_box(select(h.id).where(h.deleted_at.is_(None), h.geom.is_not(None)), q)
    return LayerSource(stmt, h.id, h.geom, columns)


def _within_box(stmt: Select[Any], q: LayerQuery) -> Select[Any]:
    """Households inside ``q.tile`` (exactly: the range of its ``tile_key``) or ``q.bbox`` (by the
    generated coordinates; the caller still tests the geometry exactly): leakproof comparisons,
    so an index range scan under row-level security."""
    h = Household
    if q.tile is not None:
        low, high = tile_key_range(*q.tile)
        return stmt.where(h.tile_key.between(low, high))
    if q.bbox is None:
        return stmt
    west, south, east, north = q.bbox
    return stmt.where(h.geom_lon.between(west, east), h.geom_lat.between(south, north))


def _fallback_risk(q: LayerQuery) -> LayerSource:
    # who to visit before they fall back: no names, the household code and its numbers
    h, r = Household, FallbackRisk
    village = select(Village.name).where(Village.id == h.village_id).scalar_subquery()
    columns = dict(
        code=h.code,
        commune=_commune_name(h.commune_id),
        village=village,
        year=r.year,
        reason=r.reason,
        status=r.status,
        income=r.income,
        income_change=r.income_change,
        income_fell=r.income_fell,
        exposed_to=r.exposed_to,
    )
    stmt = select(h.id).join(r, r.household_id == h.id).where(h.deleted_at.is_(None), h.geom.is_not(None))
    return LayerSource(_within_box(stmt, q), h.id, h.geom, columns)


def _props(columns: dict[str, Any]) -> ColumnElement[Any]:
    args: list[Any] = []
    for key, expr in columns.items():
        args += [literal(key), expr]
    return func.json_build_object(*args)


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "admin_units",
            "Administrative units",
            _admin_units,
            AdminUnit.code,
            ("level", "boundaries"),
            geometry_type="MultiPolygon",
            temporal=("valid_from", "valid_to"),
        ),
        Layer(
            "livelihood_models",
            "Livelihood models",
            _livelihood_models,
            LivelihoodModel.code,
            geometry_type="Geometry",
            temporal=("start_date", None),
        ),
        Layer(
            "infrastructure_works",
            "Infrastructure works",
            _infrastructure_works,
            InfrastructureWork.code,
            geometry_type="Geometry",
            temporal=("start_date", "completion_date"),
        ),
        Layer("water_schemes", "Water schemes", _water_schemes, WaterScheme.code),
        Layer("households", "Households", _households, Household.code, tile_exact=True),
        Layer(
            "fallback_risk",
            "Households at risk of falling back into poverty",
            _fallback_risk,
            Household.code,
            tile_exact=True,
        ),
        Layer("villages", "Villages", _villages, Village.code),
    )
}


def parse_layer_query(args: dict[str, str], layer: str) -> LayerQuery:
    """Validate request arguments into a LayerQuery; ParameterError names what is wrong."""
    if layer not in LAYERS:
        raise ParameterError("layer", f"unknown layer {layer!r}", list(LAYERS))
    bbox = parse_bbox(args.get("bbox"))
    limit = int_parameter(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_parameter(args, "offset", 0, 0, 10**9)
    level = boundaries = None
    if layer == "admin_units":
        level, boundaries = parse_level_boundaries(args)
    return LayerQuery(bbox=bbox, limit=limit, offset=offset, level=level, boundaries=boundaries)


def parse_level_boundaries(args: dict[str, str]) -> tuple[str, str]:
    """``level`` (default commune) and ``boundaries`` (default current) of a request, checked together."""
    level = _choice(args, "level", LEVELS, "commune")
    boundaries = _choice(args, "boundaries", BOUNDARIES, "current")
    check_level_boundaries(level, boundaries)
    return level, boundaries


def check_level_boundaries(level: str, boundaries: str) -> None:
    if level == "district" and boundaries == "current":
        raise ParameterError(
            "level",
            "districts were abolished on 1 July 2025, so level=district needs boundaries=legacy",
            ["province", "commune"],
        )


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise ParameterError("bbox", f"{raw!r} is not four numbers minlon,minlat,maxlon,maxlat") from None
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise ParameterError("bbox", f"{raw!r} is not a valid WGS 84 box (min < max, within ±180/±90)")
    return (minx, miny, maxx, maxy)


def int_parameter(args: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    return whole_number(args.get(name), name, default, lo, hi)


def _choice(args: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = args.get(name) or default
    if raw not in allowed:
        raise ParameterError(name, f"unknown value {raw!r}", list(allowed))
    return raw


def feature(session: Session, layer: str, code: str, boundaries: str = "current") -> dict[str, Any]:
    """One feature by its code; NotFound when it does not exist or is outside the scope.

    Administrative codes differ in length between levels, so no level is needed."""
    if boundaries not in BOUNDARIES:
        raise ParameterError("boundaries", f"unknown boundary version {boundaries!r}", list(BOUNDARIES))
    spec = LAYERS[layer]
    stmt, _id_col, geom_col = spec.build(LayerQuery(boundaries=boundaries))
    sub = stmt.where(spec.code == code).add_columns(geom_col.label("g")).limit(1).subquery()
    row = session.scalar(
        select(
            func.json_build_object(
                "type",
                "Feature",
                "id",
                sub.c.id,
                "geometry",
                cast(func.ST_AsGeoJSON(sub.c.g, 6), JSON),
                "properties",
                sub.c.properties,
            )
        )
    )
    if row is None:
        raise NotFound(f"no {layer} feature with code {code!r}")
    return row


def feature_collection(session: Session, layer: str, q: LayerQuery) -> dict[str, Any]:
    """One page of a layer as a GeoJSON FeatureCollection, assembled by PostGIS."""
    stmt, id_col, geom_col = LAYERS[layer].build(q)
    if q.bbox is not None:
        envelope = gf.ST_MakeEnvelope(*q.bbox, 4326)
        stmt = stmt.where(geom_col.intersects(envelope))
    matched = select(func.count()).select_from(stmt.subquery()).scalar_subquery()
    page = stmt.add_columns(geom_col.label("g")).order_by(id_col).limit(q.limit).offset(q.offset).subquery()
    feature = func.json_build_object(
        "type",
        "Feature",
        "id",
        page.c.id,
        "geometry",
        cast(func.ST_AsGeoJSON(page.c.g, 6), JSON),
        "properties",
        page.c.properties,
    )
    # one round trip; the features stay the text PostgreSQL wrote (never parsed and written again)
    features = cast(func.coalesce(func.json_agg(feature), cast(literal("[]"), JSON)), Text)
    total, returned, text = session.execute(select(matched, func.count(), features)).one()
    return {
        "type": "FeatureCollection",
        "numberMatched": total,
        "numberReturned": returned,
        "features": JSONText(text),
    }
