"""``/tiles``: hazard rasters as Web Mercator PNG tiles, and the legend of their colour ramp.

Rasters are province-wide reference data: every signed-in role reads them (the ``/tiles``
prefix is an API path, so an anonymous caller gets 401). A tile is addressed by the
catalogue id only; the file read is the one the catalogue stored.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from spatial.hazard_styles import STYLE_VERSION, style_for
from spatial.raster_catalogue import catalogued_raster, readable_cog
from spatial.raster_tiles import check_tile_address, render_tile
from webapp.db import get_session

bp = Blueprint("tiles", __name__, url_prefix="/tiles")

#: browsers keep a tile a day; the ETag (file checksum, ramp version, address) makes revalidation cheap
TILE_MAX_AGE = 24 * 3600


@bp.get("/rasters/<int:raster_id>/<int:z>/<int:x>/<int:y>.png")
def raster_tile(raster_id: int, z: int, x: int, y: int) -> ResponseReturnValue:
    check_tile_address(z, x, y)
    raster = catalogued_raster(get_session(), raster_id)
    etag = f"{raster.checksum[:32]}-s{STYLE_VERSION}-{z}-{x}-{y}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        style = style_for(raster.hazard, raster.value_min, raster.value_max)
        png = render_tile(readable_cog(current_app.config["SINHKE"], raster), style, x, y, z)
        response = Response(png, mimetype="image/png")
    response.set_etag(etag)
    response.cache_control.private = True
    response.cache_control.max_age = TILE_MAX_AGE
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
