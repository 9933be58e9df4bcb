"""``sinhke evaluate``: run the programme's estimators on a panel an evaluator brings."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from webapp.cli.base import SinhkeGroup

if TYPE_CHECKING:  # jobs.did pulls in scipy: imported when the command runs, not at start-up
    from jobs.did import DidResult, Estimate


@click.group(cls=SinhkeGroup, help="Evaluate effects on a panel you bring (CSV), with the programme's estimators.")
def evaluate() -> None:
    pass


@evaluate.command(
    "did",
    help=(
        "Staggered difference-in-differences (Callaway & Sant'Anna 2021) on a balanced panel CSV: "
        "one row per unit and period; GROUP is the first treated period, 0 = never treated. "
        "Prints ATT(g,t), the overall (cohort-weighted), simple and event-study aggregates with "
        "analytic standard errors (clustered by unit) and 95 % intervals, the pre-trend test, "
        "and the naive two-way fixed-effects estimate (biased under staggered adoption). "
        "Row numbers in messages are file line numbers (the header is line 1)."
    ),
)
@click.option("--csv", "csv_path", required=True, metavar="FILE", help="Panel CSV with a header row.")
@click.option("--unit", "unit_col", required=True, metavar="COL", help="Unit (household) id column.")
@click.option("--time", "time_col", required=True, metavar="COL", help="Period column (whole numbers).")
@click.option("--group", "group_col", required=True, metavar="COL", help="First treated period; 0 = never treated.")
@click.option("--outcome", "outcome_col", required=True, metavar="COL", help="Numeric outcome column.")
@click.option(
    "--control",
    type=click.Choice(["never", "notyet"]),
    default="never",
    show_default=True,
    help="Comparison units: never treated, or also those not yet treated.",
)
@click.option(
    "--covariates",
    default=None,
    metavar="COL,…",
    help="Covariates for conditional parallel trends (doubly robust, base-period "
    'values, as R did\'s est_method = "dr").',
)
@click.option(
    "--min-never-treated",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Fewest never-treated units accepted with --control never.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def did_command(
    csv_path: str,
    unit_col: str,
    time_col: str,
    group_col: str,
    outcome_col: str,
    control: str,
    covariates: str | None,
    min_never_treated: int,
    as_json: bool,
) -> None:
    from jobs import did

    cov_cols = [c.strip() for c in (covariates or "").split(",") if c.strip()]
    if covariates is not None and not cov_cols:
        raise did.DidError("--covariates: give column names separated by commas")
    path = Path(csv_path)
    if not path.is_file():
        raise did.DidError(f"--csv {csv_path}: no such file")
    unit, time, group, outcome, covs = did.read_panel_csv_covariates(
        path, unit_col, time_col, group_col, outcome_col, cov_cols
    )
    columns = {"unit": unit_col, "time": time_col, "group": group_col, "outcome": outcome_col}
    result = did.estimate(
        unit,
        time,
        group,
        outcome,
        control=control,
        columns=columns,
        covariates=covs or None,
        min_never_treated=min_never_treated,
        row_start=2,
    )
    treated_now = ((group > 0) & (time >= group)).astype("float64")
    try:
        twfe: did.Estimate | None = did.two_way_fixed_effects(
            unit, time, treated_now, outcome, columns=columns, row_start=2
        )
    except did.DidSampleTooSmall:
        twfe = None
    if as_json:
        doc = result.to_json()
        doc.update(
            {
                "control": result.control,
                "n_units": result.n_units,
                "n_treated_units": result.n_treated_units,
                "n_never_treated": result.n_never_treated,
                "periods": result.periods,
                "by_group": [
                    {"group": c.group, "att": did._num(c.att), "se": did._num(c.se), "n_units": c.n_units}
                    for c in result.by_group
                ],
                "event_study_overall": result.event_study_overall.to_json() if result.event_study_overall else None,
                "pretest_chi2": did._num(result.pretest_chi2),
                "pretest_df": result.pretest_df,
                "covariates": cov_cols,
                "twfe": ({**twfe.to_json(), "note": "biased under staggered adoption"} if twfe else None),
                "notes": result.notes,
            }
        )
        click.echo(json.dumps(doc, ensure_ascii=False, allow_nan=False))
        return
    click.echo(_report(result, twfe, outcome_col, path, cov_cols))


def _decimals(values: Sequence[float]) -> int:
    """Enough decimals for the magnitude at hand: 4 for log outcomes, 0 for VND incomes."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 4
    return max(0, min(6, 3 - math.floor(math.log10(max(finite)))))


def _report(r: DidResult, twfe: Estimate | None, outcome: str, path: Path, covariates: Sequence[str] = ()) -> str:
    """The human-readable tables."""
    d = _decimals([c.att for c in r.att_gt] + [c.se for c in r.att_gt])

    def f(x: float | None) -> str:
        return "n/a" if x is None or not math.isfinite(x) else f"{x:,.{d}f}"

    def ci(lo: float, hi: float) -> str:
        return f"[{f(lo)}, {f(hi)}]"

    control = "never-treated units" if r.control == "never" else "not-yet-treated and never-treated units"
    cohorts = ", ".join(str(c.group) for c in r.by_group)
    out = [
        f"Staggered difference-in-differences (Callaway & Sant'Anna 2021) — {path.name}",
        f"outcome {outcome}; {r.n_units:,} units × {len(r.periods)} periods "
        f"({r.periods[0]}–{r.periods[-1]}); {r.n_treated_units:,} treated units in cohorts "
        f"{cohorts}; {r.n_never_treated:,} never treated",
        f"comparison: {control}; "
        + (
            f"doubly robust with covariates {', '.join(covariates)}; "
            if covariates
            else "unconditional parallel trends; "
        )
        + "base period: varying; standard errors: analytic (influence functions, clustered "
        "by unit); intervals: 95 % pointwise",
        "",
        "Group-time effects ATT(g,t)",
    ]
    rows = [("group", "time", "e", "ATT", "SE", "95% CI", "treated", "control")]
    for c in r.att_gt:
        rows.append(
            (
                str(c.group),
                str(c.time),
                f"{c.event_time:+d}",
                f(c.att),
                f(c.se),
                ci(c.ci_low, c.ci_high),
                f"{c.n_treated:,}",
                f"{c.n_control:,}",
            )
        )
    out += _table(rows)
    out += ["", "Aggregates"]
    agg = [("", "ATT", "SE", "95% CI")]
    for label, est in (
        ("overall (cohort-size weighted cohort effects)", r.overall),
        ("simple (post-treatment cells, cohort-size weights)", r.simple),
        ("event study, average over e >= 0", r.event_study_overall),
    ):
        if est is not None:
            agg.append((label, f(est.att), f(est.se), ci(est.ci_low, est.ci_high)))
    out += _table(agg)
    out += ["", "By cohort (average over its post-treatment periods)"]
    cohort_rows = [("group", "units", "ATT", "SE", "95% CI")]
    for b in r.by_group:
        cohort_rows.append((str(b.group), f"{b.n_units:,}", f(b.att), f(b.se), ci(b.ci_low, b.ci_high)))
    out += _table(cohort_rows)
    out += ["", "Event study (e = periods since first treatment; e < 0 are pre-trend checks)"]
    event_rows = [("e", "ATT", "SE", "95% CI")]
    for e in r.event_study:
        event_rows.append((f"{e.event_time:+d}", f(e.att), f(e.se), ci(e.ci_low, e.ci_high)))
    out += _table(event_rows)
    out.append("")
    if r.pretest_p is None:
        out.append("Pre-test of parallel trends: not available (no pre-treatment cells)")
    else:
        out.append(
            f"Pre-test of parallel trends (Wald χ²({r.pretest_df}) = {r.pretest_chi2:.3f} "
            f"over the pre-treatment ATT(g,t)): p = {r.pretest_p:.5f}"
        )
    if twfe is not None:
        out.append(
            f"Two-way fixed effects, biased under staggered adoption: {f(twfe.att)} "
            f"(SE {f(twfe.se)}, 95% CI {ci(twfe.ci_low, twfe.ci_high)}); "
            "shown for comparison only"
        )
    else:
        out.append("Two-way fixed effects: not estimable (no treatment variation)")
    for note in r.notes:
        out.append(f"note: {note}")
    return "\n".join(out)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines
