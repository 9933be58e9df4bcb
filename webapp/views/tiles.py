"""``/tiles``: hazard rasters as Web Mercator PNG tiles and the legend of their colour ramp; the map
layers as vector tiles (``/tiles/{layer}/{z}/{x}/{y}.pbf``) with their TileJSON (``/tiles/{layer}.json``).

Rasters are province-wide reference data: every signed-in role reads them (the ``/tiles``
prefix is an API path, so an anonymous caller gets 401). A tile is addressed by the
catalogue id only; the file read is the one the catalogue stored.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from spatial.hazard_styles import STYLE_VERSION, style_for
from spatial.raster_catalogue import catalogued_raster, readable_cog
from spatial.raster_tiles import check_tile_address, render_tile
from spatial.vector_tiles import parse_tile_request, tile, tilejson
from webapp.db import get_session

bp = Blueprint("tiles", __name__, url_prefix="/tiles")

#: browsers keep a tile a day; the ETag (file checksum, ramp version, address) makes revalidation cheap
TILE_MAX_AGE = 24 * 3600
MVT_MIME = "application/vnd.mapbox-vector-tile"


@bp.get("/rasters/<int:raster_id>/<int:z>/<int:x>/<int:y>.png")
def raster_tile(raster_id: int, z: int, x: int, y: int) -> ResponseReturnValue:
    check_tile_address(z, x, y)
    raster = catalogued_raster(get_session(), raster_id)
    etag = f"{raster.checksum[:32]}-s{STYLE_VERSION}-{z}-{x}-{y}"

    def png() -> bytes:
        style = style_for(raster.hazard, raster.value_min, raster.value_max)
        return render_tile(readable_cog(current_app.config["SINHKE"], raster), style, x, y, z)

    return _tile_response(etag, png, "image/png", TILE_MAX_AGE)


def _held_etag(etag: str) -> str | None:
    """The tag the client holds of this body: ``etag`` itself or, for a compressed copy, the
    ``etag:br`` (``:gzip``) that Flask-Compress gave it; None when it holds neither."""
    for held in request.if_none_match.as_set():
        if held == etag or held.partition(":")[0] == etag:
            return held
    return None


def _tile_response(etag: str, body: Callable[[], bytes], mimetype: str, max_age: int) -> Response:
    """304 when the client holds ``etag`` (of any encoding of the body), the body otherwise;
    private: a tile is the caller's view."""
    held = _held_etag(etag)
    response = Response(status=304) if held else Response(body(), mimetype=mimetype)
    response.set_etag(held or etag)  # a 304 names what the client holds (compression leaves 304s alone)
    response.cache_control.private = True
    response.cache_control.max_age = max_age
    response.vary.add("Cookie")
    response.vary.add("Authorization")
    return response


@bp.get("/rasters/<int:raster_id>/legend.json")
def raster_legend(raster_id: int) -> ResponseReturnValue:
    raster = catalogued_raster(get_session(), raster_id)
    legend = style_for(raster.hazard, raster.value_min, raster.value_max).legend()
    return jsonify(
        {
            "raster_id": raster.id,
            "label": raster.name,
            "unit": raster.unit,
            "return_period": raster.return_period,
            **legend,
        }
    )


#: vector tiles change with the data: browsers revalidate every time (a 304 costs one small request)
VECTOR_TILE_MAX_AGE = 0


@bp.get("/<layer>/<int:z>/<int:x>/<int:y>.pbf")
def vector_tile(layer: str, z: int, x: int, y: int) -> ResponseReturnValue:
    session = get_session()
    req = parse_tile_request(session, layer, z, x, y, request.args.to_dict())
    found = tile(session, req)
    response = _tile_response(found.etag, lambda: found.body, MVT_MIME, VECTOR_TILE_MAX_AGE)
    response.cache_control.no_cache = True
    response.headers["X-Tile-Cache"] = "hit" if found.cached else "miss"
    return response


@bp.get("/<layer>.json")
def vector_tilejson(layer: str) -> ResponseReturnValue:
    template = url_for("tiles.vector_tile", layer=layer, z=0, x=0, y=0, _external=True)
    template = template.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    return jsonify(tilejson(get_session(), layer, template, request.args.to_dict()))
