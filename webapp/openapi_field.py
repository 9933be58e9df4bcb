"""The OpenAPI paths and schemas of ``/api/forms``, ``/api/visits`` and ``/api/sensors`` (merged by webapp.openapi)."""

from __future__ import annotations

from typing import Any

from ingest.sensors import BATCH_LIMIT
from ingest.visits import MAX_BATCH
from spatial.field import MAX_VISITS
from spatial.forms import ERROR_CODES, FIELD_TYPES


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERR = _ref("Error")
_VISIT_ERRORS = {
    "400": _json(_ERR, "the body is not JSON"),
    "403": _json(_ERR, "a read-only role, or the target lies outside the caller's communes"),
    "409": _json(
        _ERR,
        "`reason: id_taken`: the id holds a different body (the stored one is kept); "
        "`reason: stale_edit`: `replaces` names a version already replaced (`current` names the "
        "version to edit instead)",
    ),
    "422": _json(
        _ERR,
        "invalid body or answers: `field` names the first problem, `errors` lists each "
        "`{field, code, message}`; also an unknown target code, form or form version",
    ),
}


def field_paths() -> dict[str, Any]:
    return {
        "/api/forms": {
            "get": {
                "summary": "The current version of every field form, as the JSON definition devices validate with",
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"forms": {"type": "array", "items": _ref("FormDefinition")}}},
                        "current forms",
                    )
                },
            }
        },
        "/api/forms/{form}/{version}": {
            "get": {
                "summary": "One version of one form (visits keep the version they were filled with)",
                "parameters": [
                    {"name": "form", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(_ref("FormDefinition"), "the definition"),
                    "404": _json(_ERR, "no such form version"),
                },
            }
        },
        "/api/participants": {
            "get": {
                "summary": "The households now taking part in each model of the caller's communes, by model code "
                "(the field app's household pick-list, kept offline)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "models": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "code": {"type": "string"},
                                                "head": {"type": "string"},
                                                "village": {"type": ["string", "null"]},
                                            },
                                        },
                                    },
                                }
                            },
                        },
                        "households by model code",
                    )
                },
            }
        },
        "/api/visits": {
            "post": {
                "summary": "Sync one visit: 201 first receipt, 200 the identical body again (nothing changes)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("VisitBody")}}},
                "responses": {
                    "201": _json(_ref("Visit"), "stored; Location names it"),
                    "200": _json(_ref("Visit"), "already stored with this very body; nothing changed"),
                    **_VISIT_ERRORS,
                },
            },
            "get": {
                "summary": f"Visits of one model, work or scheme in the caller's areas, newest first "
                f"(at most {MAX_VISITS})",
                "parameters": [
                    {"name": "model", "in": "query", "schema": {"type": "string"}, "description": "model code"},
                    {"name": "work", "in": "query", "schema": {"type": "string"}, "description": "work code"},
                    {"name": "water_scheme", "in": "query", "schema": {"type": "string"}, "description": "scheme code"},
                    {
                        "name": "history",
                        "in": "query",
                        "schema": {"type": "boolean", "default": False},
                        "description": "every version of every visit, not only the current ones",
                    },
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"visits": {"type": "array", "items": _ref("Visit")}}},
                        "visits",
                    ),
                    "400": _json(_ERR, "none or several of model, work, water_scheme"),
                    "404": _json(_ERR, "no such target, or outside the caller's areas"),
                },
            },
        },
        "/api/visits/batch": {
            "post": {
                "summary": f"Sync up to {MAX_BATCH} visits; each is answered as if posted alone",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["visits"],
                                "properties": {
                                    "visits": {"type": "array", "maxItems": MAX_BATCH, "items": _ref("VisitBody")}
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "results": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["index", "status"],
                                        "properties": {
                                            "index": {"type": "integer"},
                                            "id": {"type": ["string", "null"]},
                                            "status": {"type": "integer", "enum": [200, 201, 403, 409, 422]},
                                            "visit": _ref("Visit"),
                                            "error": {"type": "object"},
                                        },
                                    },
                                }
                            },
                        },
                        "per visit, in the order sent: status and the visit, or status and error",
                    ),
                    "403": _json(_ERR, "a read-only role"),
                    "422": _json(_ERR, "`visits` is not a list, or too long"),
                },
            }
        },
        "/api/visits/{id}/photo": {
            "get": {
                "summary": "The photo taken with a visit",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
                ],
                "responses": {
                    "200": {"description": "the image (JPEG, PNG or WebP)"},
                    "404": _json(_ERR, "no such visit or photo, or outside the caller's areas"),
                },
            }
        },
        "/api/visits/{id}": {
            "get": {
                "summary": "One visit version",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
                ],
                "responses": {
                    "200": _json(_ref("Visit"), "the visit"),
                    "404": _json(_ERR, "no such visit, or outside the caller's areas"),
                },
            }
        },
    }


def field_schemas() -> dict[str, Any]:
    target = {
        "model": {"type": "string", "description": "livelihood model code (exactly one of model, work, water_scheme)"},
        "work": {"type": "string", "description": "infrastructure work code"},
        "water_scheme": {"type": "string", "description": "water scheme code"},
    }
    body = {
        "id": {"type": "string", "format": "uuid", "description": "made by the device; the visit version's identity"},
        **target,
        "visited_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset"},
        "form": {"type": "string"},
        "form_version": {"type": "string"},
        "location": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["type", "coordinates"],
                    "properties": {
                        "type": {"const": "Point"},
                        "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}},
                    },
                },
            ]
        },
        "accuracy_m": {"type": ["number", "null"], "minimum": 0},
        "answers": {"type": "object", "description": "keyed by the form's field names"},
        "replaces": {
            "type": ["string", "null"],
            "format": "uuid",
            "description": "an edit: the id of the current version it replaces",
        },
        "photo": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["type", "data"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"enum": ["image/jpeg", "image/png", "image/webp"]},
                        "data": {"type": "string", "contentEncoding": "base64"},
                    },
                },
            ],
            "description": "one photo, resized on the device (larger than SINHKE_FIELD_PHOTO_MAX_KB: 422)",
        },
    }
    return {
        "VisitBody": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "visited_at", "form", "form_version", "answers"],
            "properties": body,
        },
        "Visit": {
            "type": "object",
            "properties": {
                **body,
                "version": {"type": "integer", "description": "1 for the first, n+1 for an edit"},
                "root": {"type": "string", "format": "uuid", "description": "id of the first version"},
                "current": {"type": "boolean", "description": "no later version replaces it"},
                "submitted_by": {"type": "string"},
                "received_at": {"type": "string", "format": "date-time"},
                "photo": {"type": ["string", "null"], "description": "URL of the visit's photo"},
            },
        },
        "FormDefinition": {
            "type": "object",
            "properties": {
                "form": {"type": "string"},
                "version": {"type": "string"},
                "target": {"type": "string", "enum": ["livelihood_model", "infrastructure_work", "water_scheme"]},
                "target_types": {"type": "array", "items": {"type": "string"}},
                "title": {"type": "object", "properties": {"vi": {"type": "string"}, "en": {"type": "string"}}},
                "definition": {
                    "type": "object",
                    "description": (
                        "fields: name, type (" + ", ".join(FIELD_TYPES) + "), label {vi, en}, required, choices, "
                        "constraint/relevant {expr, all: [{op, ref, value}]}; validation error codes: "
                        + ", ".join(ERROR_CODES)
                    ),
                },
            },
        },
    }


def sensor_paths() -> dict[str, Any]:
    """``/api/sensors/observations``: what a device sends with its own token."""
    row = {
        "type": "object",
        "required": ["datastream", "phenomenon_time", "value"],
        "properties": {
            "datastream": {"type": "integer", "description": "the datastream's SensorThings @iot.id"},
            "phenomenon_time": {"type": "string", "description": "ISO 8601 with its zone (Z or +07:00)"},
            "value": {"type": "number"},
        },
    }
    answer = {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer"},
            "inserted": {"type": "integer"},
            "corrected": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "rejected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"row": {"type": "integer"}, "datastream": {}, "reason": {"type": "string"}},
                },
            },
        },
    }
    time_param = {"type": "string", "description": "ISO 8601 with its zone"}
    return {
        "/api/sensors/datastreams/{stream}/readings": {
            "get": {
                "summary": "A datastream's readings between from and to (hourly means above 5,000 readings)",
                "parameters": [
                    {"name": "stream", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "from", "in": "query", "required": False, "schema": time_param},
                    {"name": "to", "in": "query", "required": False, "schema": time_param},
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "resolution": {"type": "string", "enum": ["raw", "hour"]},
                                "count": {"type": "integer"},
                                "points": {"type": "array", "items": {"type": "array"}},
                            },
                        },
                        "the readings as [time, value] pairs",
                    ),
                    "400": _json(_ERR, "from/to are not times with a zone, or not in order, or too far apart"),
                    "404": _json(_ERR, "no such datastream in the caller's communes"),
                },
            }
        },
        "/api/sensors/alerts": {
            "get": {
                "summary": "Each commune's latest rainfall risk (Decision 18/2021 bands) as GeoJSON",
                "responses": {
                    "200": {
                        "description": "a FeatureCollection of communes",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/sensors/observations": {
            "post": {
                "summary": "A device's batch of readings; each row not taken is answered with its reason",
                "description": "Authorization: Bearer with the device's token (`sinhke sensors token DEVICE`), "
                "not a user's. Idempotent on (datastream, phenomenon_time); a new value for a stored time is "
                f"kept as a correction. At most {BATCH_LIMIT} rows.",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"type": "array", "items": row},
                                    {
                                        "type": "object",
                                        "properties": {"observations": {"type": "array", "items": row}},
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(answer, "what was written, and the rows refused with their reasons"),
                    "400": _json(_ERR, "the body is not a batch"),
                    "401": _json(_ERR, "no device token, an unknown or a revoked one"),
                    "403": _json(_ERR, "a row names another device's datastream: nothing written"),
                    "413": _json(_ERR, f"more than {BATCH_LIMIT} rows"),
                },
            }
        },
    }
