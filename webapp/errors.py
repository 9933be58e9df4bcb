"""Exceptions → HTTP status: JSON bodies for the API, a readable page for people.

No stack trace ever reaches a client; unexpected errors are logged server-side.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from ingest.planning_xlsx import ImportRefused
from ingest.visits import InvalidVisit, VisitConflict, VisitForbidden
from spatial import NotFound, ParameterError, SinhkeError
from spatial.accounts import AccountError, Conflict, RateLimited
from spatial.raster import RasterError
from spatial.sensors import BatchTooLarge, DeviceForbidden, DeviceUnauthorized, SensorError
from spatial.submissions import ReviewForbidden

#: what a 503 asks a client to wait while the database restarts
RETRY_AFTER_SECONDS = 5

#: most specific first
STATUS: dict[type[Exception], int] = {
    InvalidVisit: 422,
    ImportRefused: 422,
    VisitForbidden: 403,
    ReviewForbidden: 403,
    VisitConflict: 409,
    ParameterError: 400,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    AccountError: 400,
    RasterError: 400,
    DeviceUnauthorized: 401,
    DeviceForbidden: 403,
    BatchTooLarge: 413,
    SensorError: 400,
}


def error_payload(exc: SinhkeError) -> tuple[int, str, dict]:
    """Status, message and the fields that say what to fix, for a domain error."""
    code = next((c for t, c in STATUS.items() if isinstance(exc, t)), 500)
    extra: dict = {}
    if isinstance(exc, ParameterError):
        extra = {"parameter": exc.parameter, "allowed": exc.allowed}
        position = getattr(exc, "position", None)  # a CQL2 filter's syntax error
        if position is not None:
            extra["position"] = position
    elif isinstance(exc, ImportRefused):
        extra = {"errors": exc.errors, "import_id": exc.report.import_id}
    elif isinstance(exc, InvalidVisit):
        extra = {"field": exc.field, "errors": exc.errors}
    elif isinstance(exc, VisitConflict):
        extra = {"reason": exc.reason, **({"current": exc.current} if exc.current else {})}
    return code, str(exc), extra


def _wants_json() -> bool:
    """API paths, token-bearing clients and clients that prefer JSON get JSON bodies."""
    if request.path.startswith(("/api", "/healthz", "/ogc", "/tiles", "/sta")):
        return True
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


#: OGC API exception codes by HTTP status (OGC API – Common, exception schema)
OGC_CODES = {
    400: "InvalidParameterValue",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    500: "ServerError",
}


def _wants_ogc() -> bool:
    """/ogc and the vector tiles answer errors with the OGC exception body."""
    path = request.path
    raster = path.startswith("/tiles/rasters/") and path.endswith((".png", "/legend.json"))
    return path.startswith("/ogc") or (path.startswith("/tiles/") and not raster)


def _respond(code: int, message: str, extra: dict | None = None) -> tuple[Response | str, int]:
    html_asked = request.args.get("f") == "html"  # an OGC API page for people
    if _wants_ogc() and not html_asked:
        body = {"code": OGC_CODES.get(code, "Error"), "description": message, "status": code, **(extra or {})}
        return jsonify(body), code
    if _wants_json() and not (html_asked and _wants_ogc()):
        body = {"error": {"code": code, "message": message, **(extra or {})}}
        return jsonify(body), code
    from webapp.labels import error_detail

    # werkzeug's stock English description says what the page's own text says already
    stock = HTTP_STATUS_CODES.get(code) and message == getattr(default_exceptions.get(code), "description", None)
    return render_template("error.html", code=code, message=None if stock else error_detail(message)), code


INTERNAL = "internal error; the administrators have the details in the server log"


def internal_error() -> Response:
    """The 500 for an unexpected failure, already logged by the caller."""
    return make_response(_respond(500, INTERNAL))


def unavailable() -> Response:
    """The 503 while the database is down or restarting: the client should retry (the field app does);
    the pool drops the broken connection and pre-ping finds a live one next time."""
    response = make_response(_respond(503, "the database is not available at the moment; retry shortly"))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        body, code = _respond(exc.code or 500, exc.description or exc.name)
        # what the exception says beside its body (Allow of a 405, WWW-Authenticate, Retry-After)
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return body, code, headers

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError) -> ResponseReturnValue:
        app.logger.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[:1])
        return unavailable()

    @app.errorhandler(SinhkeError)
    def domain_error(exc: SinhkeError) -> ResponseReturnValue:
        code, message, extra = error_payload(exc)
        if code == 500:
            app.logger.exception("unhandled domain error")
            return _respond(500, "internal error")
        return _respond(code, message, extra)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        return internal_error()
