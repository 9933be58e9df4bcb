"""``sinhke import``: bring data in — ``import LAYER FILE`` for every layer of the import registry,
``import raster FILE`` for climate-risk rasters. All of them go through ``ingest.importing``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user, cli_actor


@click.group(
    "import",
    cls=SinhkeGroup,
    help="Bring data in: `sinhke import LAYER FILE` (households, livelihood_models, infrastructure_works, "
    "water_schemes, villages, survey_rounds, participants, admin_units, admin_crosswalk, visits, targets, allocations) "
    "from CSV, XLSX, "
    "GeoJSON, GeoPackage or zipped Shapefile; "
    "climate-risk rasters with `sinhke import raster`.",
)
def import_() -> None:
    pass


def _operator() -> Any:
    from spatial.accounts import Principal

    # the command line is the operator of the installation: unscoped, as the other commands
    return Principal(user_id=0, name=cli_actor(), role="admin")


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

    from ingest.importing import ImportOptions, run_import
    from ingest.raster import RasterMetadata
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
    options = ImportOptions(extra={"metadata": meta, "settings": settings, "progress": sys.stderr})
    with as_cli_user(settings) as s:
        report = run_import(s, "raster", file, file.name, _operator(), options)
        row, new = report.result
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


def _layer_command(layer: str, title: str) -> click.Command:
    @click.command(
        layer,
        help=f"Import {title.lower()} from CSV, XLSX, GeoJSON, GeoPackage or a zipped Shapefile. "
        "A file with any invalid row is refused whole (exit status 1) and every problem is listed.",
    )
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="check and count, write nothing")
    @click.option("--skip-invalid", is_flag=True, help="store the valid rows, report the others")
    @click.option(
        "--mapping",
        type=click.Path(dir_okay=False, path_type=Path, exists=True),
        help='headers to fields: JSON {"header": "field"} or CSV rows header,field',
    )
    @click.option(
        "--crs", help="CRS of the coordinates: EPSG code (4756, 3405 …), vn2000:lang_son, vn2000-tm3:107.25, PROJ"
    )
    @click.option("--encoding", help="text encoding: utf-8, cp1258, tcvn3, vni (default: detected per column)")
    @click.option("--sheet", help="XLSX: the sheet to read (default: the first visible one)")
    @click.option(
        "--report",
        "report_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="write the problems as CSV here",
    )
    @click.option("--json", "as_json", is_flag=True, help="print the report as one JSON object")
    @click.option(
        "--progress", "show_progress", is_flag=True, help="progress lines on stderr even when it is not a terminal"
    )
    @click.pass_obj
    def command(
        settings: Settings,
        file: Path,
        dry_run: bool,
        skip_invalid: bool,
        mapping: Path | None,
        crs: str | None,
        encoding: str | None,
        sheet: str | None,
        report_file: Path | None,
        as_json: bool,
        show_progress: bool,
    ) -> None:
        import json

        from ingest.headers import read_mapping
        from ingest.importing import ImportFileError, ImportOptions, print_report, problems_csv, run_import

        if not file.is_file():
            raise ImportFileError(file.name, "no such file")
        options = ImportOptions(
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            mapping=read_mapping(mapping) if mapping else {},
            crs=crs,
            encoding=encoding,
            sheet=sheet,
        )
        progress = _progress_printer(file, show_progress)
        with as_cli_user(settings) as s:
            report = run_import(s, layer, file, file.name, _operator(), options, progress=progress)
        if progress is not None and sys.stderr.isatty():
            click.echo("", err=True)  # end the progress line
        if report_file is not None:
            report_file.write_bytes(problems_csv(report.problems))
        if as_json:
            click.echo(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
        else:
            print_report(report, sys.stdout)
        if report.refused:
            sys.exit(1)

    return command


def _progress_printer(file: Path, forced: bool) -> Any:
    """Progress on stderr, on a terminal (one line rewritten in place) or with ``--progress`` (a line
    at each phase and every 100,000 rows): the phase, rows read, of about how many (from the
    file's size) and the share done. None: no progress shown."""
    from ingest.readers import ImportFileError, estimate_rows, sniff

    tty = sys.stderr.isatty()
    if not (tty or forced):
        return None
    try:
        estimated = estimate_rows(file, sniff(file, file.name)[0])
    except (ImportFileError, OSError):
        estimated = None  # run_import says what is wrong with the file
    state: dict[str, Any] = {"last": 0, "phase": None}

    def show(phase: str, rows: int) -> None:
        line = f"{phase}: {rows:,} rows"
        if estimated:
            line = f"{phase}: {rows:,} of about {estimated:,} rows ({min(100, rows * 100 // max(estimated, 1))} %)"
        if tty:
            click.echo(f"\r  {line}   ", err=True, nl=False)
        elif phase != state["phase"] or rows - state["last"] >= 100_000:
            state["phase"], state["last"] = phase, rows
            click.echo(f"  {line}", err=True)

    return show


def _add_layer_commands() -> None:
    from ingest.importing import REGISTRY, layers

    for layer in layers():
        if layer == "raster":
            continue
        title = next(cls.title for (lay, _fmt), cls in REGISTRY.items() if lay == layer)
        import_.add_command(_layer_command(layer, title))


_add_layer_commands()
