"""Pages for people: the map."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import get_locale

from spatial.indicators import available_years
from webapp.db import get_session

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for("pages.map_page"))


@bp.get("/map")
def map_page():  # type: ignore[no-untyped-def]
    years = available_years(get_session())
    return render_template("map.html", years=years, default_year=years[-1] if years else None, locale=str(get_locale()))
