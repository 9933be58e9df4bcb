"""evaluate_models on the default demo (20,000 households, seed 2025, as `make demo` builds it):
each planted effect lies inside its estimated 95 % interval."""

import pytest
from sqlalchemy import select, text

from ingest.demo import PLANTED_EFFECTS, DemoOptions, load_demo
from jobs.runner import run_job
from spatial.db import transaction
from spatial.models import ModelEvaluation
from tests.conftest import _fresh


@pytest.fixture(scope="module")
def full_demo(base_settings):
    settings = _fresh(base_settings, "sinhke_test_eval")
    with transaction(settings) as s:
        load_demo(s, DemoOptions(households=20_000, seed=2025))
    for job in ("place_households", "classify_households", "area_indicators", "evaluate_models"):
        out = run_job(settings, job)
        assert out.status == "succeeded", out
    return settings


def _province_rows(settings, estimator):
    with transaction(settings) as s:
        return {
            e.model_type: e
            for e in s.scalars(
                select(ModelEvaluation).where(
                    ModelEvaluation.estimator == estimator,
                    ModelEvaluation.unit_id
                    == s.scalar(text("SELECT id FROM admin_units WHERE level = 'province' AND boundary = 'current'")),
                )
            )
        }


def test_planted_effects_inside_95_intervals(full_demo):
    rows = _province_rows(full_demo, "cs_did")
    for model_type, truth in PLANTED_EFFECTS.items():
        e = rows[model_type]
        assert e.status == "ok", (model_type, e.detail)
        assert e.ci_low <= truth <= e.ci_high, (model_type, truth, e.att, e.ci_low, e.ci_high)
        assert e.se > 0 and e.n_treated >= 30 and e.n_control > 1000
    overall = rows["all"]
    assert overall.status == "ok" and min(PLANTED_EFFECTS.values()) < overall.att < max(PLANTED_EFFECTS.values())
    # parallel trends hold by construction: the pre-test should not reject
    assert overall.pretest_p is None or overall.pretest_p > 0.01


def test_small_areas_reported_not_dropped(full_demo):
    with transaction(full_demo) as s:
        communes = s.scalar(text("SELECT count(*) FROM admin_units WHERE level='commune' AND boundary='current'"))
        per_type = dict(
            s.execute(
                text("""
            SELECT status, count(*) FROM model_evaluations e JOIN admin_units u ON u.id = e.unit_id
            WHERE u.level = 'commune' AND e.estimator = 'cs_did' GROUP BY status""")
            ).all()
        )
    # any model, each model type, six work types and water schemes: one row each per commune
    assert sum(per_type.values()) == communes * (1 + len(PLANTED_EFFECTS) + 6 + 1)
    assert per_type.get("insufficient_sample", 0) > 0
    with transaction(full_demo) as s:
        note = s.scalar(
            text("SELECT detail ->> 'reason' FROM model_evaluations WHERE status = 'insufficient_sample' LIMIT 1")
        )
    assert "needs at least" in note or note


def test_twfe_reported_beside(full_demo):
    rows = _province_rows(full_demo, "twfe")
    assert {"all", *PLANTED_EFFECTS, "works:road", "water_scheme"} <= set(rows)
    assert "biased" in rows["all"].detail["note"]


def test_rerun_is_idempotent(full_demo):
    before = _province_rows(full_demo, "cs_did")["all"].att
    assert run_job(full_demo, "evaluate_models").status == "succeeded"
    assert _province_rows(full_demo, "cs_did")["all"].att == before


def test_works_and_schemes_related_to_income(full_demo):
    """Distance bands: near a completed work vs far from any; served by a scheme vs not.
    The demo plants no effect for works, so no estimate may be far from zero."""
    rows = _province_rows(full_demo, "cs_did")
    labels = [f"works:{t}" for t in ("road", "bridge", "school", "clinic", "irrigation", "market")]
    for label in (*labels, "water_scheme"):
        e = rows[label]
        assert e.status == "ok", (label, e.detail)
        assert e.n_treated > 100 and e.n_control > 1000
        assert abs(e.att) < 4 * e.se, (label, e.att, e.se)
    assert rows["works:road"].detail["att_gt"]  # group-time effects kept for charts
