"""``/api``: map layers as GeoJSON, area indicators, and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from spatial import ParameterError
from spatial.accounts import user_areas
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
    return jsonify({"name": who.name, "role": who.role, "display_name": who.display_name,
                    "read_only": who.read_only, "sees_everything": who.sees_everything,
                    "areas": [{"code": a.code, "name": a.name, "level": a.level} for a in areas]})


def _paging_links(name: str, limit: int, offset: int, matched: int) -> list[dict]:
    args = request.args.to_dict()
    links = [{"rel": "self", "type": "application/geo+json",
              "href": url_for("api.layer", name=name, **args)}]
    if offset + limit < matched:
        links.append({"rel": "next", "type": "application/geo+json",
                      "href": url_for("api.layer", name=name, **{**args, "offset": offset + limit,
                                                                  "limit": limit})})
    if offset > 0:
        links.append({"rel": "prev", "type": "application/geo+json",
                      "href": url_for("api.layer", name=name, **{**args, "offset": max(0, offset - limit),
                                                                  "limit": limit})})
    return links


@bp.get("/indicators")
def indicators():  # type: ignore[no-untyped-def]
    session = get_session()
    q = parse_indicator_query(session, request.args.to_dict())
    return jsonify({
        "indicator": q.indicator, "level": q.level, "boundaries": q.boundaries, "year": q.year,
        "span": q.span,
        "rows": indicator_rows(session, q),
    })


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())
