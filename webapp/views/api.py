"""``/api``: map layers as GeoJSON, area indicators, and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from spatial import ParameterError
from spatial.accounts import user_areas
from spatial.evaluations import COLUMNS, evaluation_rows
from spatial.exports import FORMATS, MIME, to_csv, to_gpkg, to_xlsx
from spatial.exposure import AREA_COLUMNS, area_exposure, asset_exposure
from spatial.indicators import indicator_rows, parse_indicator_query
from spatial.layers import LAYERS, feature, feature_collection, parse_layer_query
from webapp.auth import current_principal
from webapp.db import get_session
from webapp.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/layers/<name>")
def layer(name: str):  # type: ignore[no-untyped-def]
    q = parse_layer_query(request.args.to_dict(), name)
    fc = feature_collection(get_session(), name, q)
    fc["links"] = _paging_links(name, q.limit, q.offset, fc["numberMatched"])
    return jsonify(fc)


@bp.get("/layers/<name>/<code>")
def layer_feature(name: str, code: str):  # type: ignore[no-untyped-def]
    if name not in LAYERS:
        raise ParameterError("layer", f"unknown layer {name!r}", list(LAYERS))
    return jsonify(feature(get_session(), name, code, request.args.get("boundaries") or "current"))


@bp.get("/me")
def me():  # type: ignore[no-untyped-def]
    who = current_principal()
    areas = user_areas(get_session(), who.user_id) if who else []
    return jsonify(
        {
            "name": who.name,
            "role": who.role,
            "display_name": who.display_name,
            "read_only": who.read_only,
            "sees_everything": who.sees_everything,
            "areas": [{"code": a.code, "name": a.name, "level": a.level} for a in areas],
        }
    )


def _paging_links(name: str, limit: int, offset: int, matched: int) -> list[dict]:
    args = request.args.to_dict()
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
def indicators():  # type: ignore[no-untyped-def]
    session = get_session()
    q = parse_indicator_query(session, request.args.to_dict())
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


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())


@bp.get("/evaluations")
def evaluations():  # type: ignore[no-untyped-def]
    """Estimated effects of participation; ?format=csv|xlsx|gpkg downloads them."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", *FORMATS):
        raise ParameterError("format", f"unknown format {fmt!r}", ["json", *FORMATS])
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
    table = [[r[c] for c in COLUMNS] for r in rows]
    name = f"sinhke-evaluations-{level}"
    if fmt == "csv":
        body = to_csv(COLUMNS, table)
    elif fmt == "xlsx":
        body = to_xlsx(COLUMNS, table, sheet=name)
    else:
        body = to_gpkg(COLUMNS, table, [bytes(r["wkb"]) for r in rows], layer=name.replace("-", "_"))
    return Response(body, mimetype=MIME[fmt], headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@bp.get("/rasters")
def rasters():  # type: ignore[no-untyped-def]
    """The climate-risk raster catalogue (province-wide reference data: every role reads it)."""
    from spatial.models import HAZARDS
    from spatial.raster_catalogue import catalogue

    hazard = request.args.get("hazard") or None
    if hazard is not None and hazard not in HAZARDS:
        raise ParameterError("hazard", f"unknown hazard {hazard!r}", list(HAZARDS))
    return jsonify({"rasters": catalogue(get_session(), hazard)})


@bp.get("/rasters/<int:raster_id>")
def raster(raster_id: int):  # type: ignore[no-untyped-def]
    from spatial.raster_catalogue import catalogue_entry

    return jsonify(catalogue_entry(get_session(), raster_id))


@bp.get("/exposure")
def exposure():  # type: ignore[no-untyped-def]
    """Exposure of areas to one raster; ?format=csv|xlsx|gpkg downloads it."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", *FORMATS):
        raise ParameterError("format", f"unknown format {fmt!r}", ["json", *FORMATS])
    body = area_exposure(get_session(), request.args.to_dict(), with_geometry=fmt == "gpkg")
    if fmt == "json":
        return jsonify(body)
    table = [[r[c] for c in AREA_COLUMNS] for r in body["rows"]]
    name = f"sinhke-exposure-{body['raster']['id']}-{body['level']}-{body['boundaries']}"
    if fmt == "csv":
        content = to_csv(AREA_COLUMNS, table)
    elif fmt == "xlsx":
        content = to_xlsx(AREA_COLUMNS, table, sheet=name[:31])
    else:
        content = to_gpkg(AREA_COLUMNS, table, [bytes(r["wkb"]) for r in body["rows"]], layer=name.replace("-", "_"))
    return Response(
        content, mimetype=MIME[fmt], headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    )


@bp.get("/exposure/<kind>/<code>")
def asset_exposure_view(kind: str, code: str):  # type: ignore[no-untyped-def]
    return jsonify(asset_exposure(get_session(), kind, code))
