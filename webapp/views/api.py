"""``/api``: map layers as GeoJSON, area indicators, and the OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from spatial import ParameterError
from spatial.accounts import user_areas, visible_extent
from spatial.evaluations import COLUMNS, evaluation_rows
from spatial.exports import FORMATS, MIME, table_file
from spatial.exposure import AREA_COLUMNS, area_exposure, asset_exposure
from spatial.indicators import (
    compares_rounds,
    indicator_columns,
    indicator_pivot,
    indicator_rows,
    parse_indicator_query,
    pivot_table,
    sorted_rows,
)
from spatial.layers import LAYERS, feature, feature_collection, parse_layer_query
from spatial.place_search import parse_place_query, search_places
from webapp.auth import signed_in
from webapp.db import get_session
from webapp.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/layers/<name>")
def layer(name: str) -> ResponseReturnValue:
    q = parse_layer_query(request.args.to_dict(), name)
    fc = feature_collection(get_session(), name, q)
    fc["links"] = _paging_links(name, q.limit, q.offset, fc["numberMatched"])
    return _geojson(fc)


@bp.get("/layers/<name>/<code>")
def layer_feature(name: str, code: str) -> ResponseReturnValue:
    if name not in LAYERS:
        raise ParameterError("layer", f"unknown layer {name!r}", list(LAYERS))
    return _geojson(feature(get_session(), name, code, request.args.get("boundaries") or "current"))


def _geojson(body: dict[str, Any]) -> Response:
    """GeoJSON as GeoJSON (RFC 7946's media type), as the OpenAPI document says."""
    response = jsonify(body)
    response.mimetype = "application/geo+json"
    return response


#: user id -> (when, extent): the box changes only with a user's areas or the boundaries, and
#: /api/me is asked on every map load; a box a few minutes old only places the first view
_EXTENTS: dict[int, tuple[float, dict[str, list[float] | None]]] = {}
EXTENT_TTL_S = 300.0


@bp.get("/me")
def me() -> ResponseReturnValue:
    who = signed_in()
    session = get_session()
    areas = user_areas(session, who.user_id)
    cached = _EXTENTS.get(who.user_id)
    if cached is None or time.monotonic() - cached[0] > EXTENT_TTL_S:
        cached = _EXTENTS[who.user_id] = (time.monotonic(), visible_extent(session, who))
    return jsonify(
        {
            "name": who.name,
            "role": who.role,
            "display_name": who.display_name,
            "read_only": who.read_only,
            "sees_everything": who.sees_everything,
            "areas": [{"code": a.code, "name": a.name, "level": a.level} for a in areas],
            "extent": cached[1],
        }
    )


def _paging_links(name: str, limit: int, offset: int, matched: int) -> list[dict]:
    args: dict[str, Any] = request.args.to_dict()
    links = [{"rel": "self", "type": "application/geo+json", "href": url_for("api.layer", name=name, **args)}]
    if offset + limit < matched:
        links.append(
            {
                "rel": "next",
                "type": "application/geo+json",
                "href": url_for("api.layer", name=name, **{**args, "offset": offset + limit, "limit": limit}),
            }
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "type": "application/geo+json",
                "href": url_for("api.layer", name=name, **{**args, "offset": max(0, offset - limit), "limit": limit}),
            }
        )
    return links


@bp.get("/indicators")
def indicators() -> ResponseReturnValue:
    """One indicator for every unit of a level and year; ``format=csv|xlsx`` downloads the table
    (in the order ``sort``/``order`` ask, as the indicator page shows it)."""
    fmt = _download_format(("json", "csv", "xlsx"))
    session = get_session()
    q = parse_indicator_query(session, request.args.to_dict())
    if fmt != "json":
        rows = sorted_rows(indicator_rows(session, q), request.args.get("sort"), request.args.get("order"))
        columns = indicator_columns(q.indicator)
        suffix = f"-{q.span}" if compares_rounds(q.indicator) else ""
        return _download(fmt, columns, rows, f"sinhke-{q.indicator}-{q.level}-{q.boundaries}-{q.year}{suffix}")
    return jsonify(
        {
            "indicator": q.indicator,
            "level": q.level,
            "boundaries": q.boundaries,
            "year": q.year,
            "span": q.span,
            "rows": indicator_rows(session, q),
        }
    )


@bp.get("/indicators/pivot")
def indicators_pivot() -> ResponseReturnValue:
    """Indicators × areas × years (``indicators=a,b``, ``level``, ``boundaries``, ``span``);
    ``format=csv|xlsx`` downloads it flat, one column an indicator and year."""
    fmt = _download_format(("json", "csv", "xlsx"))
    pivot = indicator_pivot(get_session(), request.args.to_dict())
    if fmt != "json":
        columns, table = pivot_table(pivot)
        name = f"sinhke-pivot-{pivot.level}-{pivot.boundaries}"
        return _download(fmt, columns, [dict(zip(columns, row, strict=True)) for row in table], name)
    return jsonify(
        {
            "indicators": list(pivot.indicators),
            "level": pivot.level,
            "boundaries": pivot.boundaries,
            "span": pivot.span,
            "years": list(pivot.years),
            "rows": [
                {
                    "code": code,
                    "name": name,
                    "values": {
                        i: {str(y): pivot.values.get((i, code, y)) for y in pivot.years} for i in pivot.indicators
                    },
                }
                for code, name in pivot.areas
            ],
        }
    )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


def _download_format(allowed: Sequence[str] = ("json", *FORMATS)) -> str:
    """The ``format`` asked for: json (the default) or one of the download formats."""
    fmt = request.args.get("format", "json")
    if fmt not in allowed:
        raise ParameterError("format", f"unknown format {fmt!r}", list(allowed))
    return fmt


def _download(fmt: str, columns: Sequence[str], rows: Sequence[dict[str, Any]], name: str) -> Response:
    return Response(
        table_file(fmt, columns, rows, name, zone=current_app.config["SINHKE"].timezone),
        mimetype=MIME[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@bp.get("/evaluations")
def evaluations() -> ResponseReturnValue:
    """Estimated effects of participation; ?format=csv|xlsx|gpkg downloads them."""
    fmt = _download_format()
    level = request.args.get("level", "province")
    rows = evaluation_rows(get_session(), level, request.args.get("model_type") or None, with_geometry=fmt == "gpkg")
    if fmt == "json":
        return jsonify(
            {
                "level": level,
                "unit": "VND per person per month",
                "rows": [{k: r[k] for k in (*COLUMNS, "detail")} for r in rows],
            }
        )
    return _download(fmt, COLUMNS, rows, f"sinhke-evaluations-{level}")


@bp.get("/rasters")
def rasters() -> ResponseReturnValue:
    """The climate-risk raster catalogue (province-wide reference data: every role reads it); the
    entries in use, and with ``retired=include`` the retired ones too."""
    from spatial.models import HAZARDS
    from spatial.raster_catalogue import catalogue

    hazard = request.args.get("hazard") or None
    if hazard is not None and hazard not in HAZARDS:
        raise ParameterError("hazard", f"unknown hazard {hazard!r}", list(HAZARDS))
    retired = request.args.get("retired", "exclude")
    if retired not in ("exclude", "include"):
        raise ParameterError("retired", f"unknown choice {retired!r}", ["exclude", "include"])
    return jsonify({"rasters": catalogue(get_session(), hazard, retired=retired == "include")})


@bp.get("/rasters/<int:raster_id>")
def raster(raster_id: int) -> ResponseReturnValue:
    from spatial.raster_catalogue import catalogue_entry

    return jsonify(catalogue_entry(get_session(), raster_id))


@bp.get("/exposure")
def exposure() -> ResponseReturnValue:
    """Exposure of areas to one raster; ?format=csv|xlsx|gpkg downloads it."""
    fmt = _download_format()
    body = area_exposure(get_session(), request.args.to_dict(), with_geometry=fmt == "gpkg")
    if fmt == "json":
        return jsonify(body)
    name = f"sinhke-exposure-{body['raster']['id']}-{body['level']}-{body['boundaries']}"
    return _download(fmt, AREA_COLUMNS, body["rows"], name)


@bp.get("/exposure/<kind>/<code>")
def asset_exposure_view(kind: str, code: str) -> ResponseReturnValue:
    return jsonify(asset_exposure(get_session(), kind, code))


@bp.get("/search")
def search() -> ResponseReturnValue:
    """Places by name or code (communes, villages, models, works, water schemes) for the map's search box."""
    q = parse_place_query(request.args.to_dict())
    return jsonify({"q": q.text, "results": search_places(get_session(), q)})
