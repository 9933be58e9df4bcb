"""Reading the raster catalogue (written by ``ingest.raster``): lists, one entry, its file."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
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


def _query(hazard: str | None = None, *, retired: bool = False):
    q = select(Raster, func.ST_AsGeoJSON(Raster.bounds, 6).label("bounds_json"))
    if hazard:
        q = q.where(Raster.hazard == hazard)
    if not retired:
        q = q.where(Raster.retired_at.is_(None))
    return q.order_by(Raster.hazard, Raster.epoch, Raster.return_period.nulls_first(), Raster.id)


def catalogue(session: Session, hazard: str | None = None, *, retired: bool = False) -> list[dict[str, Any]]:
    """The catalogued rasters in use, as plain dicts (JSON-ready); ``retired`` adds the retired ones."""
    return [_entry(r, b) for r, b in session.execute(_query(hazard, retired=retired)).all()]


def retire_raster(session: Session, raster_id: int, actor: str, replaced_by: int | None = None) -> Raster:
    """Take an entry off the map, popups, area pages and exposure results (its file and rows stay);
    ``replaced_by`` names the entry in use that takes its place. Retiring twice changes nothing."""
    raster = catalogued_raster(session, raster_id)
    if replaced_by is not None:
        successor = catalogued_raster(session, replaced_by)
        if successor.id == raster.id:
            raise ParameterError("replaced_by", "a raster cannot replace itself")
        if successor.retired_at is not None:
            raise ParameterError("replaced_by", f"raster {successor.id} is retired itself")
    if raster.retired_at is None:
        raster.retired_at = datetime.now(UTC)
        raster.retired_by = actor
    raster.replaced_by_id = replaced_by if replaced_by is not None else raster.replaced_by_id
    session.flush()
    return raster


def restore_raster(session: Session, raster_id: int) -> Raster:
    """Put a retired entry back in use."""
    raster = catalogued_raster(session, raster_id)
    raster.retired_at = raster.retired_by = raster.replaced_by_id = None
    session.flush()
    return raster


def catalogue_entry(session: Session, raster_id: int) -> dict[str, Any]:
    """One entry, retired or not (its ``retired_at`` and ``replaced_by`` say which)."""
    row = session.execute(_query(retired=True).where(Raster.id == raster_id)).first()
    if row is None:
        raise NotFound(f"no raster {raster_id} in the catalogue")
    return _entry(*row)


def _entry(r: Raster, bounds_json: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(r, k) for k in FIELDS}
    if out["nodata"] is not None and math.isnan(out["nodata"]):
        out["nodata"] = "nan"  # JSON has no NaN
    out["bounds"] = json.loads(bounds_json)
    out["retired_at"] = r.retired_at.isoformat() if r.retired_at else None
    out["retired_by"] = r.retired_by
    out["replaced_by"] = r.replaced_by_id
    out["ingested_by"] = r.created_by
    out["ingested_at"] = r.created_at.isoformat()
    return out
