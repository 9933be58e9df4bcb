"""``sinhke siting``: choose sites for new water schemes or works with an exact covering solver."""

from __future__ import annotations

import json
from pathlib import Path

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user


@click.group(cls=SinhkeGroup, help="Site new water schemes and works: a maximal covering problem solved exactly.")
def siting() -> None:
    pass


@siting.command(
    "run",
    help=(
        "Choose K of the candidate sites that together cover the most poor (weight 1) and near-poor (0.5) "
        "households of the communes within RADIUS metres, leaving out households already served and "
        "candidates in a hazard zone (100-year flood > 0.15 m, landslide class >= 4). Solved by HiGHS; "
        "the greedy choice is printed beside it. Candidates: a GeoJSON of points (candidate = feature id) "
        "or a CSV with lon and lat columns (candidate = row number), or --grid SPACING."
    ),
)
@click.option("--communes", required=True, metavar="CODE[,CODE…]", help="2025 commune codes.")
@click.option("--candidates", "candidates_path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grid_spacing", type=float, metavar="METRES", help="Candidates on a grid of this spacing.")
@click.option("--radius", required=True, type=float, metavar="METRES", help="Service radius.")
@click.option(
    "--distance",
    type=click.Choice(["straight", "road"]),
    default="straight",
    show_default=True,
    help="Straight line, or along the road layer (pgRouting).",
)
@click.option("--k", "k", required=True, type=int, metavar="K", help="Number of sites.")
@click.option(
    "--facility",
    default="water_scheme",
    show_default=True,
    help="water_scheme or a work type (school, clinic, road, …).",
)
@click.option("--weight", "weights", multiple=True, metavar="CLASS=W", help="Weight of a class, e.g. near_poor=0.25.")
@click.option("--budget", type=int, metavar="VND", help="Total cost limit (the candidates need a cost).")
@click.option("--time-limit", type=float, default=60.0, show_default=True, metavar="S", help="Solver time limit.")
@click.option("--user", "user_name", metavar="NAME", help="Plan as this user: only their communes are allowed.")
@click.option("--save", "save_name", metavar="NAME", help="Save the run as a named scenario.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def run(
    settings: Settings,
    communes: str,
    candidates_path: Path | None,
    grid_spacing: float | None,
    radius: float,
    distance: str,
    k: int,
    facility: str,
    weights: tuple[str, ...],
    budget: int | None,
    time_limit: float,
    user_name: str | None,
    save_name: str | None,
    as_json: bool,
) -> None:
    from spatial import ParameterError
    from spatial.accounts import apply_scope, get_user, principal
    from spatial.scenarios import save_scenario, scenario_name
    from spatial.siting import params_from_json, parse_weights, run_siting

    if save_name is not None:
        scenario_name(save_name)
    if (candidates_path is None) == (grid_spacing is None):
        raise ParameterError("candidates", "give either --candidates FILE or --grid METRES")
    candidates: dict[str, object]
    if candidates_path is not None:
        if not candidates_path.is_file():
            raise ParameterError("candidates", f"{candidates_path}: no such file")
        raw = candidates_path.read_bytes()
        try:
            body = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParameterError("candidates", f"{candidates_path.name}: not UTF-8 text") from None
        if candidates_path.suffix.lower() == ".csv":
            candidates = {"csv": body}
        else:
            try:
                candidates = {"geojson": json.loads(body)}
            except json.JSONDecodeError as exc:
                raise ParameterError(
                    "candidates", f"{candidates_path.name}: not valid JSON ({exc.msg}, line {exc.lineno})"
                ) from None
    else:
        candidates = {"grid": grid_spacing}
    request = {
        "communes": communes.split(","),
        "radius": radius,
        "distance": distance,
        "k": k,
        "facility": facility,
        "weights": parse_weights(list(weights)),
        "budget": budget,
        "time_limit": time_limit,
        "candidates": candidates,
    }
    with as_cli_user(settings) as session:
        if user_name:
            apply_scope(session, principal(get_user(session, user_name)))
        params, ids = params_from_json(session, request, filename=candidates_path.name if candidates_path else None)
        progress = None if as_json else (lambda m: click.echo(f"… {m}", err=True))
        result = run_siting(session, params, settings.raster_store, progress=progress)
        saved = save_scenario(session, save_name, params, ids, result) if save_name else None
    if as_json:
        out = result.summary()
        if saved is not None:
            out["scenario_id"] = saved.id
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    state = "optimal" if result.optimal else f"{result.status}, gap {result.gap:.2%}"
    click.echo(
        f"{len(result.sites)} sites cover {result.objective:g} of {result.demand_weight:g} weighted households "
        f"({result.demand_households} households of demand; {state}; {result.seconds:.2f} s)"
    )
    click.echo(f"greedy: {result.greedy_objective:g} (short by {result.greedy_shortfall:g})")
    for n, s in enumerate(result.sites, start=1):
        click.echo(f"{n:>3}. {s.candidate:<12} {s.lon:.5f} {s.lat:.5f}  +{s.gain:g}  {len(s.households)} households")
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    for e in result.excluded:
        click.echo(f"excluded {e['candidate']}: {e['reason']}")
    if saved is not None:
        click.echo(f"saved as scenario {saved.id}")
