"""The OpenAPI 3.1 document of ``/api``, built from the same allow-lists the routes enforce."""

from __future__ import annotations

from typing import Any

from spatial.exports import FORMATS
from spatial.indicators import INDICATORS
from spatial.layers import BOUNDARIES, DEFAULT_LIMIT, LAYERS, LEVELS, MAX_LIMIT
from spatial.ledger import LISTED_STATUSES
from spatial.model_status import DEFAULT_DUE_LIMIT, MAX_DUE_LIMIT
from spatial.models import ASSET_KINDS, EPOCHS, HAZARDS
from spatial.params import MAX_ID
from spatial.place_search import DEFAULT_LIMIT as SEARCH_DEFAULT_LIMIT
from spatial.place_search import KINDS as SEARCH_KINDS
from spatial.place_search import MAX_LIMIT as SEARCH_MAX_LIMIT
from spatial.place_search import MAX_QUERY as SEARCH_MAX
from spatial.place_search import MIN_QUERY as SEARCH_MIN
from spatial.raster_tiles import MAX_ZOOM, MIN_ZOOM
from webapp.openapi_field import field_paths, field_schemas, sensor_paths
from webapp.openapi_siting import planning_paths, siting_paths, siting_schemas

_ERROR = {
    "description": "Bad parameter: the message names it and the allowed values",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}

#: what format=csv|xlsx answers instead of JSON
_TABLE_FILES = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
}


def _enum(name: str, values: list[str] | tuple[str, ...], default: str, desc: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": desc,
        "schema": {"type": "string", "enum": list(values), "default": default},
    }


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _limit(maximum: int, default: int) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sinhke API",
            "version": "0.1.0",
            "description": "Livelihood models, works, water schemes and poverty indicators "
            "of a poverty-reduction programme, on both the legacy and the "
            "2025 administrative boundaries.",
        },
        "paths": {
            "/api/layers/{name}": {
                "get": {
                    "summary": "A map layer as GeoJSON, one page at a time",
                    "parameters": [
                        _path("name", {"type": "string", "enum": list(LAYERS)}),
                        {
                            "name": "bbox",
                            "in": "query",
                            "required": False,
                            "description": "minlon,minlat,maxlon,maxlat (WGS 84)",
                            "schema": {"type": "string", "pattern": r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                        },
                        {
                            "name": "offset",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 0, "default": 0},
                        },
                        _enum("level", LEVELS, "commune", "admin_units only; district needs boundaries=legacy"),
                        _enum(
                            "boundaries",
                            BOUNDARIES,
                            "current",
                            "admin_units only: legacy (until 30 June 2025) or current (from 1 July 2025)",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "GeoJSON FeatureCollection with numberMatched, "
                            "numberReturned and paging links",
                            "content": {
                                "application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}
                            },
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/indicators": {
                "get": {
                    "summary": "One indicator per unit for a level, boundary version and year",
                    "parameters": [
                        _enum(
                            "indicator",
                            list(INDICATORS),
                            "poverty_rate",
                            "rates are percent of households, from summed counts",
                        ),
                        _enum("level", LEVELS, "commune", "district needs boundaries=legacy"),
                        _enum("boundaries", BOUNDARIES, "current", "boundary version"),
                        {
                            "name": "year",
                            "in": "query",
                            "required": False,
                            "description": "survey year; default the latest computed",
                            "schema": {"type": "integer"},
                        },
                        _enum(
                            "span",
                            ["annual", "period"],
                            "annual",
                            "income-change indicators: since the previous round, or since the first",
                        ),
                        _enum("format", ["json", "csv", "xlsx"], "json", "a download in that format"),
                        _enum("sort", ["code", "name", "value", "numerator", "denominator"], "code", "downloads"),
                        _enum("order", ["asc", "desc"], "asc", "downloads: ascending or descending"),
                    ],
                    "responses": {
                        "200": {
                            "description": "rows {code, name, year, value, numerator, denominator, estimated}; "
                            "with format=csv|xlsx the same rows as a file",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/IndicatorResponse"}},
                                **_TABLE_FILES,
                            },
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/indicators/pivot": {
                "get": {
                    "summary": "Indicators × areas × years (a pivot table)",
                    "parameters": [
                        {
                            "name": "indicators",
                            "in": "query",
                            "required": False,
                            "description": "comma-separated indicators of /api/indicators; default "
                            "poverty_rate,near_poor_rate",
                            "schema": {"type": "string"},
                        },
                        _enum("level", LEVELS, "commune", "district needs boundaries=legacy"),
                        _enum("boundaries", BOUNDARIES, "current", "boundary version"),
                        _enum("span", ["annual", "period"], "annual", "income-change indicators"),
                        _enum(
                            "format", ["json", "csv", "xlsx"], "json", "a download, one column an indicator and year"
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "{indicators, level, boundaries, span, years, rows: [{code, name, "
                            "values: {indicator: {year: value}}}]}",
                            "content": {"application/json": {"schema": {"type": "object"}}, **_TABLE_FILES},
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/layers/{name}/{code}": {
                "get": {
                    "summary": "One feature by its code (any administrative level for admin_units)",
                    "parameters": [
                        _path("name", {"type": "string", "enum": list(LAYERS)}),
                        _path("code"),
                        _enum("boundaries", BOUNDARIES, "current", "admin_units only"),
                    ],
                    "responses": {
                        "200": {"description": "GeoJSON Feature"},
                        "404": {"description": "no such feature, or outside the caller's areas"},
                    },
                }
            },
            "/api/evaluations": {
                "get": {
                    "summary": "Estimated effect of participation on income (VND per person per month)",
                    "parameters": [
                        _enum("level", ["province", "commune"], "province", "area level (2025 boundaries)"),
                        _enum(
                            "model_type",
                            ["all", "cow_bank", "buffalo_loan", "free_range_chicken", "medicinal_plant"],
                            "all",
                            "omit for every type",
                        ),
                        _enum("format", ["json", "csv", "xlsx", "gpkg"], "json", "a download in that format"),
                    ],
                    "responses": {"200": {"description": "rows, or a file"}, "400": _ERROR},
                }
            },
            "/api/areas/{code}": {
                "get": {
                    "summary": "A province or commune's profile: the unit, its indicators over the years, "
                    "exposure to each catalogued raster, and the models, works and schemes inside it",
                    "parameters": [
                        _path("code"),
                        _enum("boundaries", BOUNDARIES, "current", "boundary version"),
                    ],
                    "responses": {
                        "200": {"description": "the area's overview"},
                        "400": _ERROR,
                        "404": {"description": "no such unit, or outside the caller's areas"},
                    },
                }
            },
            "/api/exposure": {
                "get": {
                    "summary": "Exposure of areas to one catalogued raster (the exposure job's results)",
                    "parameters": [
                        {
                            "name": "raster",
                            "in": "query",
                            "required": True,
                            "description": "id of a catalogued raster (/api/rasters)",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        },
                        _enum("level", LEVELS, "commune", "district needs boundaries=legacy"),
                        _enum("boundaries", BOUNDARIES, "current", "boundary version"),
                        _enum("format", ["json", *FORMATS], "json", "a download in that format"),
                    ],
                    "responses": {
                        "200": {"description": "{raster, level, boundaries, rows}, or a file"},
                        "400": _ERROR,
                    },
                }
            },
            "/api/exposure/{kind}/{code}": {
                "get": {
                    "summary": "Exposure of one model, work or water scheme to every catalogued raster",
                    "parameters": [
                        _path("kind", {"type": "string", "enum": list(ASSET_KINDS)}),
                        _path("code"),
                    ],
                    "responses": {
                        "200": {"description": "{kind, code, rasters: one row per catalogued raster}"},
                        "400": _ERROR,
                        "404": {"description": "no such asset, or outside the caller's areas"},
                    },
                }
            },
            "/api/models/{code}/chain": {
                "get": {
                    "summary": "A cow-bank or buffalo-loan model's pass-on chain: households by generation, "
                    "their animals, the owed calf, obligation status and due dates",
                    "parameters": [_path("code")],
                    "responses": {
                        "200": {
                            "description": "the model, its pass-on rule and the chain as a tree "
                            "(each node's children are the households it handed on to)"
                        },
                        "400": _ERROR,
                        "404": {"description": "no such model, or outside the caller's areas"},
                    },
                }
            },
            "/api/models/{code}/status": {
                "get": {
                    "summary": "A livelihood model's facts, its status from field visits (as of the model_status "
                    "job's last run) and its visits, newest first",
                    "parameters": [_path("code")],
                    "responses": {
                        "200": {
                            "description": "{model, status, visits, has_chain}: status holds last visit "
                            "(at, by), visits, interval_days, next_visit_due, overdue_days; "
                            "herd_size, mortality_12m (deaths per animal-year), pass-ons "
                            "due/overdue for cow banks and buffalo loans; flock_size, "
                            "birds sold for chickens; area_m2, stage, harvest kg and VND "
                            "over 12 months for medicinal plants; null before the job ran",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelStatus"}}},
                        },
                        "404": {"description": "no such model, or outside the caller's areas"},
                    },
                }
            },
            "/api/visits/due": {
                "get": {
                    "summary": (
                        "Active models of the caller's areas by days overdue (most first); never-visited flagged"
                    ),
                    "parameters": [
                        _enum("overdue", ["true", "false"], "false", "true: only the overdue"),
                        _limit(MAX_DUE_LIMIT, DEFAULT_DUE_LIMIT),
                    ],
                    "responses": {
                        "200": {
                            "description": "{as_of, count, overdue, never_visited, rows: [{code, name, "
                            "model_type, commune, last_visit_at, last_visit_by, visits, "
                            "interval_days, next_visit_due, overdue_days, never_visited}]}"
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/pass-on": {
                "get": {
                    "summary": "Pass-ons due or overdue in the caller's areas, most overdue first",
                    "parameters": [
                        _enum(
                            "status",
                            ["all", *LISTED_STATUSES],
                            "all",
                            "due: inside the rule's age window; overdue: past it",
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "rows {model_code, commune, giver_code, calf_tag, "
                            "due_from, due_by, status, …}"
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/rasters": {
                "get": {
                    "summary": "The climate-risk raster catalogue (every signed-in role)",
                    "parameters": [
                        {
                            "name": "hazard",
                            "in": "query",
                            "required": False,
                            "description": "only this hazard",
                            "schema": {"type": "string", "enum": list(HAZARDS)},
                        },
                        _enum("retired", ["exclude", "include"], "exclude", "also the retired entries"),
                    ],
                    "responses": {
                        "200": {
                            "description": "{rasters: [Raster]}",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "rasters": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Raster"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/rasters/{id}": {
                "get": {
                    "summary": "One catalogued raster",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": {
                            "description": "the catalogue entry",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Raster"}}},
                        },
                        "404": {"description": "no such raster"},
                    },
                }
            },
            "/tiles/rasters/{id}/{z}/{x}/{y}.png": {
                "get": {
                    "summary": "A hazard raster as a Web Mercator (XYZ) map tile in its hazard's colour ramp",
                    "description": "256 × 256 PNG; nodata and values the ramp leaves out (dry ground, landslide "
                    "class 0) are transparent; a tile outside the raster is fully transparent. "
                    "ETag per file checksum, ramp version and address; Cache-Control private.",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        _path("z", {"type": "integer", "minimum": MIN_ZOOM, "maximum": MAX_ZOOM}),
                        {
                            "name": "x",
                            "in": "path",
                            "required": True,
                            "description": "0 to 2^z − 1",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                        {
                            "name": "y",
                            "in": "path",
                            "required": True,
                            "description": "0 to 2^z − 1",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                    ],
                    "responses": {
                        "200": {"description": "the tile", "content": {"image/png": {}}},
                        "304": {"description": "not modified (If-None-Match)"},
                        "400": _ERROR,
                        "404": {"description": "no such raster"},
                    },
                }
            },
            "/tiles/rasters/{id}/legend.json": {
                "get": {
                    "summary": "The colour ramp of a hazard raster's tiles, for a legend",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": {
                            "description": "kind (continuous or classes), min, max, stops (value → "
                            "colour; class ramps with a label key; colour null: not "
                            "drawn), gradient (continuous), unit, label, return period",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "404": {"description": "no such raster"},
                    },
                }
            },
            "/api/search": {
                "get": {
                    "summary": "Places by name or code, for the map's search box",
                    "description": "Communes (both boundary versions), villages, livelihood models, "
                    "infrastructure works and water schemes the caller may see whose name or code contains "
                    "q, ignoring case and Vietnamese diacritics; best match first.",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "description": "part of a name or code",
                            "schema": {"type": "string", "minLength": SEARCH_MIN, "maxLength": SEARCH_MAX},
                        },
                        _limit(SEARCH_MAX_LIMIT, SEARCH_DEFAULT_LIMIT),
                    ],
                    "responses": {
                        "200": {
                            "description": "{q, results: [Place]}",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "q": {"type": "string"},
                                            "results": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Place"},
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/api/me": {
                "get": {
                    "summary": "The caller: name, role, areas, and the extent of the communes they may see",
                    "responses": {
                        "200": {
                            "description": "the signed-in user or token owner",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}},
                        }
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Database, PostGIS, migration head and last job runs",
                    "security": [],
                    "responses": {"200": {"description": "healthy"}, "503": {"description": "database unavailable"}},
                }
            },
            **field_paths(),
            **siting_paths(),
            **planning_paths(),
            **sensor_paths(),
        },
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API token from `sinhke users token NAME`; carries the user's role and areas",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "sinhke_session"},
            },
            "schemas": {
                "Me": {
                    "type": "object",
                    "required": ["name", "role", "sees_everything", "areas", "extent"],
                    "properties": {
                        "name": {"type": "string"},
                        "role": {"type": "string"},
                        "display_name": {"type": ["string", "null"]},
                        "read_only": {"type": "boolean"},
                        "sees_everything": {"type": "boolean"},
                        "areas": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "code": {"type": "string"},
                                    "name": {"type": "string"},
                                    "level": {"type": "string"},
                                },
                            },
                        },
                        "extent": {
                            "type": "object",
                            "description": "[west, south, east, north] in WGS 84 around the communes the caller "
                            "may see, on each boundary version (null: none, and for a caller who sees everything: "
                            "their map opens on the province)",
                            "required": ["current", "legacy"],
                            "properties": {
                                name: {
                                    "type": ["array", "null"],
                                    "items": {"type": "number"},
                                    "minItems": 4,
                                    "maxItems": 4,
                                }
                                for name in ("current", "legacy")
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "integer"},
                                "message": {"type": "string"},
                                "parameter": {"type": "string"},
                                "allowed": {"type": ["array", "null"], "items": {"type": "string"}},
                            },
                        }
                    },
                },
                "FeatureCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"const": "FeatureCollection"},
                        "numberMatched": {"type": "integer"},
                        "numberReturned": {"type": "integer"},
                        "features": {"type": "array", "items": {"type": "object"}},
                        "links": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Raster": {
                    "type": "object",
                    "required": ["id", "hazard", "epoch", "crs", "checksum", "bounds"],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "filename": {"type": "string"},
                        "hazard": {"type": "string", "enum": list(HAZARDS)},
                        "unit": {"type": ["string", "null"], "description": "m, sd, class, mm …"},
                        "return_period": {"type": ["integer", "null"], "description": "years"},
                        "scenario": {"type": ["string", "null"]},
                        "epoch": {"type": "string", "enum": list(EPOCHS)},
                        "source": {"type": ["string", "null"]},
                        "licence": {"type": ["string", "null"]},
                        "source_crs": {"type": "string", "description": "CRS of the uploaded file, e.g. EPSG:3405"},
                        "source_resolution_x": {"type": "number"},
                        "source_resolution_y": {"type": "number"},
                        "crs": {"type": "string", "description": "CRS of the stored COG: the uploaded file's"},
                        "resolution_x": {"type": "number"},
                        "resolution_y": {"type": "number"},
                        "width": {"type": "integer"},
                        "height": {"type": "integer"},
                        "band_count": {"type": "integer"},
                        "dtype": {"type": "string"},
                        "nodata": {"type": ["number", "string", "null"], "description": 'a number, "nan" or null'},
                        "value_min": {"type": ["number", "null"]},
                        "value_max": {"type": ["number", "null"]},
                        "valid_pixels": {"type": "integer"},
                        "checksum": {"type": "string", "description": "SHA-256 of the uploaded bytes"},
                        "size_bytes": {"type": "integer"},
                        "source_bytes": {"type": "integer"},
                        "bounds": {"type": "object", "description": "GeoJSON Polygon, WGS 84"},
                        "ingested_by": {"type": "string"},
                        "ingested_at": {"type": "string", "format": "date-time"},
                        "retired_at": {"type": ["string", "null"], "format": "date-time"},
                        "retired_by": {"type": ["string", "null"]},
                        "replaced_by": {"type": ["integer", "null"], "description": "the entry that replaces it"},
                    },
                },
                "ModelStatus": {
                    "type": "object",
                    "required": ["model", "status", "visits"],
                    "properties": {
                        "model": {
                            "type": "object",
                            "description": "code, name, model_type, status, commune, start_date, "
                            "budgets (VND), participants",
                        },
                        "status": {
                            "type": ["object", "null"],
                            "properties": {
                                "as_of": {"type": "string", "format": "date"},
                                "last_visit_at": {"type": ["string", "null"], "format": "date-time"},
                                "last_visit_by": {"type": ["string", "null"]},
                                "visits": {"type": "integer"},
                                "visits_12m": {"type": "integer"},
                                "interval_days": {"type": ["integer", "null"], "description": "days (visit_schedules)"},
                                "next_visit_due": {"type": ["string", "null"], "format": "date"},
                                "overdue_days": {"type": ["integer", "null"], "description": "days, ≥ 0"},
                                "herd_size": {"type": ["integer", "null"], "description": "live animals held (ledger)"},
                                "flock_size": {"type": ["integer", "null"], "description": "birds, latest visit"},
                                "deaths_12m": {"type": ["integer", "null"]},
                                "mortality_12m": {"type": ["number", "null"], "description": "deaths per animal-year"},
                                "pass_ons_due": {"type": ["integer", "null"]},
                                "pass_ons_overdue": {"type": ["integer", "null"]},
                                "birds_sold_12m": {"type": ["integer", "null"]},
                                "sales_vnd_12m": {"type": ["integer", "null"]},
                                "area_m2": {"type": ["number", "null"]},
                                "stage": {"type": ["string", "null"]},
                                "harvest_kg_12m": {"type": ["number", "null"]},
                                "harvest_value_vnd_12m": {"type": ["integer", "null"]},
                            },
                        },
                        "visits": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "description": "id, visited_at, "
                                "visited_by, form, form_version, accuracy_m (m), key_answers, answers, "
                                "all_answers (every answer with its label {vi, en} and display value), "
                                "warnings (fields answered outside the form's usual range, confirmed by the "
                                "worker), review (received, approved, on_hold or rejected)",
                            },
                        },
                        "has_chain": {"type": "boolean"},
                    },
                },
                "Place": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": list(SEARCH_KINDS)},
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "context": {"type": ["string", "null"], "description": "the commune it lies in"},
                        "bbox": {
                            "type": ["array", "null"],
                            "items": {"type": "number"},
                            "minItems": 4,
                            "maxItems": 4,
                            "description": "minlon,minlat,maxlon,maxlat (WGS 84)",
                        },
                    },
                },
                "IndicatorResponse": {
                    "type": "object",
                    "properties": {
                        "indicator": {"type": "string"},
                        "level": {"type": "string"},
                        "boundaries": {"type": "string"},
                        "year": {"type": "integer"},
                        "rows": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "code": {"type": "string"},
                                    "name": {"type": "string"},
                                    "year": {"type": "integer"},
                                    "value": {"type": ["number", "null"]},
                                    "numerator": {"type": ["number", "null"]},
                                    "denominator": {"type": ["number", "null"]},
                                    "estimated": {"type": "boolean"},
                                },
                            },
                        },
                    },
                },
                **field_schemas(),
                **siting_schemas(),
            },
        },
    }
