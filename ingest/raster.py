"""Ingest a climate-risk GeoTIFF: check it, store it as a COG, catalogue it — or nothing at all.

The same bytes are catalogued once (SHA-256 checksum); a second ingest returns the row
already there. The COG is written under a temporary name in the raster store, the
catalogue row is inserted in the caller's transaction, and only then is the file renamed
to ``<checksum>.tif``. If anything fails, the temporary files are removed and the error
propagates (the caller's transaction rolls back the row); if the caller's transaction
rolls back later, the stored file is removed too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from geoalchemy2.shape import from_shape
from shapely.geometry import box
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ingest.importing import Importer, ImportOptions, ImportReport, Progress, register
from spatial import ParameterError
from spatial.accounts import Principal
from spatial.models import EPOCHS, HAZARDS, Raster
from spatial.raster import RasterLimits, copy_upload, safe_filename, to_cog
from spatial.settings import Settings

#: the unit a hazard's values are in, unless the caller says otherwise
DEFAULT_UNITS = {"flood_depth": "m", "drought_index": "sd", "landslide": "class", "rainfall": "mm"}


@dataclass(frozen=True)
class RasterMetadata:
    """What the file itself does not say: the hazard, scenario and provenance."""

    hazard: str
    unit: str | None = None
    return_period: int | None = None
    scenario: str | None = None
    epoch: str = "baseline"
    source: str | None = None
    licence: str | None = None
    name: str | None = None

    def checked(self) -> RasterMetadata:
        if self.hazard not in HAZARDS:
            raise ParameterError("hazard", f"unknown hazard {self.hazard!r}", list(HAZARDS))
        if self.epoch not in EPOCHS:
            raise ParameterError("epoch", f"unknown epoch {self.epoch!r}", list(EPOCHS))
        if self.return_period is not None and not 0 < self.return_period <= 100_000:
            raise ParameterError("return_period", f"{self.return_period} is not a number of years (1 to 100000)")
        for field, limit in (("unit", 40), ("scenario", 40), ("licence", 200), ("name", 200), ("source", 2000)):
            value = getattr(self, field)
            if value is not None and len(value) > limit:
                raise ParameterError(field, f"longer than {limit} characters")
        return self


def ingest_raster(
    session: Session,
    source: IO[bytes] | Path,
    filename: str,
    metadata: RasterMetadata,
    user: str,
    *,
    settings: Settings,
    progress: TextIO | None = None,
) -> tuple[Raster, bool]:
    """Catalogue a GeoTIFF (an open binary file or a local path); returns (row, whether it is new).

    ``filename`` is what the person called it (messages and the catalogue only); ``user``
    is who ingests it. Raises RasterError (naming the file and the reason) or ParameterError.
    """
    metadata = metadata.checked()
    filename = safe_filename(filename)
    limits = RasterLimits.from_settings(settings)
    store = settings.raster_store
    store.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".ingest-", dir=store))
    try:
        checksum, size = copy_upload(source, work / "upload.tif", filename, limits.max_bytes)
        # two ingests of the same bytes at once: the second waits, then finds the first's row
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(checksum, 0))))
        existing = session.scalar(select(Raster).where(Raster.checksum == checksum))
        if existing is not None:
            return existing, False
        cog = to_cog(work / "upload.tif", work / "cog.tif", filename, limits, progress=progress)
        grid = cog.source  # the COG keeps the upload's grid: stored CRS and resolution are the source's
        final = store / f"{checksum}.tif"
        row = Raster(
            name=metadata.name or Path(filename).stem,
            filename=filename,
            hazard=metadata.hazard,
            unit=metadata.unit or DEFAULT_UNITS.get(metadata.hazard),
            return_period=metadata.return_period,
            scenario=metadata.scenario,
            epoch=metadata.epoch,
            source=metadata.source,
            licence=metadata.licence,
            source_crs=grid.crs,
            source_resolution_x=grid.resolution[0],
            source_resolution_y=grid.resolution[1],
            crs=grid.crs,
            resolution_x=grid.resolution[0],
            resolution_y=grid.resolution[1],
            width=grid.width,
            height=grid.height,
            band_count=grid.count,
            dtype=grid.dtype,
            nodata=grid.nodata,
            value_min=cog.value_min,
            value_max=cog.value_max,
            valid_pixels=cog.valid_pixels,
            checksum=checksum,
            path=final.name,
            size_bytes=cog.size_bytes,
            source_bytes=size,
            bounds=from_shape(box(*cog.bounds), srid=4326),
            created_by=user,
            updated_by=user,
        )
        session.add(row)
        session.flush()
        os.replace(work / "cog.tif", final)
        _remove_on_rollback(session, final)
        return row, True
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove_on_rollback(session: Session, path: Path) -> None:
    """The COG belongs to a row of this transaction: if the transaction rolls back, so does the file."""
    settled = False

    def rolled_back(sess: Session, previous) -> None:
        nonlocal settled
        if not settled and previous.parent is None:  # the session's own transaction, not a savepoint in it
            path.unlink(missing_ok=True)
            settled = True

    def committed(sess: Session) -> None:
        nonlocal settled
        settled = True

    # listeners cannot be removed while SQLAlchemy runs them; once settled they do nothing
    event.listen(session, "after_soft_rollback", rolled_back)
    event.listen(session, "after_commit", committed)


@register
class RasterImporter(Importer):
    """The raster catalogue in the import registry: ``options.extra`` holds ``metadata``
    (:class:`RasterMetadata`), ``settings`` and, optionally, ``progress`` (a text stream)."""

    layer = "raster"
    title = "Climate-risk rasters"
    formats = ("geotiff",)
    roles = ("admin",)

    def load(
        self,
        session: Session,
        path: Path,
        report: ImportReport,
        options: ImportOptions,
        who: Principal,
        progress: Progress | None = None,
    ) -> None:
        if options.dry_run:
            raise ParameterError("dry_run", "a raster is checked while it is converted: import it, or leave it")
        metadata = options.extra.get("metadata")
        if not isinstance(metadata, RasterMetadata):
            raise ParameterError("hazard", "a raster needs its hazard (and optionally unit, return period, scenario)")
        row, new = ingest_raster(
            session,
            path,
            report.filename,
            metadata,
            who.name,
            settings=options.extra["settings"],
            progress=options.extra.get("progress"),
        )
        report.rows = 1
        report.inserted, report.unchanged = (1, 0) if new else (0, 1)
        report.notes.append(f"raster {row.id}" + ("" if new else " (already catalogued: same checksum)"))
        report.result = (row, new)
