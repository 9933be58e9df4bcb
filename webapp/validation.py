"""The edge: path and query parameters and form fields are checked before any view or query sees them.

A NUL or another control character anywhere, or an integer id past PostgreSQL's
``integer``, is a 400 naming the parameter. JSON bodies are checked by the code that
reads them (a visit batch refuses the one visit that holds one, and stores the rest).
"""

from __future__ import annotations

from flask import Flask, request

from spatial import ParameterError
from spatial.params import check_id, check_text


def check_request() -> None:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check_text(name, value)
        elif isinstance(value, int):
            check_id(name, value)
    sources = [request.args] if request.method in ("GET", "HEAD") else [request.args, request.form]
    for source in sources:
        for name, value in source.items(multi=True):
            if not isinstance(name, str) or not isinstance(value, str):  # a multipart part Werkzeug could not decode
                raise ParameterError("parameter name", "a form field without a readable name or value")
            check_text("parameter name", name)
            check_text(name, value)
    check_text("Authorization", request.headers.get("Authorization", ""))


def init_app(app: Flask) -> None:
    """Runs first, before authentication reads a token or a session from the database."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
