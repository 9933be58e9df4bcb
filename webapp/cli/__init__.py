"""The ``sinhke`` command line: one module per command group, errors handled once by the group class."""

from __future__ import annotations

import click

from spatial.settings import Settings
from webapp.cli import db, demo, evaluate, forms, import_data, jobs, planning, sensors, serve, siting, users
from webapp.cli.base import SinhkeGroup


@click.group(cls=SinhkeGroup, help="sinhke: a poverty-reduction programme on the map.")
@click.pass_context
def main(ctx: click.Context) -> None:
    ctx.obj = Settings.from_env()


for command in (
    db.db,
    demo.demo,
    jobs.jobs,
    jobs.scheduler,
    users.users,
    import_data.import_,
    forms.forms,
    serve.serve,
    evaluate.evaluate,
    siting.siting,
    planning.planning,
    sensors.sensors,
):
    main.add_command(command)
