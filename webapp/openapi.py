"""The OpenAPI 3.1 document of ``/api``, built from the same allow-lists the routes enforce."""

from __future__ import annotations

from typing import Any

from spatial.indicators import INDICATORS
from spatial.layers import BOUNDARIES, DEFAULT_LIMIT, LAYERS, LEVELS, MAX_LIMIT
from webapp.openapi_field import field_paths, field_schemas

_ERROR = {"description": "Bad parameter: the message names it and the allowed values",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _enum(name: str, values: list[str] | tuple[str, ...], default: str, desc: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": desc,
            "schema": {"type": "string", "enum": list(values), "default": default}}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "sinhke API", "version": "0.1.0",
                 "description": "Livelihood models, works, water schemes and poverty indicators "
                                "of a poverty-reduction programme, on both the legacy and the "
                                "2025 administrative boundaries."},
        "paths": {
            "/api/layers/{name}": {"get": {
                "summary": "A map layer as GeoJSON, one page at a time",
                "parameters": [
                    {"name": "name", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": list(LAYERS)}},
                    {"name": "bbox", "in": "query", "required": False,
                     "description": "minlon,minlat,maxlon,maxlat (WGS 84)",
                     "schema": {"type": "string", "pattern": r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$"}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                "default": DEFAULT_LIMIT}},
                    {"name": "offset", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    _enum("level", LEVELS, "commune", "admin_units only; district needs boundaries=legacy"),
                    _enum("boundaries", BOUNDARIES, "current",
                          "admin_units only: legacy (until 30 June 2025) or current (from 1 July 2025)"),
                ],
                "responses": {
                    "200": {"description": "GeoJSON FeatureCollection with numberMatched, "
                                           "numberReturned and paging links",
                            "content": {"application/geo+json": {"schema": {
                                "$ref": "#/components/schemas/FeatureCollection"}}}},
                    "400": _ERROR,
                },
            }},
            "/api/indicators": {"get": {
                "summary": "One indicator per unit for a level, boundary version and year",
                "parameters": [
                    _enum("indicator", list(INDICATORS), "poverty_rate",
                          "rates are percent of households, from summed counts"),
                    _enum("level", LEVELS, "commune", "district needs boundaries=legacy"),
                    _enum("boundaries", BOUNDARIES, "current", "boundary version"),
                    {"name": "year", "in": "query", "required": False,
                     "description": "survey year; default the latest computed",
                     "schema": {"type": "integer"}},
                    _enum("span", ["annual", "period"], "annual",
                          "income-change indicators: since the previous round, or since the first"),
                ],
                "responses": {
                    "200": {"description": "rows {code, name, year, value, numerator, denominator, estimated}",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/IndicatorResponse"}}}},
                    "400": _ERROR,
                },
            }},
            "/api/layers/{name}/{code}": {"get": {
                "summary": "One feature by its code (any administrative level for admin_units)",
                "parameters": [
                    {"name": "name", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": list(LAYERS)}},
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                    _enum("boundaries", BOUNDARIES, "current", "admin_units only"),
                ],
                "responses": {"200": {"description": "GeoJSON Feature"},
                              "404": {"description": "no such feature, or outside the caller's areas"}},
            }},
            "/api/evaluations": {"get": {
                "summary": "Estimated effect of participation on income (VND per person per month)",
                "parameters": [
                    _enum("level", ["province", "commune"], "province", "area level (2025 boundaries)"),
                    _enum("model_type", ["all", "cow_bank", "buffalo_loan", "free_range_chicken",
                                         "medicinal_plant"], "all", "omit for every type"),
                    _enum("format", ["json", "csv", "xlsx", "gpkg"], "json", "a download in that format"),
                ],
                "responses": {"200": {"description": "rows, or a file"}, "400": _ERROR},
            }},
            "/api/me": {"get": {"summary": "The caller: name, role, areas",
                                "responses": {"200": {"description": "the signed-in user or token owner"}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                                          "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/healthz": {"get": {"summary": "Database, PostGIS, migration head and last job runs",
                                 "security": [],
                                 "responses": {"200": {"description": "healthy"},
                                               "503": {"description": "database unavailable"}}}},
            **field_paths(),
        },
        "security": [{"bearer": []}, {"session": []}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "API token from `sinhke users token NAME`; carries the user's role and areas"},
            "session": {"type": "apiKey", "in": "cookie", "name": "sinhke_session"},
        }, "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                               "parameter": {"type": "string"},
                               "allowed": {"type": ["array", "null"], "items": {"type": "string"}}}}}},
            "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"const": "FeatureCollection"},
                "numberMatched": {"type": "integer"}, "numberReturned": {"type": "integer"},
                "features": {"type": "array", "items": {"type": "object"}},
                "links": {"type": "array", "items": {"type": "object"}}}},
            "IndicatorResponse": {"type": "object", "properties": {
                "indicator": {"type": "string"}, "level": {"type": "string"},
                "boundaries": {"type": "string"}, "year": {"type": "integer"},
                "rows": {"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"}, "year": {"type": "integer"},
                    "value": {"type": ["number", "null"]}, "numerator": {"type": ["number", "null"]},
                    "denominator": {"type": ["number", "null"]}, "estimated": {"type": "boolean"}}}}}},
            **field_schemas(),
        }},
    }
