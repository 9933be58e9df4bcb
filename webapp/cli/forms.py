"""``sinhke forms``: field forms as XLSForm files, versioned in the database."""

from __future__ import annotations

from pathlib import Path

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user


@click.group(cls=SinhkeGroup, help="Field forms: XLSForm files, versioned in the database.")
def forms() -> None:
    pass


@forms.command(
    "load",
    help="Load every XLSForm (*.xlsx) in DIR (default: the shipped forms/); "
    "a form becomes a new version only when it changed.",
)
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@click.pass_obj
def forms_load(settings: Settings, directory: str | None) -> None:
    from ingest.forms import FORMS_DIR, load_forms

    with as_cli_user(settings) as s:
        outcomes = load_forms(s, Path(directory) if directory else FORMS_DIR, settings.form_store)
    for o in outcomes:
        click.echo(f"{o.form_id:<22} {o.version:<12} {o.status:<10} {o.source_name}")


@forms.command("list", help="The current version of every form.")
@click.pass_obj
def forms_list(settings: Settings) -> None:
    from spatial.db import transaction
    from spatial.field import current_forms

    with transaction(settings) as s:
        for f in current_forms(s):
            types = " ".join(f["target_types"])
            click.echo(f"{f['form']:<22} {f['version']:<12} {f['target']}:{types:<28} {f['title']['vi']}")
