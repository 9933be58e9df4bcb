"""Reading the raster catalogue (written by ``ingest.raster``): lists, one entry, its file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spatial import NotFound
from spatial.models import Raster
from spatial.settings import Settings

#: the catalogue's public fields, in the order the API and the admin page show them
FIELDS = (
    "id",
    "name",
    "filename",
    "hazard",
    "unit",
    "return_period",
    "scenario",
    "epoch",
    "source",
    "licence",
    "source_crs",
    "source_resolution_x",
    "source_resolution_y",
    "crs",
    "resolution_x",
    "resolution_y",
    "width",
    "height",
    "band_count",
    "dtype",
    "nodata",
    "value_min",
    "value_max",
    "valid_pixels",
    "checksum",
    "size_bytes",
    "source_bytes",
)


def stored_file(settings: Settings, raster: Raster) -> Path:
    """Where a catalogued raster's COG lives (in ``settings.raster_store``)."""
    return settings.raster_store / raster.path


def readable_cog(settings: Settings, raster: Raster) -> Path:
    """The raster's COG, checked to be a file inside the raster store (a row naming anything
    else, e.g. ``../`` or a GDAL virtual path, is treated as a missing file)."""
    store = settings.raster_store.resolve()
    path = stored_file(settings, raster).resolve()
    if not path.is_relative_to(store) or not path.is_file():
        raise NotFound(f"the file of raster {raster.id} is missing from the raster store")
    return path


def catalogued_raster(session: Session, raster_id: int) -> Raster:
    """One catalogue row (with its stored path and checksum), for the tile renderer."""
    raster = session.get(Raster, raster_id)
    if raster is None:
        raise NotFound(f"no raster {raster_id} in the catalogue")
    return raster


def _query(hazard: str | None = None):
    q = select(Raster, func.ST_AsGeoJSON(Raster.bounds, 6).label("bounds_json"))
    if hazard:
        q = q.where(Raster.hazard == hazard)
    return q.order_by(Raster.hazard, Raster.epoch, Raster.return_period.nulls_first(), Raster.id)


def catalogue(session: Session, hazard: str | None = None) -> list[dict[str, Any]]:
    """Every catalogued raster, as plain dicts (JSON-ready)."""
    return [_entry(r, b) for r, b in session.execute(_query(hazard)).all()]


def catalogue_entry(session: Session, raster_id: int) -> dict[str, Any]:
    row = session.execute(_query().where(Raster.id == raster_id)).first()
    if row is None:
        raise NotFound(f"no raster {raster_id} in the catalogue")
    return _entry(*row)


def _entry(r: Raster, bounds_json: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(r, k) for k in FIELDS}
    if out["nodata"] is not None and math.isnan(out["nodata"]):
        out["nodata"] = "nan"  # JSON has no NaN
    out["bounds"] = json.loads(bounds_json)
    out["ingested_by"] = r.created_by
    out["ingested_at"] = r.created_at.isoformat()
    return out
