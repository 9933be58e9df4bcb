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
        "Import targets or allocations from an XLSX (first sheet, headers in row 1, Vietnamese or English). "
        "Every bad cell is named by row and column and nothing is written; re-sending changes nothing."
    ),
)
@click.argument("kind", type=click.Choice(["targets", "allocations"]))
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--user", "user_name", metavar="NAME", help="Import as this user: only their areas are accepted.")
@click.pass_obj
def import_command(settings: Settings, kind: str, file: Path, user_name: str | None) -> None:
    from ingest.planning_xlsx import import_xlsx
    from spatial.accounts import apply_scope, get_user, principal

    with as_cli_user(settings) as session:
        if user_name:
            apply_scope(session, principal(get_user(session, user_name)))
        r = import_xlsx(session, kind, file.read_bytes(), file.name)
    click.echo(f"{file.name}: {r.rows} rows: {r.inserted} added, {r.updated} changed, {r.unchanged} unchanged")
