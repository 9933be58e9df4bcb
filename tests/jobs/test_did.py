"""jobs.did: Callaway & Sant'Anna (2021) against the published mpdta tables, and bad input.

No database. The reference data set is ``mpdta`` (county teen employment 2003–2007, the
example of Callaway & Sant'Anna 2021 and of the R package ``did``), loaded from the file
the PyPI package ``moderndid`` ships (moderndid/core/datasets/mpdta_long.pkl.gz, read by
``moderndid.load_mpdta()``); the data set is not copied into this repository.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from jobs import JobError
from jobs.did import (
    DidError,
    DidResult,
    DidSampleTooSmall,
    Estimate,
    estimate,
    read_panel_csv,
    two_way_fixed_effects,
)

# ---------------------------------------------------------------------------- published numbers
# R package did 2.5.1 (Callaway & Sant'Anna), README.md, "summary(out)" of
#   att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal", tname = "year",
#          xformla = ~1, data = mpdta, est_method = "reg")
# The same point estimates are printed by the vignette "Getting Started with the did Package"
# (did-basics, est_method = "dr") and by the att_gt reference page example (xformla = NULL):
# without covariates all three estimation methods coincide.
# (group, time): (ATT(g,t), bootstrap SE README, SE vignette, SE att_gt reference page)
PUBLISHED_ATT_GT = {
    (2004, 2004): (-0.0105, 0.0246, 0.0243, 0.0258),
    (2004, 2005): (-0.0704, 0.0332, 0.0331, 0.0341),
    (2004, 2006): (-0.1373, 0.0397, 0.0412, 0.0384),
    (2004, 2007): (-0.1008, 0.0357, 0.0358, 0.0354),
    (2006, 2004): (0.0065, 0.0229, 0.0230, 0.0235),
    (2006, 2005): (-0.0028, 0.0197, 0.0210, 0.0192),
    (2006, 2006): (-0.0046, 0.0179, 0.0175, 0.0184),
    (2006, 2007): (-0.0412, 0.0192, 0.0196, 0.0207),
    (2007, 2004): (0.0305, 0.0154, 0.0147, 0.0161),
    (2007, 2005): (-0.0027, 0.0164, 0.0156, 0.0157),
    (2007, 2006): (-0.0311, 0.0184, 0.0179, 0.0184),
    (2007, 2007): (-0.0261, 0.0170, 0.0175, 0.0176),
}
# Same README and vignette: "P-value for pre-test of parallel trends assumption: 0.16812".
# R computes it from the analytic covariance (V = IF'IF/n) even when SEs are bootstrapped,
# so this is the one published analytic inference number; R rounds it to 5 decimals.
PUBLISHED_PRETEST_P = 0.16812
# README, aggte(out, type = "dynamic"): overall (-0.0772, SE 0.0219) and by event time.
PUBLISHED_DYNAMIC_OVERALL = (-0.0772, 0.0219)
PUBLISHED_EVENT_STUDY = {  # e: (estimate, bootstrap SE README)
    -3: (0.0305, 0.0154),
    -2: (-0.0006, 0.0132),
    -1: (-0.0245, 0.0153),
    0: (-0.0199, 0.0123),
    1: (-0.0510, 0.0167),
    2: (-0.1373, 0.0413),
    3: (-0.1008, 0.0351),
}
# README, aggte(out, type = "group"): overall printed "-0.031" (= -0.0310), SE 0.0126.
PUBLISHED_GROUP_OVERALL = (-0.0310, 0.0126)
PUBLISHED_GROUP_EFFECTS = {
    2004: (-0.0797, 0.0291),
    2006: (-0.0229, 0.0176),
    2007: (-0.0261, 0.0175),
}
# did 2.5.1 reference page of aggte() (man/aggte.Rd example), aggte(out, type = "simple"):
# printed "-0.04" (= -0.0400), SE 0.0119.
PUBLISHED_SIMPLE = (-0.0400, 0.0119)

# did 2.5.1 reference page of att_gt() (man/att_gt.Rd examples "Using covariates" and
# "Specify comparison units"): xformla = ~lpop, est_method = "dr" (default), data = mpdta,
# control_group "nevertreated" (out2) and "notyettreated" (out3).
# (group, time): (ATT never, bootstrap SE never, ATT not yet, bootstrap SE not yet)
PUBLISHED_DR_LPOP = {
    (2004, 2004): (-0.0145, 0.0222, -0.0212, 0.0217),
    (2004, 2005): (-0.0764, 0.0303, -0.0816, 0.0324),
    (2004, 2006): (-0.1404, 0.0382, -0.1382, 0.0368),
    (2004, 2007): (-0.1069, 0.0358, -0.1069, 0.0344),
    (2006, 2004): (-0.0005, 0.0231, -0.0075, 0.0233),
    (2006, 2005): (-0.0062, 0.0188, -0.0046, 0.0184),
    (2006, 2006): (0.0010, 0.0204, 0.0087, 0.0182),
    (2006, 2007): (-0.0413, 0.0210, -0.0413, 0.0205),
    (2007, 2004): (0.0267, 0.0140, 0.0269, 0.0136),
    (2007, 2005): (-0.0046, 0.0170, -0.0042, 0.0153),
    (2007, 2006): (-0.0284, 0.0187, -0.0284, 0.0191),
    (2007, 2007): (-0.0288, 0.0161, -0.0288, 0.0167),
}
PUBLISHED_DR_LPOP_PRETEST_P = {"never": 0.23267, "notyet": 0.23326}

# Published SEs are multiplier-bootstrap (1,000 draws, IQR-based): ours are analytic, so they
# are compared loosely; the analytic SEs are checked exactly against moderndid below.
BOOTSTRAP_RTOL = 0.15


def _d4(x: float) -> str:
    """A number as R's summary prints it to 4 decimals."""
    return f"{x:.4f}"


@pytest.fixture(scope="module")
def mpdta() -> dict[str, np.ndarray]:
    import moderndid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = moderndid.load_mpdta()
    return {c: df[c].to_numpy() for c in ("countyreal", "year", "first.treat", "lemp", "lpop")}


@pytest.fixture(scope="module")
def never(mpdta: dict[str, np.ndarray]) -> DidResult:
    return estimate(mpdta["countyreal"], mpdta["year"], mpdta["first.treat"], mpdta["lemp"])


@pytest.fixture(scope="module")
def notyet(mpdta: dict[str, np.ndarray]) -> DidResult:
    return estimate(mpdta["countyreal"], mpdta["year"], mpdta["first.treat"], mpdta["lemp"], control="notyet")


# ---------------------------------------------------------------------------- the reference table
def test_mpdta_data_is_the_published_panel(mpdta: dict[str, np.ndarray]) -> None:
    assert len(mpdta["lemp"]) == 2500 and len(np.unique(mpdta["countyreal"])) == 500
    assert sorted(np.unique(mpdta["first.treat"]).tolist()) == [0, 2004, 2006, 2007]


def test_att_gt_point_estimates_match_published_table_to_4_decimals(never: DidResult) -> None:
    got = {(c.group, c.time): c for c in never.att_gt}
    assert set(got) == set(PUBLISHED_ATT_GT)
    for key, (att, *_) in PUBLISHED_ATT_GT.items():
        assert _d4(got[key].att) == _d4(att), key


def test_aggregates_match_published_table_to_4_decimals(never: DidResult) -> None:
    assert _d4(never.overall.att) == _d4(PUBLISHED_GROUP_OVERALL[0])
    assert _d4(never.simple.att) == _d4(PUBLISHED_SIMPLE[0])
    assert never.event_study_overall is not None
    assert _d4(never.event_study_overall.att) == _d4(PUBLISHED_DYNAMIC_OVERALL[0])
    assert {e.event_time: _d4(e.att) for e in never.event_study} == {
        e: _d4(v[0]) for e, v in PUBLISHED_EVENT_STUDY.items()
    }
    assert {b.group: _d4(b.att) for b in never.by_group} == {g: _d4(v[0]) for g, v in PUBLISHED_GROUP_EFFECTS.items()}
    assert [(b.group, b.n_units) for b in never.by_group] == [(2004, 20), (2006, 40), (2007, 131)]


def test_pretest_p_matches_published_value(never: DidResult) -> None:
    assert never.pretest_p is not None
    assert round(never.pretest_p, 5) == PUBLISHED_PRETEST_P
    assert never.pretest_df == 5  # five pre-treatment cells


def test_standard_errors_agree_with_published_bootstrap_loosely(never: DidResult) -> None:
    got = {(c.group, c.time): c.se for c in never.att_gt}
    for key, (_, *boot) in PUBLISHED_ATT_GT.items():
        for se in boot:
            assert got[key] == pytest.approx(se, rel=BOOTSTRAP_RTOL), key
    assert never.overall.se == pytest.approx(PUBLISHED_GROUP_OVERALL[1], rel=BOOTSTRAP_RTOL)
    assert never.simple.se == pytest.approx(PUBLISHED_SIMPLE[1], rel=BOOTSTRAP_RTOL)
    assert never.event_study_overall is not None
    assert never.event_study_overall.se == pytest.approx(PUBLISHED_DYNAMIC_OVERALL[1], rel=BOOTSTRAP_RTOL)
    for e in never.event_study:
        assert e.se == pytest.approx(PUBLISHED_EVENT_STUDY[e.event_time][1], rel=BOOTSTRAP_RTOL)
    for b in never.by_group:
        assert b.se == pytest.approx(PUBLISHED_GROUP_EFFECTS[b.group][1], rel=BOOTSTRAP_RTOL)


def test_intervals_are_95_percent_normal(never: DidResult) -> None:
    c = never.att_gt[0]
    assert c.ci_low == pytest.approx(c.att - 1.959964 * c.se)
    assert c.ci_high == pytest.approx(c.att + 1.959964 * c.se)
    assert never.overall.ci_low < never.overall.att < never.overall.ci_high


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_doubly_robust_with_covariates_matches_published_table(mpdta, control: str) -> None:
    r = estimate(
        mpdta["countyreal"],
        mpdta["year"],
        mpdta["first.treat"],
        mpdta["lemp"],
        control=control,
        covariates={"lpop": mpdta["lpop"]},
    )
    got = {(c.group, c.time): c for c in r.att_gt}
    assert set(got) == set(PUBLISHED_DR_LPOP)
    col = 0 if control == "never" else 2
    for key, row in PUBLISHED_DR_LPOP.items():
        assert _d4(got[key].att) == _d4(row[col]), key
        assert got[key].se == pytest.approx(row[col + 1], rel=BOOTSTRAP_RTOL), key
    assert r.pretest_p is not None
    assert round(r.pretest_p, 5) == PUBLISHED_DR_LPOP_PRETEST_P[control]


# ---------------------------------------------------------------------------- cross-check
def _moderndid(mpdta: dict[str, np.ndarray], control_group: str, xformla: str | None = None) -> dict[str, object]:
    """moderndid's port of R did with analytic SEs (boot=False): an extra, not the reference."""
    import moderndid
    import polars as pl

    df = pl.DataFrame(
        {
            "id": mpdta["countyreal"],
            "t": mpdta["year"],
            "g": mpdta["first.treat"],
            "y": mpdta["lemp"],
            "lpop": mpdta["lpop"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = moderndid.att_gt(
            data=df,
            yname="y",
            tname="t",
            idname="id",
            gname="g",
            xformla=xformla,
            est_method="dr",
            boot=False,
            cband=False,
            control_group=control_group,
        )
        agg = {ty: moderndid.aggte(r, type=ty, boot=False, cband=False) for ty in ("simple", "group", "dynamic")}
    return {"r": r, **agg}


@pytest.mark.parametrize("control,control_group", [("never", "nevertreated"), ("notyet", "notyettreated")])
@pytest.mark.parametrize("with_lpop", [False, True])
def test_matches_moderndid_analytic_standard_errors(
    mpdta: dict[str, np.ndarray], never: DidResult, notyet: DidResult, control: str, control_group: str, with_lpop: bool
) -> None:
    if with_lpop:
        ours = estimate(
            mpdta["countyreal"],
            mpdta["year"],
            mpdta["first.treat"],
            mpdta["lemp"],
            control=control,
            covariates={"lpop": mpdta["lpop"]},
        )
    else:
        ours = never if control == "never" else notyet
    ref = _moderndid(mpdta, control_group, "~lpop" if with_lpop else None)
    r = ref["r"]
    cells = zip(np.asarray(r.groups).astype(int).tolist(), np.asarray(r.times).astype(int).tolist(), strict=True)
    assert [(c.group, c.time) for c in ours.att_gt] == list(cells)
    np.testing.assert_allclose([c.att for c in ours.att_gt], r.att_gt, rtol=0, atol=1e-12)
    np.testing.assert_allclose([c.se for c in ours.att_gt], r.se_gt, rtol=1e-9)
    assert ours.pretest_p == pytest.approx(r.wald_pvalue, abs=1e-5)  # moderndid rounds to 5
    for ty, est in (("simple", ours.simple), ("group", ours.overall), ("dynamic", ours.event_study_overall)):
        assert est is not None
        assert est.att == pytest.approx(ref[ty].overall_att, abs=1e-12), ty
        assert est.se == pytest.approx(ref[ty].overall_se, rel=1e-9), ty
    dyn, grp = ref["dynamic"], ref["group"]
    np.testing.assert_allclose([e.att for e in ours.event_study], dyn.att_by_event, atol=1e-12)
    np.testing.assert_allclose([e.se for e in ours.event_study], dyn.se_by_event, rtol=1e-9)
    np.testing.assert_allclose([b.se for b in ours.by_group], grp.se_by_event, rtol=1e-9)


# ---------------------------------------------------------------------------- never vs not yet
def test_not_yet_treated_adds_later_cohorts_as_controls(never: DidResult, notyet: DidResult) -> None:
    by_n = {(c.group, c.time): c for c in never.att_gt}
    by_y = {(c.group, c.time): c for c in notyet.att_gt}
    cohort = {2004: 20, 2006: 40, 2007: 131}
    for key, c in by_y.items():
        later = sum(n for g, n in cohort.items() if g > c.time and g != c.group)
        assert c.n_control == by_n[key].n_control + later, key
        if later:  # more comparison units: a different estimate
            assert abs(c.att - by_n[key].att) > 1e-4, key
        else:  # in 2007 nobody is still untreated: the same comparison, the same estimate
            assert c.att == pytest.approx(by_n[key].att, abs=1e-15) and c.se == by_n[key].se
    assert notyet.control == "notyet" and never.control == "never"
    assert notyet.overall.att != pytest.approx(never.overall.att, abs=1e-4)


def test_not_yet_treated_without_never_treated_follows_r(mpdta: dict[str, np.ndarray]) -> None:
    """No never-treated units: the last cohort is only a comparison, its periods are dropped."""
    keep = mpdta["first.treat"] != 0
    args = (mpdta["countyreal"][keep], mpdta["year"][keep], mpdta["first.treat"][keep], mpdta["lemp"][keep])
    with pytest.raises(DidSampleTooSmall, match="0 never-treated unit"):
        estimate(*args)
    r = estimate(*args, control="notyet")
    assert r.periods == [2003, 2004, 2005, 2006]
    assert {c.group for c in r.att_gt} == {2004, 2006}
    assert r.notes and "2007" in r.notes[0]
    # moderndid 0.2.0 also reports two placebo cells of the 2007 cohort, which R did 2.5.1
    # leaves out (pre_process_did: "drop the max cohort from glist"); the shared cells agree.
    ref = _moderndid({k: v[keep] for k, v in mpdta.items()}, "notyettreated")["r"]
    shared = np.asarray(ref.groups) != 2007
    np.testing.assert_allclose([c.att for c in r.att_gt], np.asarray(ref.att_gt)[shared], atol=1e-12)
    np.testing.assert_allclose([c.se for c in r.att_gt], np.asarray(ref.se_gt)[shared], rtol=1e-9)


# ---------------------------------------------------------------------------- hand-made panels
def _panel(groups: list[int], periods: list[int], seed: int = 3, effect: float = 1.0):
    rng = np.random.default_rng(seed)
    n, T = len(groups), len(periods)
    unit = np.repeat(np.arange(1, n + 1), T)
    time = np.tile(periods, n)
    group = np.repeat(groups, T)
    y = (
        np.repeat(rng.normal(size=n), T)
        + 0.3 * (time - periods[0])
        + rng.normal(0, 0.5, n * T)
        + effect * ((group > 0) & (time >= group))
    )
    return unit, time, group, y


def test_two_by_two_is_a_difference_of_mean_changes_with_textbook_se() -> None:
    unit, time, group, y = _panel([0, 0, 0, 0, 2, 2, 2], [1, 2])
    r = estimate(unit, time, group, y)
    Y = y.reshape(7, 2)
    dy = Y[:, 1] - Y[:, 0]
    treated, control = dy[4:], dy[:4]
    assert len(r.att_gt) == 1
    c = r.att_gt[0]
    assert (c.group, c.time, c.n_treated, c.n_control) == (2, 2, 3, 4)
    assert c.att == pytest.approx(treated.mean() - control.mean(), abs=1e-12)
    # R's analytic SE uses population variances: sqrt(var1/n1 + var0/n0)
    assert c.se == pytest.approx(math.sqrt(treated.var() / 3 + control.var() / 4), rel=1e-12)
    assert r.overall.att == pytest.approx(c.att) and r.simple.att == pytest.approx(c.att)
    assert r.pretest_p is None  # no pre-treatment cell


def test_result_does_not_depend_on_row_order_or_unit_labels() -> None:
    unit, time, group, y = _panel([0, 0, 0, 3, 3, 4, 4, 0, 3, 4], [1, 2, 3, 4, 5])
    base = estimate(unit, time, group, y)
    perm = np.random.default_rng(0).permutation(len(y))
    labels = np.array([f"hh-{u:03d}" for u in unit], dtype=object)
    other = estimate(labels[perm], time[perm], group[perm], y[perm])
    assert [c.att for c in other.att_gt] == pytest.approx([c.att for c in base.att_gt], abs=1e-12)
    assert [c.se for c in other.att_gt] == pytest.approx([c.se for c in base.att_gt], rel=1e-10)
    assert other.pretest_p == pytest.approx(base.pretest_p)


def test_recovers_a_planted_effect_inside_its_interval() -> None:
    groups = [0] * 400 + [3] * 300 + [4] * 300
    unit, time, group, y = _panel(groups, [1, 2, 3, 4, 5], seed=11, effect=2.0)
    r = estimate(unit, time, group, y)
    assert r.overall.ci_low < 2.0 < r.overall.ci_high
    assert r.simple.ci_low < 2.0 < r.simple.ci_high
    assert all(abs(e.att) < 5 * e.se for e in r.event_study if e.event_time < 0)


def test_group_between_observed_periods_uses_the_last_earlier_period() -> None:
    """Periods 1, 3, 5 and a cohort first treated in 4: base 3, like R's originalgtlist."""
    unit, time, group, y = _panel([0, 0, 0, 4, 4, 4], [1, 3, 5])
    r = estimate(unit, time, group, y)
    assert [(c.group, c.time) for c in r.att_gt] == [(4, 3), (4, 5)]
    Y = y.reshape(6, 3)
    dy = Y[:, 2] - Y[:, 1]
    assert r.att_gt[1].att == pytest.approx(dy[3:].mean() - dy[:3].mean())


# ---------------------------------------------------------------------------- JSON shape
def test_to_json_shape(never: DidResult) -> None:
    doc = never.to_json()
    assert set(doc) == {"att_gt", "overall", "simple", "event_study", "pretest_p"}
    assert doc["att_gt"][0].keys() == {"group", "time", "att", "se"}
    assert isinstance(doc["att_gt"][0]["group"], int) and isinstance(doc["att_gt"][0]["se"], float)
    assert doc["overall"].keys() == {"att", "se"} and doc["simple"].keys() == {"att", "se"}
    assert doc["event_study"][0].keys() == {"event_time", "att", "se"}
    assert [e["event_time"] for e in doc["event_study"]] == [-3, -2, -1, 0, 1, 2, 3]
    assert isinstance(doc["pretest_p"], float)
    json.dumps(doc, allow_nan=False)


def test_degenerate_standard_error_is_null_in_json() -> None:
    unit = np.repeat([1, 2, 3, 4], 2)
    time = np.tile([1, 2], 4)
    group = np.repeat([0, 0, 2, 2], 2)
    y = np.array([1.0, 2.0, 1.0, 2.0, 1.0, 3.0, 1.0, 3.0])  # no variation within groups
    r = estimate(unit, time, group, y)
    assert r.att_gt[0].att == pytest.approx(1.0) and math.isnan(r.att_gt[0].se)
    doc = r.to_json()
    assert doc["att_gt"][0]["se"] is None and doc["pretest_p"] is None
    json.dumps(doc, allow_nan=False)


# ---------------------------------------------------------------------------- TWFE
def test_twfe_matches_dummy_variable_regression_with_cluster_robust_se() -> None:
    unit, time, group, y = _panel([0, 0, 0, 0, 2, 2, 3, 3, 3, 4, 0, 2], [1, 2, 3, 4])
    d = ((group > 0) & (time >= group)).astype(float)
    est = two_way_fixed_effects(unit, time, d, y)
    units, periods = np.unique(unit), np.unique(time)
    X = np.column_stack(
        [d, (unit[:, None] == units[None, :]).astype(float), (time[:, None] == periods[None, 1:]).astype(float)]
    )
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    meat = sum(np.outer(s, s) for s in (X[unit == u].T @ resid[unit == u] for u in units))
    G, N, K = len(units), len(y), len(periods)
    V = bread @ meat @ bread * G / (G - 1) * (N - 1) / (N - K)
    assert est.att == pytest.approx(beta[0], abs=1e-10)
    assert est.se == pytest.approx(math.sqrt(V[0, 0]), rel=1e-8)


def test_twfe_on_mpdta_differs_from_the_heterogeneity_robust_estimate(mpdta, never: DidResult) -> None:
    d = ((mpdta["first.treat"] > 0) & (mpdta["year"] >= mpdta["first.treat"])).astype(float)
    est = two_way_fixed_effects(mpdta["countyreal"], mpdta["year"], d, mpdta["lemp"])
    assert isinstance(est, Estimate)
    assert _d4(est.att) == "-0.0365"
    assert abs(est.att - never.overall.att) > 0.005


# ---------------------------------------------------------------------------- bad input
COLS = {"unit": "hh_id", "time": "round", "group": "first_round", "outcome": "income"}


def _bad(**changes):
    unit, time, group, y = _panel([0, 0, 0, 3, 3, 3], [1, 2, 3, 4])
    arrays = {"unit": unit, "time": time, "group": group, "outcome": y}
    for k, f in changes.items():
        arrays[k] = f(arrays[k].copy() if k != "outcome" else arrays[k].astype(object))
    return arrays


def _error(arrays: dict, **kw) -> str:
    with pytest.raises(DidError) as exc:
        estimate(arrays["unit"], arrays["time"], arrays["group"], arrays["outcome"], columns=COLS, **kw)
    assert isinstance(exc.value, JobError)
    return str(exc.value)


def test_duplicate_unit_time_rows_are_named() -> None:
    def dup(t):
        t[1] = 1  # unit 1 has round 1 twice (rows 1 and 2), round 2 missing
        return t

    msg = _error(_bad(time=dup))
    assert "duplicate (unit, time) rows" in msg and "'hh_id'" in msg and "'round'" in msg
    assert "rows 1 (hh_id=1, round=1), 2 (hh_id=1, round=1)" in msg


def test_unbalanced_panel_is_named() -> None:
    a = _bad()
    keep = np.ones(len(a["unit"]), bool)
    keep[6] = False  # unit 2, round 3
    msg = _error({k: v[keep] for k, v in a.items()})
    assert "unbalanced panel" in msg and "unit 2 has no row for round 3" in msg and "row 5" in msg


def test_units_treated_before_the_first_period_are_named() -> None:
    def early(g):
        g[g == 3] = 1
        return g

    msg = _error(_bad(group=early))
    assert "'first_round'" in msg and "treated in or before the first period (1)" in msg
    assert "rows 13 (hh_id=4, round=1, first_round=1)" in msg


def test_non_numeric_and_missing_outcomes_are_named() -> None:
    def text(y):
        y[5] = "n/a"
        return y

    msg = _error(_bad(outcome=text))
    assert "'income' must be numeric" in msg and "row 6" in msg and "income='n/a'" in msg

    def nan(y):
        y[2] = float("nan")
        return y.astype(float)

    msg = _error(_bad(outcome=nan))
    assert "'income' has 1 missing or non-finite" in msg and "row 3 (hh_id=1, round=3" in msg


@pytest.mark.parametrize("value", [9, -2])
def test_group_outside_the_time_range_is_named(value: int) -> None:
    def out(g):
        g[g == 3] = value
        return g

    msg = _error(_bad(group=out))
    assert "'first_round' outside the time range 1–4" in msg
    assert f"rows 13 (hh_id=4, round=1, first_round={value}), 17 (hh_id=5" in msg


def test_group_must_be_constant_within_a_unit() -> None:
    def changes(g):
        g[0:4] = [0, 0, 2, 2]  # unit 1 "becomes" a cohort mid-panel
        return g

    msg = _error(_bad(group=changes))
    assert "'first_round' must be constant within a unit" in msg and "unit 1 has 0, 2" in msg
    assert "rows 1 (" in msg


def test_too_few_never_treated_units() -> None:
    def one_never(g):
        g[4:] = np.where(g[4:] == 0, 3, g[4:])  # only unit 1 stays never treated
        return g

    a = _bad(group=one_never)
    with pytest.raises(DidSampleTooSmall, match=r"1 never-treated unit\(s\).*at least 2.*notyet"):
        estimate(a["unit"], a["time"], a["group"], a["outcome"], columns=COLS)
    r = estimate(a["unit"], a["time"], a["group"], a["outcome"], min_never_treated=1)
    assert r.n_never_treated == 1
    with pytest.raises(DidSampleTooSmall, match="at least 5"):
        estimate(a["unit"], a["time"], a["group"], a["outcome"], min_never_treated=5)


def test_no_usable_group() -> None:
    msg = _error(_bad(group=lambda g: g * 0))
    assert "no usable treated cohort" in msg


def test_other_bad_arguments() -> None:
    a = _bad()
    with pytest.raises(DidError, match="control: must be 'never' or 'notyet'"):
        estimate(a["unit"], a["time"], a["group"], a["outcome"], control="later")
    with pytest.raises(DidError, match="same number of rows"):
        estimate(a["unit"][:-1], a["time"], a["group"], a["outcome"])
    with pytest.raises(DidError, match="whole numbers"):
        estimate(a["unit"], a["time"] + 0.5, a["group"], a["outcome"], columns=COLS)
    single = a["time"] == 1
    with pytest.raises(DidSampleTooSmall, match="single period"):
        estimate(a["unit"][single], a["time"][single], a["group"][single], a["outcome"][single])


def test_bad_covariates_are_named() -> None:
    a = _bad()
    x = np.random.default_rng(1).normal(size=24).astype(object)
    x[7] = "?"
    with pytest.raises(DidError, match=r"column 'age' must be numeric.*row 8 \(hh_id=2, round=4, age='\?'\)"):
        estimate(a["unit"], a["time"], a["group"], a["outcome"], columns=COLS, covariates={"age": x})
    with pytest.raises(DidError, match="covariate 'age': expected 24 values"):
        estimate(a["unit"], a["time"], a["group"], a["outcome"], covariates={"age": np.ones(5)})
    with pytest.raises(DidError, match="singular"):  # a constant is collinear with the intercept
        estimate(a["unit"], a["time"], a["group"], a["outcome"], covariates={"one": np.ones(24)})
    separating = (a["group"] > 0).astype(float)  # the covariate is the treatment itself
    with pytest.raises(DidError, match="overlap fails for the cohort first treated in 3"):
        estimate(a["unit"], a["time"], a["group"], a["outcome"], covariates={"d": separating})


def test_covariates_given_as_an_array_equal_a_mapping(mpdta) -> None:
    args = (mpdta["countyreal"], mpdta["year"], mpdta["first.treat"], mpdta["lemp"])
    by_name = estimate(*args, covariates={"lpop": mpdta["lpop"]})
    by_array = estimate(*args, covariates=mpdta["lpop"][:, None])
    assert by_name.overall == by_array.overall


# ---------------------------------------------------------------------------- CSV
def _write(tmp_path, text: str):
    p = tmp_path / "panel.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_read_panel_csv(tmp_path) -> None:
    p = _write(tmp_path, "hh;round;first;income\n001;1;0;10.5\n001;2;0;11\n002;1;2;9\n002;2;2;12.25\n")
    unit, time, group, y = read_panel_csv(p, "hh", "round", "first", "income")
    assert unit.tolist() == ["001", "001", "002", "002"]  # zero-padded codes stay text
    assert time.dtype == np.int64 and group.tolist() == [0, 0, 2, 2]
    assert y.tolist() == [10.5, 11.0, 9.0, 12.25]
    p2 = _write(tmp_path, "hh,round,first,income\n7,1,0,1\n7,2,0,2\n")
    assert read_panel_csv(p2, "hh", "round", "first", "income")[0].dtype == np.int64


@pytest.mark.parametrize(
    "text,needle",
    [
        (
            "hh,round,first,income\n1,1,0,10\n1,2,0,abc\n",
            "column 'income' (outcome) must be numeric in every row, e.g. line 3 ('abc')",
        ),
        ("hh,round,first,income\n1,1,0,10\n1,2,0,\n", "line 3 ('')"),
        (
            "hh,round,first,income\n1,1,0,10\n1,2.5,0,3\n",
            "column 'round' (time) must hold whole numbers, e.g. line(s) 3 (2.5)",
        ),
        (
            "hh,round,first,income\n1,1,,10\n",
            "column 'first' (group) must be a whole number (first treated period, 0 = never treated)",
        ),
        ("hh,round,income\n1,1,10\n", "no column 'first' (group); the header has 'hh', 'round', 'income'"),
        ("", "empty file"),
        ("hh,round,first,income\n", "no data rows"),
        ("hh,round,first,income\n1,1\n", "line 2: 2 field(s)"),
    ],
)
def test_read_panel_csv_errors_name_file_line_and_column(tmp_path, text: str, needle: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(DidError) as exc:
        read_panel_csv(p, "hh", "round", "first", "income")
    assert str(p) in str(exc.value) and needle in str(exc.value)


def test_missing_csv_file(tmp_path) -> None:
    with pytest.raises(DidError, match="cannot open"):
        read_panel_csv(tmp_path / "nope.csv", "a", "b", "c", "d")
