"""``sinhke import``: bring data in (climate-risk rasters)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user, cli_actor


@click.group("import", cls=SinhkeGroup, help="Bring data in: climate-risk rasters.")
def import_() -> None:
    pass


@import_.command("raster", help="Catalogue a GeoTIFF (any CRS, VN-2000 included) as a Cloud-Optimized GeoTIFF.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--hazard", type=click.Choice(["flood_depth", "drought_index", "landslide", "rainfall", "other"]), required=True
)
@click.option("--unit", help="unit of the values (default: m, sd, class or mm by hazard)")
@click.option("--return-period", type=click.IntRange(1, 100_000), help="years, e.g. 10 or 100")
@click.option("--scenario", help="climate scenario, e.g. historical, ssp245")
@click.option("--epoch", type=click.Choice(["baseline", "2030", "2050", "2080"]), default="baseline", show_default=True)
@click.option("--source", help="where the data come from")
@click.option("--licence", help="the data's licence")
@click.option("--name", help="name in the catalogue (default: the file name)")
@click.option("--json", "as_json", is_flag=True, help="print the catalogue entry as one JSON object")
@click.pass_obj
def import_raster(
    settings: Settings,
    file: Path,
    hazard: str,
    unit: str | None,
    return_period: int | None,
    scenario: str | None,
    epoch: str,
    source: str | None,
    licence: str | None,
    name: str | None,
    as_json: bool,
) -> None:
    import json

    from ingest.raster import RasterMetadata, ingest_raster
    from spatial.raster_catalogue import catalogue_entry

    meta = RasterMetadata(
        hazard=hazard,
        unit=unit,
        return_period=return_period,
        scenario=scenario,
        epoch=epoch,
        source=source,
        licence=licence,
        name=name,
    )
    click.echo(f"{file.name}: checking and converting to a Cloud-Optimized GeoTIFF …", err=True)
    with as_cli_user(settings) as s:
        row, new = ingest_raster(s, file, file.name, meta, cli_actor(), settings=settings, progress=sys.stderr)
        entry = catalogue_entry(s, row.id)
    if as_json:
        click.echo(json.dumps({**entry, "new": new}, ensure_ascii=False))
    elif new:
        click.echo(
            f"catalogued raster {row.id}: {row.hazard} {row.width} x {row.height} {row.dtype}, "
            f"{row.crs}, values {row.value_min:g} to {row.value_max:g}"
        )
    else:
        click.echo(f"already catalogued as raster {row.id} (same checksum): nothing to do")
