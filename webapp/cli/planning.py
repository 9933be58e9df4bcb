"""``sinhke planning``: targets and money from spreadsheets."""

from __future__ import annotations

from pathlib import Path

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user


@click.group(cls=SinhkeGroup, help="Targets, allocations and disbursements of the programme.")
def planning() -> None:
    pass


@planning.command(
    "import",
    help=(
        "Import targets or allocations from an XLSX or CSV (first visible sheet, Vietnamese or English headers). "
        "Every bad cell is named by row and column and nothing is written; re-sending changes nothing."
    ),
)
@click.argument("kind", type=click.Choice(["targets", "allocations"]))
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--user", "user_name", metavar="NAME", help="Import as this user: only their areas are accepted.")
@click.pass_obj
def import_command(settings: Settings, kind: str, file: Path, user_name: str | None) -> None:
    """An alias of ``sinhke import targets|allocations FILE`` (the registry's layers), scoped to
    ``--user`` when given; a refused file names every bad row and column, as it always did."""
    from ingest.importing import run_import
    from ingest.planning_xlsx import ImportRefused
    from spatial.accounts import apply_scope, get_user, principal
    from webapp.cli.import_data import _operator

    with as_cli_user(settings) as session:
        who = _operator()
        if user_name:
            who = principal(get_user(session, user_name))
            apply_scope(session, who)
        r = run_import(session, kind, file, file.name, who)
    if r.refused:
        raise ImportRefused(r)
    click.echo(f"{file.name}: {r.rows} rows: {r.inserted} added, {r.updated} changed, {r.unchanged} unchanged")
