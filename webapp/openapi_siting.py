"""The OpenAPI paths and schemas of ``/api/siting`` (merged by webapp.openapi)."""

from __future__ import annotations

from typing import Any

from spatial.params import MAX_ID
from spatial.scenarios import EXPORT_LAYERS
from spatial.siting import FACILITIES, GRID_SPACING_RANGE, MAX_RADIUS_M


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERR = _ref("Error")
_ID = {
    "name": "scenario_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
}


def siting_paths() -> dict[str, Any]:
    return {
        "/api/siting": {
            "get": {
                "summary": "Saved siting scenarios the caller may open (every commune of theirs), newest first",
                "parameters": [
                    {
                        "name": "commune",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "only scenarios touching this 2025 commune",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
                    },
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"scenarios": {"type": "array", "items": {"type": "object"}}}},
                        "scenarios",
                    ),
                    "400": _json(_ERR, "unknown commune, or one outside the caller's"),
                },
            },
            "post": {
                "summary": "Run a siting (maximal covering, solved by HiGHS) and save it as a named scenario",
                "description": "Planners and administrators, within their communes. With `background: true` the "
                "run is a job: 202 with status `running`; poll `GET /api/siting/{scenario_id}` for its progress.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SitingRequest")}}},
                "responses": {
                    "201": _json(_ref("SitingScenario"), "the scenario with its result"),
                    "202": _json(_ref("SitingScenario"), "the scenario, running in the background"),
                    "400": _json(_ERR, "a bad field: `parameter` names it"),
                    "403": _json(_ERR, "a role that does not plan"),
                },
            },
        },
        "/api/siting/{scenario_id}": {
            "get": {
                "summary": "One scenario: parameters, status, progress and result",
                "parameters": [_ID],
                "responses": {
                    "200": _json(_ref("SitingScenario"), "the scenario"),
                    "404": _json(_ERR, "no such scenario, or it reaches outside the caller's communes"),
                },
            }
        },
        "/api/siting/{scenario_id}/{layer}": {
            "get": {
                "summary": "A scenario's chosen sites or its demand households: GeoJSON, CSV or GeoPackage",
                "parameters": [
                    _ID,
                    {
                        "name": "layer",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(EXPORT_LAYERS)},
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["geojson", "csv", "gpkg"], "default": "geojson"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "the layer",
                        "content": {
                            "application/geo+json": {"schema": _ref("FeatureCollection")},
                            "text/csv": {"schema": {"type": "string"}},
                            "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "400": _json(_ERR, "unknown layer or format"),
                    "404": _json(_ERR, "no such scenario, or it reaches outside the caller's communes"),
                },
            }
        },
    }


def planning_paths() -> dict[str, Any]:
    from spatial.models import DISBURSEMENT_STATUSES, TARGET_INDICATORS, TARGET_STATUSES

    def listing(summary: str, statuses: tuple[str, ...]) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(statuses)},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 500},
                    },
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"rows": {"type": "array", "items": {"type": "object"}}}},
                        "rows",
                    ),
                    "400": _json(_ERR, "unknown status or a bad limit"),
                },
            }
        }

    return {
        "/api/planning/progress": listing(
            "Targets against progress in the caller's areas (targets_progress job), the largest gap first",
            TARGET_STATUSES,
        ),
        "/api/planning/import/{kind}": {
            "post": {
                "summary": "Targets or allocations from an XLSX or CSV (Vietnamese or English headers): all or none",
                "parameters": [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["targets", "allocations"]},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json({"type": "object"}, "the counts: rows, inserted, updated, unchanged"),
                    "400": _json(_ERR, "no file, or an unknown kind"),
                    "403": _json(_ERR, "a role that does not enter money or targets"),
                    "422": _json(_ERR, "refused: `errors` lists every `{row, column, reason}`; nothing written"),
                },
            }
        },
        "/api/planning/map": {
            "get": {
                "summary": "The caller's 2025 communes with their targets' status and disbursement in a year (GeoJSON)",
                "parameters": [
                    {
                        "name": "year",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 2000, "maximum": 2100},
                    },
                    {
                        "name": "indicator",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(TARGET_INDICATORS)},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "a FeatureCollection: code, name, status, lagging, gap, allocated_vnd, "
                        "disbursed_vnd, rate, low_parts, low_undisbursed_vnd per commune; and the year",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}},
                    },
                    "400": _json(_ERR, "a bad year or an unknown indicator"),
                },
            }
        },
        "/api/planning/disbursement": listing(
            "Allocated and disbursed capital by programme part, area and year, the most left undisbursed first",
            DISBURSEMENT_STATUSES,
        ),
    }


def siting_schemas() -> dict[str, Any]:
    lo, hi = GRID_SPACING_RANGE
    return {
        "SitingRequest": {
            "type": "object",
            "required": ["name", "communes", "radius", "k", "candidates"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "communes": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "radius": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M},
                "k": {"type": "integer", "minimum": 1},
                "facility": {"type": "string", "enum": list(FACILITIES), "default": "water_scheme"},
                "distance": {"type": "string", "enum": ["straight", "road"], "default": "straight"},
                "weights": {
                    "type": "object",
                    "properties": {
                        "poor": {"type": "number", "minimum": 0},
                        "near_poor": {"type": "number", "minimum": 0},
                    },
                },
                "budget": {"type": "integer", "minimum": 0, "description": "VND; needs a cost per candidate"},
                "time_limit": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 60},
                "background": {"type": "boolean", "default": False},
                "candidates": {
                    "description": "one of: a grid spacing in metres, points clicked on the map, a GeoJSON "
                    "FeatureCollection of points (candidate = feature id), a CSV text with lon, lat (candidate = row)",
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["grid"],
                            "properties": {"grid": {"type": "number", "minimum": lo, "maximum": hi}},
                        },
                        {"type": "object", "required": ["points"], "properties": {"points": {"type": "array"}}},
                        {"type": "object", "required": ["geojson"], "properties": {"geojson": {"type": "object"}}},
                        {"type": "object", "required": ["csv"], "properties": {"csv": {"type": "string"}}},
                    ],
                },
            },
        },
        "SitingScenario": {
            "type": "object",
            "required": ["id", "name", "status", "communes"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "facility": {"type": "string"},
                "communes": {"type": "array", "items": {"type": "string"}},
                "status": {"type": "string", "enum": ["running", "succeeded", "failed"]},
                "progress": {"type": ["string", "null"]},
                "error": {"type": ["string", "null"]},
                "error_code": {"type": ["string", "null"], "enum": ["abandoned", None]},
                "params": {"type": "object"},
                "created_by": {"type": "string"},
                "created_at": {"type": "string"},
                "result": {
                    "type": ["object", "null"],
                    "properties": {
                        "objective": {"type": "number"},
                        "greedy_objective": {"type": "number"},
                        "optimal": {"type": "boolean"},
                        "gap": {"type": "number"},
                        "seconds": {"type": "number"},
                        "sites": {"type": "array", "items": {"type": "object"}},
                        "households": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    }
