"""The OpenAPI 3.0 document of ``/ogc`` (OGC API – Features), one path per collection.

Parameters are written out in each path, not by ``$ref``: GDAL's OAPIF driver reads the items
path's ``limit`` schema to choose its page size (it asks for 10 a page when it finds none).
"""

from __future__ import annotations

from typing import Any

from spatial.layers import DEFAULT_LIMIT, MAX_LIMIT
from spatial.ogc import COLLECTIONS, CRS, CRS84, Collection

OPENAPI_MIME = "application/vnd.oai.openapi+json;version=3.0"
_FORMATS = ["json", "html", "gpkg", "shp", "csv", "xlsx"]


def _query(name: str, schema: dict[str, Any], description: str, style: dict[str, Any] | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **(style or {}),
    }


def _items_parameters(c: Collection, temporal: bool) -> list[dict[str, Any]]:
    crs_schema = {"type": "string", "format": "uri", "enum": list(CRS), "default": CRS84}
    params = [
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            f"features per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
            {"style": "form", "explode": False},
        ),
        _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
        _query(
            "after",
            {"type": "integer", "minimum": 0, "maximum": 2147483647},
            "keyset paging (unsorted pages only): the page starts after this row; the next links carry it",
        ),
        _query(
            "bbox",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "minx,miny,maxx,maxy in bbox-crs",
            {"style": "form", "explode": False},
        ),
        _query("bbox-crs", crs_schema, "CRS of bbox"),
        _query("crs", crs_schema, "CRS of the returned geometries (the Content-Crs header says which)"),
        _query("filter", {"type": "string"}, "CQL2-text filter over the queryables"),
        _query("filter-lang", {"type": "string", "enum": ["cql2-text"], "default": "cql2-text"}, "filter language"),
        _query("filter-crs", crs_schema, "CRS of geometry literals in the filter"),
        _query("sortby", {"type": "string"}, "comma-separated properties, '-' before one sorts it descending"),
        _query("f", {"type": "string", "enum": _FORMATS, "default": "json"}, "response or download format"),
    ]
    if temporal:
        params.append(_query("datetime", {"type": "string"}, "an RFC 3339 instant or interval (.. for open)"))
    return params


def openapi_ogc_document(server_url: str, temporal: dict[str, bool]) -> dict[str, Any]:
    """The OpenAPI document for the collections in ``temporal`` (id -> the layer has time)."""
    error = {
        "description": "OGC exception: code and description",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}},
    }
    fc = {"content": {"application/geo+json": {"schema": {"type": "object"}}, "text/html": {}}}
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "landing page",
                "operationId": "getLandingPage",
                "responses": {"200": {"description": "links"}},
            }
        },
        "/conformance": {
            "get": {
                "summary": "conformance classes",
                "operationId": "getConformance",
                "responses": {"200": {"description": "conformsTo"}},
            }
        },
        "/collections": {
            "get": {
                "summary": "collections",
                "operationId": "getCollections",
                "responses": {"200": {"description": "collections"}},
            }
        },
    }
    for cid in temporal:
        c = COLLECTIONS[cid]
        base = f"/collections/{cid}"
        paths[base] = {
            "get": {
                "summary": c.title,
                "operationId": f"describe_{cid}",
                "responses": {"200": {"description": "collection"}, "404": error},
            }
        }
        paths[f"{base}/queryables"] = {
            "get": {
                "summary": f"queryables of {cid}",
                "operationId": f"queryables_{cid}",
                "responses": {"200": {"description": "JSON Schema"}},
            }
        }
        paths[f"{base}/items"] = {
            "get": {
                "summary": f"features of {cid}",
                "operationId": f"getFeatures_{cid}",
                "parameters": _items_parameters(c, temporal[cid]),
                "responses": {"200": {"description": "GeoJSON FeatureCollection", **fc}, "400": error, "404": error},
            }
        }
        paths[f"{base}/items/{{featureId}}"] = {
            "get": {
                "summary": f"one feature of {cid}",
                "operationId": f"getFeature_{cid}",
                "parameters": [
                    {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
                    _query("crs", {"type": "string", "enum": list(CRS)}, "CRS of the geometry"),
                ],
                "responses": {"200": {"description": "GeoJSON Feature", **fc}, "404": error},
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "sinhke OGC API – Features",
            "version": "1.0.0",
            "description": "The programme's map layers, scoped to the caller (Bearer token or signed-in session).",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "exception": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                }
            },
        },
        "security": [{"bearer": []}],
    }
