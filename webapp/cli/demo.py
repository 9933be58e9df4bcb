"""``sinhke demo``: the Lạng Sơn demo."""

from __future__ import annotations

import click

from spatial.settings import Settings


@click.command(help="Load the Lạng Sơn demo (real units, synthetic programme data).")
@click.option("--households", type=click.IntRange(100, 5_000_000), default=20_000, show_default=True)
@click.option("--seed", type=int, default=2025, show_default=True)
@click.option("--reset", is_flag=True, help="Delete all loaded data first and rebuild.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data are already loaded.")
@click.pass_obj
def demo(settings: Settings, households: int, seed: int, reset: bool, if_empty: bool) -> None:
    from ingest import demo as demo_mod
    from spatial.db import transaction

    with transaction(settings) as session:
        if demo_mod.is_loaded(session):
            if if_empty and not reset:
                click.echo("demo data already loaded; leaving them (use --reset to rebuild)")
                demo_mod.demo_users(session, only_missing=True)
                from ingest.demo_rasters import load_demo_rasters

                load_demo_rasters(
                    session, settings, seed, progress=lambda m: click.echo(m, err=True), only_missing=True
                )
                demo_mod.demo_forms(session)
                click.echo(demo_mod.describe_logins(session))
                return
            if reset:
                click.echo("removing loaded data (--reset)")
                demo_mod.reset(session)
        summary = demo_mod.load_demo(
            session,
            demo_mod.DemoOptions(households=households, seed=seed),
            progress=lambda m: click.echo(m, err=True),
            settings=settings,
        )
    click.echo(demo_mod.describe(summary))
