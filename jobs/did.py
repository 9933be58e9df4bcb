"""Staggered-adoption difference-in-differences in the Callaway & Sant'Anna (2021) form.

Pure numpy/scipy, no database. It reproduces R ``did`` 2.5 (``att_gt`` with
``base_period = "varying"``, ``bstrap = FALSE``; ``aggte`` types ``simple``, ``group`` and
``dynamic``): group-time effects ATT(g,t) against never-treated or not-yet-treated units,
analytic standard errors from influence functions (clustered by unit), the aggregations
with the estimation-of-weights term, and the Wald pre-test of parallel trends. Without
covariates (``xformla = ~1``) the 2×2 comparisons are differences of mean changes; with
covariates they are R's default doubly robust estimator (``est_method = "dr"``).

Why it is fast: without covariates every influence function is, within a cohort, a linear
contrast of the unit's outcome row minus a cohort constant. So one pass over the units
collects per-cohort counts, means and centred cross-product matrices (T × T), and every
estimate, standard error and covariance afterwards is small-matrix algebra. No Python loop
runs over units and no (units × cells) influence matrix is materialised (the covariate
path does materialise it, vectorised per cell).

``group`` is the first treated period, 0 = never treated (R's convention).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from jobs import JobError

Z95 = 1.959963984540054  # qnorm(0.975)
# R did sets a standard error at or below this to NA (a degenerate cell).
_TINY_SE = math.sqrt(float(np.finfo(np.float64).eps)) * 10
_EXAMPLES = 3


class DidError(JobError):
    """The panel cannot be estimated; the message names the column and example rows."""


class DidSampleTooSmall(DidError):
    """The panel is valid but too small (too few never-treated units, no usable cohort)."""


# ----------------------------------------------------------------------------- results
class _Interval:
    """95 % normal interval of an estimate with ``att`` and ``se``."""

    att: float
    se: float

    @property
    def ci_low(self) -> float:
        return self.att - Z95 * self.se

    @property
    def ci_high(self) -> float:
        return self.att + Z95 * self.se


@dataclass(frozen=True)
class Estimate(_Interval):
    """A point estimate with its standard error; 95 % normal interval as properties."""

    att: float
    se: float

    def to_json(self) -> dict[str, float | None]:
        return {"att": _num(self.att), "se": _num(self.se)}


@dataclass(frozen=True)
class GroupTime(_Interval):
    """ATT(g,t): cohort first treated in ``group``, outcome change to period ``time``."""

    group: int
    time: int
    att: float
    se: float
    n_treated: int
    n_control: int

    @property
    def event_time(self) -> int:
        return self.time - self.group

    @property
    def post(self) -> bool:
        return self.time >= self.group


@dataclass(frozen=True)
class EventTime(_Interval):
    """Effect ``event_time`` periods after first treatment (negative: pre-trend check)."""

    event_time: int
    att: float
    se: float


@dataclass(frozen=True)
class CohortEffect(_Interval):
    """Average post-treatment effect of one cohort (R ``aggte(type = "group")`` rows)."""

    group: int
    att: float
    se: float
    n_units: int


@dataclass(frozen=True)
class DidResult:
    """Everything ``estimate`` computes.

    ``overall`` is R's ``aggte(type = "group")`` (cohort-size-weighted average of cohort
    effects), ``simple`` is ``aggte(type = "simple")``, ``event_study`` and
    ``event_study_overall`` are ``aggte(type = "dynamic")``, ``by_group`` the cohort rows.
    """

    att_gt: list[GroupTime]
    overall: Estimate
    simple: Estimate
    event_study: list[EventTime]
    pretest_p: float | None
    control: str
    n_units: int
    n_treated_units: int
    n_never_treated: int
    by_group: list[CohortEffect] = field(default_factory=list)
    event_study_overall: Estimate | None = None
    pretest_chi2: float | None = None
    pretest_df: int = 0
    periods: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "att_gt": [{"group": c.group, "time": c.time, "att": _num(c.att), "se": _num(c.se)} for c in self.att_gt],
            "overall": self.overall.to_json(),
            "simple": self.simple.to_json(),
            "event_study": [
                {"event_time": e.event_time, "att": _num(e.att), "se": _num(e.se)} for e in self.event_study
            ],
            "pretest_p": _num(self.pretest_p),
        }


def _num(x: float | None) -> float | None:
    """JSON has no NaN: a missing estimate is null."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


# ----------------------------------------------------------------------------- input checks
class _Names:
    """Column names for messages (``columns`` maps role -> name) and row numbering."""

    def __init__(self, columns: dict[str, str] | None, row_start: int):
        self.columns = dict(columns or {})
        self.row_start = row_start

    def __call__(self, role: str) -> str:
        name = self.columns.get(role)
        return f"column '{name}'" if name else f"the {role} column"

    def bare(self, role: str) -> str:
        return self.columns.get(role) or role

    def rows(self, idx: np.ndarray | Sequence[int], **cols: np.ndarray) -> str:
        """'rows 3 (unit=7, time=2004), 9 (...)' for the first few indices."""
        idx = list(np.asarray(idx, dtype=np.int64)[:_EXAMPLES])
        parts = []
        for i in idx:
            vals = ", ".join(f"{self.bare(role)}={_show(arr[i])}" for role, arr in cols.items())
            parts.append(f"{i + self.row_start} ({vals})" if vals else f"{i + self.row_start}")
        word = "row" if len(parts) == 1 else "rows"
        return f"{word} {', '.join(parts)}"


def _show(v: Any) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v) if not isinstance(v, str) else repr(v)


def _as_1d(a: Any, role: str, names: _Names) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise DidError(f"{names(role)}: expected one value per row (a 1-D array), got shape {arr.shape}")
    return arr


def _as_float(a: np.ndarray, role: str, names: _Names, **show: np.ndarray) -> np.ndarray:
    """Numeric values as float64; non-numeric or missing values are named with their rows."""
    if a.dtype.kind in "biuf":
        out = a.astype(np.float64, copy=False)
    else:
        try:
            out = a.astype(np.float64)
        except (TypeError, ValueError):
            bad = [i for i, v in enumerate(a) if not _parses(v)]
            raise DidError(
                f"{names(role)} must be numeric: {len(bad)} non-numeric value(s), e.g. "
                + names.rows(bad, **show, **{role: a})
            ) from None
    finite = np.isfinite(out)
    if not finite.all():
        bad_idx = np.flatnonzero(~finite)
        raise DidError(
            f"{names(role)} has {bad_idx.size} missing or non-finite value(s) "
            "(the estimator needs a value in every row), e.g. " + names.rows(bad_idx, **show, **{role: a})
        )
    return out


def _parses(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _as_int(a: np.ndarray, role: str, names: _Names, hint: str = "", **show: np.ndarray) -> np.ndarray:
    """Whole numbers as int64 (periods, cohorts); fractions are named with their rows."""
    if a.dtype.kind in "biu":
        return a.astype(np.int64, copy=False)
    f = _as_float(a, role, names, **show)
    frac = f != np.round(f)
    if frac.any():
        raise DidError(
            f"{names(role)} must hold whole numbers{hint}, e.g. "
            + names.rows(np.flatnonzero(frac), **show, **{role: a})
        )
    return f.astype(np.int64)


def _factorize(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique values, index of each element): O(n) for compact integer ranges."""
    if a.dtype.kind in "iu" and a.size:
        lo, hi = int(a.min()), int(a.max())
        if hi - lo <= max(a.size, 1 << 16):
            shifted = (a - lo).astype(np.intp, copy=False)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[shifted] = True
            uniq = np.flatnonzero(present)
            lookup = np.cumsum(present, dtype=np.intp) - 1
            return (uniq + lo).astype(a.dtype), lookup[shifted]
    if a.dtype.kind == "O":
        try:
            uniq, inv = np.unique(a, return_inverse=True)
        except TypeError:  # mixed types: compare as text
            uniq, inv = np.unique(a.astype(str), return_inverse=True)
        return uniq, inv.reshape(-1)
    uniq, inv = np.unique(a, return_inverse=True)
    return uniq, inv.reshape(-1)


@dataclass
class _Panel:
    """A balanced panel as a (units × periods) outcome matrix."""

    Y: np.ndarray  # n × T outcomes
    periods: np.ndarray  # T sorted periods (int64)
    units: np.ndarray  # n unit labels
    first_row: np.ndarray  # n: index of each unit's first row in the input (for messages)
    unit_index: np.ndarray  # N: unit position of each input row
    time_index: np.ndarray  # N: period position of each input row


def _balanced(unit: Any, time: Any, outcome: Any, names: _Names, extra: dict[str, np.ndarray] | None = None) -> _Panel:
    """Check one row per (unit, period) and every unit in every period; build the matrix."""
    u = _as_1d(unit, "unit", names)
    t_raw = _as_1d(time, "time", names)
    y_raw = _as_1d(outcome, "outcome", names)
    lengths = {len(u), len(t_raw), len(y_raw)} | {len(v) for v in (extra or {}).values()}
    if len(lengths) != 1:
        raise DidError(f"unit, time, group and outcome must have the same number of rows, got {sorted(lengths)}")
    if len(u) == 0:
        raise DidError("the panel is empty: no rows")
    show = {"unit": u, "time": t_raw}
    t = _as_int(t_raw, "time", names, " (periods such as years or survey rounds)", unit=u)
    y = _as_float(y_raw, "outcome", names, **show)

    periods, tidx = _factorize(t)
    units, uidx = _factorize(u)
    n, T = len(units), len(periods)
    if T < 2:
        raise DidSampleTooSmall(
            f"{names('time')} holds a single period ({periods[0]}); difference-in-differences needs at least two"
        )
    cell = uidx.astype(np.int64) * T + tidx
    counts = np.bincount(cell, minlength=n * T)
    if counts.max() > 1:
        dup_rows = np.flatnonzero(counts[cell] > 1)
        first_cell = cell[dup_rows[0]]
        pair = dup_rows[cell[dup_rows] == first_cell]
        n_dup = int((counts > 1).sum())
        raise DidError(
            f"duplicate (unit, time) rows in {names('unit')} and {names('time')}: {n_dup} "
            f"(unit, period) pair(s) appear more than once, e.g. "
            + names.rows(pair, **show)
            + " — keep one row per unit and period"
        )
    first_row = np.full(n, -1, dtype=np.int64)
    first_row[uidx[::-1]] = np.arange(len(u) - 1, -1, -1)
    if len(u) != n * T:
        missing = np.flatnonzero(counts == 0)
        bad_units = np.unique(missing // T)
        j = int(bad_units[0])
        absent = [str(periods[k]) for k in (missing[missing // T == j] % T)]
        raise DidError(
            f"unbalanced panel: {bad_units.size} of {n} units lack rows for some periods of "
            f"{names('time')} ({', '.join(map(str, periods))}); e.g. unit {_show(units[j])} "
            f"has no row for {names.bare('time')} {', '.join(absent)} (its first row: "
            + names.rows([first_row[j]], **show)
            + "). The estimator needs a balanced panel: "
            "every unit observed in every period"
        )
    Y = np.empty((n, T), dtype=np.float64)
    Y[uidx, tidx] = y
    return _Panel(Y=Y, periods=periods, units=units, first_row=first_row, unit_index=uidx, time_index=tidx)


def _covariate_matrix(covariates: Any, panel: _Panel, names: _Names, **show: np.ndarray) -> np.ndarray | None:
    """Covariates as a (units × periods × p) array; None when there are none.

    ``covariates`` is a mapping name -> one value per row, or an array (rows × p).
    """
    if covariates is None:
        return None
    if isinstance(covariates, dict):
        items = [(str(k), np.asarray(v)) for k, v in covariates.items()]
    else:
        arr = np.asarray(covariates)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise DidError(f"covariates: expected one row per panel row, got shape {arr.shape}")
        items = [(f"covariate {i + 1}", arr[:, i]) for i in range(arr.shape[1])]
    if not items:
        return None
    N = panel.unit_index.size
    n, T = panel.Y.shape
    X = np.empty((n, T, len(items)))
    for p, (name, col) in enumerate(items):
        if col.ndim != 1 or col.size != N:
            raise DidError(f"covariate {name!r}: expected {N} values, one per row, got shape {col.shape}")
        role = f"covariate:{name}"
        cov_names = _Names({**names.columns, role: name}, names.row_start)
        X[panel.unit_index, panel.time_index, p] = _as_float(col, role, cov_names, **show)
    return X


# ----------------------------------------------------------------------------- estimator
def estimate(
    unit: np.ndarray,
    time: np.ndarray,
    group: np.ndarray,
    outcome: np.ndarray,
    *,
    control: str = "never",
    columns: dict[str, str] | None = None,
    covariates: dict[str, np.ndarray] | np.ndarray | None = None,
    min_never_treated: int = 2,
    row_start: int = 1,
) -> DidResult:
    """Callaway & Sant'Anna ATT(g,t), aggregations, analytic SEs and the pre-test.

    One row per (unit, period) of a balanced panel. ``control`` is ``"never"`` (never-treated
    units) or ``"notyet"`` (never-treated plus units not yet treated by the later of the two
    compared periods). ``columns`` maps unit/time/group/outcome to column names for
    messages; ``row_start`` is the number shown for the first row (2 for a CSV with a header).
    ``covariates`` (name -> one value per row) switch each 2×2 comparison to R did's doubly
    robust estimator (est_method = "dr") with the covariates of the base period.
    """
    names = _Names(columns, row_start)
    if control not in ("never", "notyet"):
        raise DidError(f"control: must be 'never' or 'notyet', not {control!r}")
    if min_never_treated < 1:
        raise DidError(f"min_never_treated must be at least 1, got {min_never_treated}")
    g_raw = _as_1d(group, "group", names)
    panel = _balanced(unit, time, outcome, names, extra={"group": g_raw})
    u = np.asarray(unit)
    show = {"unit": u, "time": np.asarray(time), "group": g_raw}
    g_rows = _as_int(g_raw, "group", names, " (the first treated period, 0 = never treated)", unit=u, time=show["time"])
    X = _covariate_matrix(covariates, panel, names, unit=u, time=show["time"])
    n, T = panel.Y.shape
    periods = panel.periods
    first, last = int(periods[0]), int(periods[-1])

    G = np.empty(n, dtype=np.int64)
    G[panel.unit_index] = g_rows
    varying = g_rows != G[panel.unit_index]
    if varying.any():
        j = panel.unit_index[np.flatnonzero(varying)[0]]
        rows = np.flatnonzero(panel.unit_index == j)
        raise DidError(
            f"{names('group')} must be constant within a unit (it is the first treated period, "
            f"0 = never treated), but unit {_show(panel.units[j])} has "
            f"{', '.join(sorted({_show(v) for v in g_raw[rows]}))}: " + names.rows(rows, **show)
        )
    outside = (G < 0) | (G > last)
    if outside.any():
        bad = np.flatnonzero(outside)
        raise DidError(
            f"{names('group')} outside the time range {first}–{last} for {bad.size} unit(s) "
            f"(values must be 0 = never treated, or a period from {first} to {last}), e.g. "
            + names.rows(panel.first_row[bad], **show)
        )
    early = (G > 0) & (G <= first)
    if early.any():
        bad = np.flatnonzero(early)
        raise DidError(
            f"{names('group')}: {bad.size} unit(s) are treated in or before the first period "
            f"({first}), so they have no pre-treatment period to compare with; drop them or "
            "check the column, e.g. " + names.rows(panel.first_row[bad], **show)
        )

    notes: list[str] = []
    n_never = int((G == 0).sum())
    if control == "never" and n_never < min_never_treated:
        raise DidSampleTooSmall(
            f"{names('group')}: {n_never} never-treated unit(s) (group = 0); at least "
            f"{min_never_treated} are needed as the comparison group with control='never' — "
            "use control='notyet' to compare with units not yet treated"
        )
    Y = panel.Y
    if control == "notyet" and n_never == 0:
        # R did: no never-treated units, so the last cohort serves only as a comparison and
        # the periods from its first treatment on (no comparison left) are dropped.
        latest = int(G.max())
        keep = periods < latest
        notes.append(
            f"no never-treated units: the cohort first treated in {latest} serves only "
            f"as a comparison and periods from {latest} on are not used"
        )
        periods = periods[keep]
        Y = Y[:, keep]
        X = X[:, keep, :] if X is not None else None
        T = len(periods)
    cohorts = np.unique(G)  # includes 0 if present
    estimable = [int(g) for g in cohorts if g > 0 and T >= 2 and periods[0] < g <= periods[-1]]
    if not estimable:
        raise DidSampleTooSmall(
            f"{names('group')}: no usable treated cohort — every unit is never treated (0), or "
            "no cohort has both a period before and a period from its first treatment in the data"
        )

    return _estimate(Y, periods, G, cohorts, estimable, control, notes, n_never, X)


def _unconditional(
    Y: np.ndarray,
    cidx: np.ndarray,
    cnt: np.ndarray,
    cells: list[tuple[int, int, int]],
    treated_c: np.ndarray,
    ctrl_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ATT(g,t), Gram matrix of the influence functions and their per-cohort sums.

    Without covariates the 2×2 estimate is a difference of mean changes and R's influence
    function is IF_k(i) = a_k(c)·(ΔY_ik − μ_k(c)) for unit i of cohort c (a = n/n₁ treated,
    −n/n₀ control). One pass over the units gives per-cohort means and centred
    cross-products; everything else is T × T algebra.
    """
    n, T = Y.shape
    nC, K = treated_c.shape
    sums = np.stack([np.bincount(cidx, weights=Y[:, t], minlength=nC) for t in range(T)], axis=1)
    means = sums.astype(np.float64) / cnt[:, None]
    cross = np.empty((nC, T, T))
    order = np.argsort(cidx, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(cnt.astype(np.int64))])
    for c in range(nC):  # a handful of cohorts, not units
        block = Y[order[bounds[c] : bounds[c + 1]]] - means[c]
        cross[c] = block.T @ block
    contrast = np.zeros((T, K))  # ΔY_k = Y · contrast[:, k]
    A = np.zeros((nC, K))  # influence-function scale per cohort
    D = np.zeros((nC, K))  # cohort mean ΔY minus its group's mean
    att = np.empty(K)
    for k, (_, j, b) in enumerate(cells):
        contrast[j, k], contrast[b, k] = 1.0, -1.0
        mdy = means[:, j] - means[:, b]
        treated, ctrl = treated_c[:, k], ctrl_c[:, k]
        n1, n0 = cnt[treated].sum(), cnt[ctrl].sum()
        mu1 = mdy[treated].sum()  # one cohort: its mean
        mu0 = (cnt[ctrl] * mdy[ctrl]).sum() / n0
        att[k] = mu1 - mu0
        A[treated, k] = n / n1
        A[ctrl, k] = -n / n0
        D[treated, k] = mdy[treated] - mu1
        D[ctrl, k] = mdy[ctrl] - mu0
    gram = np.zeros((K, K))
    for c in range(nC):
        inner = contrast.T @ cross[c] @ contrast + cnt[c] * np.outer(D[c], D[c])
        gram += np.outer(A[c], A[c]) * inner
    if_sum = A * cnt[:, None] * D  # Σ_{i in cohort c} IF_k(i)
    return att, gram, if_sum


def _doubly_robust(
    Y: np.ndarray,
    X: np.ndarray,
    cidx: np.ndarray,
    cells: list[tuple[int, int, int]],
    treated_c: np.ndarray,
    ctrl_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As ``_unconditional`` with covariates: R did's est_method = "dr" (DRDID drdid_panel).

    Covariates are taken in the earlier (base) period of each comparison, as R does. The
    per-unit influence functions are materialised (units × cells), vectorised per cell.
    """
    n = Y.shape[0]
    nC, K = treated_c.shape
    att = np.empty(K)
    inf = np.zeros((n, K))
    for k, (g, j, b) in enumerate(cells):
        idx = np.flatnonzero(treated_c[cidx, k] | ctrl_c[cidx, k])
        d = treated_c[cidx[idx], k].astype(np.float64)
        xk = np.column_stack([np.ones(idx.size), X[idx, min(j, b), :]])
        att[k], if_k = _drdid_panel(Y[idx, j] - Y[idx, b], d, xk, g)
        inf[idx, k] = (n / idx.size) * if_k
    gram = inf.T @ inf
    if_sum = np.stack([np.bincount(cidx, weights=inf[:, k], minlength=nC) for k in range(K)], axis=1)
    return att, gram, if_sum


def _drdid_panel(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, g: int, trim_level: float = 0.995
) -> tuple[float, np.ndarray]:
    """Sant'Anna & Zhao (2020) doubly robust 2×2 ATT and its influence function.

    A line-by-line port of DRDID 1.2 ``drdid_panel`` (logit propensity score, OLS outcome
    regression on the comparison units, trimming of comparison units with p ≥ 0.995).
    """
    n = dy.size
    xtx = x.T @ x
    if 1.0 / np.linalg.cond(xtx, 1) < np.finfo(np.float64).eps:
        raise DidError(
            f"covariates: the design for the cohort first treated in {g} is singular "
            "(a covariate is constant or collinear with others); drop it"
        )
    ps_raw = _logit(d, x, g)
    if ps_raw.max() >= 0.999:  # R did's overlap check: the cell would be NA there
        raise DidError(
            f"covariates: overlap fails for the cohort first treated in {g}: some "
            "units have a propensity score of 0.999 or more (no comparable "
            "comparison units); drop or coarsen some covariates"
        )
    ps = np.minimum(ps_raw, 1 - 1e-6)
    trim = np.where(d == 0, ps < trim_level, ps < 1.01).astype(np.float64)
    W = ps * (1 - ps)
    ctrl = d == 0
    xtx_c = x[ctrl].T @ x[ctrl]
    if 1.0 / np.linalg.cond(xtx_c, 1) < np.finfo(np.float64).eps:
        raise DidError(
            f"covariates: the outcome regression for the cohort first treated in {g} "
            "is singular (collinear covariates, or no variation among comparison "
            "units); drop some covariates"
        )
    beta = np.linalg.solve(xtx_c, x[ctrl].T @ dy[ctrl])
    out = x @ beta
    w_t = trim * d
    w_c = trim * ps * (1 - d) / (1 - ps)
    att_t, att_c = w_t * (dy - out), w_c * (dy - out)
    eta_t = att_t.mean() / w_t.mean()
    eta_c = att_c.mean() / w_c.mean()
    w_ols = 1 - d
    xpx_inv = np.linalg.inv((w_ols[:, None] * x).T @ x / n)
    lin_ols = ((w_ols * (dy - out))[:, None] * x) @ xpx_inv
    hess = np.linalg.inv(x.T @ (W[:, None] * x)) * n
    lin_ps = ((d - ps)[:, None] * x) @ hess
    m1 = (w_t[:, None] * x).mean(axis=0)
    inf_t = (att_t - w_t * eta_t - lin_ols @ m1) / w_t.mean()
    m2 = ((w_c * (dy - out - eta_c))[:, None] * x).mean(axis=0)
    m3 = (w_c[:, None] * x).mean(axis=0)
    inf_c = (att_c - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def _logit(d: np.ndarray, x: np.ndarray, g: int) -> np.ndarray:
    """Fitted probabilities of a logistic regression by Newton–Raphson (IRLS), as glm."""
    eta = np.log((d + 0.5) / (1.5 - d))  # glm's starting values, mu = (y+½)/2
    dev_old = math.inf
    for _ in range(100):
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = mu * (1 - mu)
        z = eta + (d - mu) / np.maximum(w, 1e-300)
        xtwx = x.T @ (w[:, None] * x)
        if 1.0 / np.linalg.cond(xtwx, 1) < np.finfo(np.float64).eps:
            break
        beta = np.linalg.solve(xtwx, x.T @ (w * z))
        eta = x @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        with np.errstate(divide="ignore"):
            dev = -2.0 * float(np.sum(np.where(d > 0, np.log(mu), np.log1p(-mu))))
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-12:
            return mu
        dev_old = dev
    raise DidError(
        f"covariates: the propensity score of the cohort first treated in {g} "
        "cannot be estimated (the covariates separate treated from comparison "
        "units, are collinear, or do not vary); drop or coarsen some covariates"
    )


def _cells(periods: np.ndarray, groups: list[int]) -> list[tuple[int, int, int]]:
    """(group, compared period index, base period index) with R's "varying" base period."""
    cells: list[tuple[int, int, int]] = []
    for g in groups:
        base_post = int(np.flatnonzero(periods < g)[-1])
        for j in range(1, len(periods)):
            cells.append((g, j, base_post if g <= periods[j] else j - 1))
    return cells


def _estimate(
    Y: np.ndarray,
    periods: np.ndarray,
    G: np.ndarray,
    cohorts: np.ndarray,
    groups: list[int],
    control: str,
    notes: list[str],
    n_never: int,
    X: np.ndarray | None = None,
) -> DidResult:
    n, T = Y.shape
    nC = len(cohorts)
    cidx = np.searchsorted(cohorts, G)
    cnt = np.bincount(cidx, minlength=nC).astype(np.float64)
    cells = _cells(periods, groups)
    K = len(cells)
    treated_c = np.zeros((nC, K), dtype=bool)  # cohort roles per cell
    ctrl_c = np.zeros((nC, K), dtype=bool)
    for k, (g, j, _) in enumerate(cells):
        treated_c[:, k] = cohorts == g
        if control == "never":
            ctrl_c[:, k] = cohorts == 0
        else:
            ctrl_c[:, k] = (cohorts == 0) | ((cohorts > periods[j]) & (cohorts != g))
        if not cnt[ctrl_c[:, k]].sum():
            raise DidSampleTooSmall(f"no comparison units for the cohort first treated in {g} at period {periods[j]}")
    n_treat = (cnt @ treated_c).astype(np.int64)
    n_ctrl = (cnt @ ctrl_c).astype(np.int64)
    if X is None:
        att, gram, if_sum = _unconditional(Y, cidx, cnt, cells, treated_c, ctrl_c)
    else:
        att, gram, if_sum = _doubly_robust(Y, X, cidx, cells, treated_c, ctrl_c)

    def se_of(w: np.ndarray, h: np.ndarray | None = None) -> float:
        """SE of Σ_k w_k IF_k(i) + h(cohort_i) as R's getSE: sqrt(mean(IF²)/n)."""
        ss = float(w @ gram @ w)
        if h is not None:
            ss += 2.0 * float(h @ (if_sum @ w)) + float((cnt * h * h).sum())
        se = math.sqrt(max(ss, 0.0)) / n
        return se if se > _TINY_SE else math.nan

    pg_of = {int(g): float(cnt[cohorts == g].sum()) / n for g in groups}
    cell_g = np.array([c[0] for c in cells])
    cell_t = np.array([int(periods[c[1]]) for c in cells])
    pg = np.array([pg_of[int(g)] for g in cell_g])

    def wif(gvals: np.ndarray, pgk: np.ndarray, attk: np.ndarray) -> np.ndarray:
        """Per-cohort influence of estimating the weights (R's wif() %*% att)."""
        s = pgk.sum()
        E = (cohorts[:, None] == gvals[None, :]).astype(np.float64) - pgk[None, :]
        return E @ attk / s - E.sum(axis=1) * float(pgk @ attk) / s**2

    se_cell = np.array([se_of(np.eye(K)[k]) for k in range(K)])
    att_gt = [
        GroupTime(int(g), int(t), float(a), float(s), int(n1), int(n0))
        for g, t, a, s, n1, n0 in zip(cell_g, cell_t, att, se_cell, n_treat, n_ctrl, strict=True)
    ]

    # simple: post cells weighted by cohort size
    post = cell_t >= cell_g
    w = np.where(post, pg, 0.0)
    w = w / w.sum()
    simple = Estimate(float(w @ att), se_of(w, wif(cell_g[post], pg[post], att[post])))

    # group: cohort averages over post periods, then cohort-size weights
    gw = np.zeros((len(groups), K))
    for i, g in enumerate(groups):
        sel = post & (cell_g == g)
        gw[i, sel] = 1.0 / sel.sum()
    att_g = gw @ att
    by_group = [CohortEffect(g, float(att_g[i]), se_of(gw[i]), int(pg_of[g] * n + 0.5)) for i, g in enumerate(groups)]
    pgg = np.array([pg_of[g] for g in groups])
    wg = pgg / pgg.sum()
    overall = Estimate(float(wg @ att_g), se_of(wg @ gw, wif(np.array(groups), pgg, att_g)))

    # dynamic: by event time e = t - g, cohort-size weights within e
    ev = cell_t - cell_g
    event_study: list[EventTime] = []
    e_w, e_h, e_att = [], [], []
    for e in np.unique(ev):
        sel = ev == e
        we = np.where(sel, pg, 0.0)
        we = we / we.sum()
        he = wif(cell_g[sel], pg[sel], att[sel])
        a = float(we @ att)
        event_study.append(EventTime(int(e), a, se_of(we, he)))
        if e >= 0:
            e_w.append(we)
            e_h.append(he)
            e_att.append(a)
    event_overall = Estimate(float(np.mean(e_att)), se_of(np.mean(e_w, axis=0), np.mean(e_h, axis=0)))

    # Wald pre-test over pre-treatment cells (R: W = n b' V⁻¹ b, V = IF'IF / n)
    pre = np.flatnonzero(~post & np.isfinite(se_cell))
    pretest_p: float | None = None
    chi2: float | None = None
    if pre.size:
        V = gram[np.ix_(pre, pre)] / n
        if 1.0 / np.linalg.cond(V, 1) > np.finfo(np.float64).eps:
            chi2 = float(n * att[pre] @ np.linalg.solve(V, att[pre]))
            pretest_p = float(stats.chi2.sf(chi2, pre.size))
        else:
            notes.append("pre-test not reported: singular covariance of the pre-treatment ATT(g,t)")

    return DidResult(
        att_gt=att_gt,
        overall=overall,
        simple=simple,
        event_study=event_study,
        pretest_p=pretest_p,
        control=control,
        n_units=n,
        n_treated_units=int(sum(round(pg_of[g] * n) for g in groups)),
        n_never_treated=n_never,
        by_group=by_group,
        event_study_overall=event_overall,
        pretest_chi2=chi2,
        pretest_df=int(pre.size) if chi2 is not None else 0,
        periods=[int(p) for p in periods],
        notes=notes,
    )


# ----------------------------------------------------------------------------- TWFE
def two_way_fixed_effects(
    unit: np.ndarray,
    time: np.ndarray,
    treated_now: np.ndarray,
    outcome: np.ndarray,
    *,
    columns: dict[str, str] | None = None,
    row_start: int = 1,
) -> Estimate:
    """Naive TWFE: outcome on a treated-now dummy with unit and period effects.

    Shown beside the Callaway & Sant'Anna estimates because evaluators expect it; under
    staggered adoption with effects that change over time it is biased (Goodman-Bacon 2021):
    already-treated units serve as controls. Cluster-robust (by unit) CR1 standard error with
    fixest's default small-sample factor G/(G−1)·(N−1)/(N−K), K = T (the slope and T−1
    period effects; unit effects are nested in the clusters). Balanced panel only.
    """
    names = _Names(columns, row_start)
    d_raw = _as_1d(treated_now, "treated_now", names)
    panel = _balanced(unit, time, outcome, names, extra={"treated_now": d_raw})
    d = _as_float(d_raw, "treated_now", names, unit=np.asarray(unit), time=np.asarray(time))
    n, T = panel.Y.shape
    Dm = np.zeros((n, T))
    Dm[panel.unit_index, panel.time_index] = d

    def within(M: np.ndarray) -> np.ndarray:
        return M - M.mean(axis=1, keepdims=True) - M.mean(axis=0, keepdims=True) + M.mean()

    Yw, Dw = within(panel.Y), within(Dm)
    sxx = float((Dw * Dw).sum())
    if sxx <= 1e-12 * max(1.0, float((Dm * Dm).sum())):
        raise DidSampleTooSmall(
            "two-way fixed effects: the treatment indicator does not vary once unit and period effects are removed"
        )
    beta = float((Dw * Yw).sum()) / sxx
    score = (Dw * (Yw - beta * Dw)).sum(axis=1)
    N, K = n * T, T
    adj = (n / (n - 1)) * ((N - 1) / (N - K)) if n > 1 and N > K else math.nan
    se = math.sqrt(adj * float(score @ score)) / sxx
    return Estimate(beta, se)


# ----------------------------------------------------------------------------- CSV
_CHUNK = 1 << 16


def read_panel_csv(
    path: str | Path, unit_col: str, time_col: str, group_col: str, outcome_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(unit, time, group, outcome) arrays from a CSV with a header row.

    Errors name the file, the line and the column. Units stay text unless every value is a
    whole number (without leading zeros); time and group must be whole numbers; the outcome
    must be numeric. Delimiter: comma, semicolon, tab or pipe (sniffed from the header).
    """
    unit, time, group, outcome, _ = read_panel_csv_covariates(path, unit_col, time_col, group_col, outcome_col, ())
    return unit, time, group, outcome


def read_panel_csv_covariates(
    path: str | Path,
    unit_col: str,
    time_col: str,
    group_col: str,
    outcome_col: str,
    covariate_cols: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """As ``read_panel_csv``, plus numeric covariate columns by name."""
    p = Path(path)
    wanted = {"unit": unit_col, "time": time_col, "group": group_col, "outcome": outcome_col}
    wanted.update({f"covariate {c}": c for c in covariate_cols})
    cols, lines = _read_columns(p, wanted)
    unit = cols["unit"]
    empty = np.flatnonzero(unit == "")
    if empty.size:
        raise DidError(
            f"{p}: column {unit_col!r} (unit) is empty at line(s) "
            + ", ".join(str(lines[i]) for i in empty[:_EXAMPLES])
        )
    unit_out: np.ndarray = unit
    padded = (np.char.str_len(unit) > 1) & np.char.startswith(unit, "0")
    if not padded.any():  # codes such as '00123' stay text: their zeros matter
        try:
            unit_out = unit.astype(np.int64)
        except (ValueError, OverflowError):
            pass
    for role in ("time", "group"):
        arr = cols[role]
        frac = arr != np.round(arr)
        if frac.any():
            bad = np.flatnonzero(frac)[:_EXAMPLES]
            raise DidError(
                f"{p}: column {wanted[role]!r} ({role}) must hold whole numbers, "
                "e.g. line(s) " + ", ".join(f"{lines[i]} ({arr[i]:g})" for i in bad)
            )
    covs = {c: cols[f"covariate {c}"] for c in covariate_cols}
    return (unit_out, cols["time"].astype(np.int64), cols["group"].astype(np.int64), cols["outcome"], covs)


def _read_columns(p: Path, wanted: dict[str, str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The wanted columns (role -> header name): 'unit' as text, the others as float64."""
    try:
        fh = p.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DidError(f"{p}: cannot open ({exc.strerror or exc})") from None
    with fh:
        head = fh.readline()
        if not head.strip():
            raise DidError(f"{p}: empty file (expected a header row naming the columns)")
        try:
            dialect: Any = csv.Sniffer().sniff(head, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        header = [h.strip() for h in next(csv.reader([head], dialect))]
        missing = [f"{col!r} ({role})" for role, col in wanted.items() if col not in header]
        if missing:
            raise DidError(f"{p}: no column {', '.join(missing)}; the header has {', '.join(repr(h) for h in header)}")
        roles = list(wanted)
        pos = {role: header.index(col) for role, col in wanted.items()}
        width = max(pos.values()) + 1
        chunks: dict[str, list[np.ndarray]] = {r: [] for r in roles}
        buf: dict[str, list[str]] = {r: [] for r in roles}
        lines: list[int] = []
        reader = csv.reader(fh, dialect)

        def flush() -> None:
            base = len(lines) - len(buf["unit"])
            for role in roles:
                arr = np.array(buf[role], dtype=str)
                if role != "unit":
                    arr = _parse_numeric(arr, p, wanted[role], role, lines, base)
                chunks[role].append(arr)
                buf[role].clear()

        for row in reader:
            line_no = reader.line_num + 1  # the header was read before the reader
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < width:
                raise DidError(
                    f"{p}, line {line_no}: {len(row)} field(s), but column {header[width - 1]!r} is field {width}"
                )
            for role in roles:
                buf[role].append(row[pos[role]].strip())
            lines.append(line_no)
            if len(buf["unit"]) >= _CHUNK:
                flush()
        flush()
    if not lines:
        raise DidError(f"{p}: no data rows below the header")
    return {r: np.concatenate(chunks[r]) for r in roles}, np.asarray(lines)


def _parse_numeric(arr: np.ndarray, path: Path, col: str, role: str, lines: Sequence[int], base: int) -> np.ndarray:
    """float64 of a chunk of text; names the file, lines and column of bad values."""
    try:
        out = arr.astype(np.float64)
        ok = np.isfinite(out) & (arr != "")
    except ValueError:
        out = None
        ok = np.array([_parses(v) and math.isfinite(float(v)) for v in arr])
    if not ok.all():
        bad = np.flatnonzero(~ok)[:_EXAMPLES]
        examples = ", ".join(f"line {lines[base + i]} ({str(arr[i])!r})" for i in bad)
        what = {
            "time": "a whole number (period)",
            "group": "a whole number (first treated period, 0 = never treated)",
        }.get(role, "numeric")
        raise DidError(f"{path}: column {col!r} ({role}) must be {what} in every row, e.g. {examples}")
    assert out is not None
    return out
