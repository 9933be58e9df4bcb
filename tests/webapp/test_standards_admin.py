"""Admins edit poverty standards and deflators as data; the jobs reclassify; edits are audited.

Runs in its own database (a copy of the small demo's set-up) because it commits changes."""

import pytest
from sqlalchemy import text

from ingest.demo import DemoOptions, load_demo
from jobs.runner import run_job
from spatial.accounts import create_user, issue_token
from spatial.db import transaction
from tests.conftest import _fresh


@pytest.fixture(scope="module")
def edit_db(base_settings):
    settings = _fresh(base_settings, "sinhke_test_standards")
    with transaction(settings) as s:
        load_demo(s, DemoOptions(households=600, seed=3))
        token = issue_token(s, create_user(s, "std_admin", "admin", password="a long password", areas=["20"]))
    for job in ("place_households", "classify_households", "area_indicators"):
        assert run_job(settings, job).status == "succeeded"
    from webapp import create_app

    app = create_app(settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return settings, client


def _poor_2023(settings):
    with transaction(settings) as s:
        return s.scalar(
            text("SELECT poor FROM area_indicators WHERE level = 'province' AND boundary = 'current' AND year = 2023")
        )


FORM = {
    "first_year": "2022",
    "last_year": "2026",
    "min_deprivations": "3",
    "rural_income_line": "1500000",
    "rural_absolute_line": "",
    "urban_income_line": "2000000",
    "urban_absolute_line": "",
}


def test_raising_a_line_reclassifies(edit_db):
    settings, client = edit_db
    assert "Nghị định 07/2021/NĐ-CP" in client.get("/admin/standards?lang=vi").get_data(as_text=True)
    before = _poor_2023(settings)
    r = client.post("/admin/standards/2022-2025", data={**FORM, "rural_income_line": "1,900,000"})
    assert r.status_code == 303
    for job in ("classify_households", "area_indicators"):
        assert run_job(settings, job).status == "succeeded"
    assert _poor_2023(settings) > before
    with transaction(settings) as s:
        audit = s.execute(
            text(
                "SELECT actor, old ->> 'income_line', new ->> 'income_line' FROM audit_log "
                "WHERE table_name = 'poverty_lines' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert audit == ("std_admin", "1500000", "1900000")


@pytest.mark.parametrize(
    "change, status, parameter",
    [
        ({"rural_income_line": "lots"}, 400, "rural_income_line"),
        ({"last_year": "2020"}, 400, "last_year"),
        ({"min_deprivations": "13"}, 400, "min_deprivations"),
        ({"rural_absolute_line": "9000000"}, 400, "rural_absolute_line"),
        ({"last_year": "2027"}, 409, None),  # overlaps 2026–2030 (from 2027)
    ],
)
def test_bad_edits_are_refused_and_change_nothing(edit_db, change, status, parameter):
    settings, client = edit_db
    with transaction(settings) as s:
        before = s.execute(
            text("SELECT first_year, last_year, min_deprivations FROM poverty_standards WHERE code = '2022-2025'")
        ).one()
    r = client.post("/admin/standards/2022-2025", data={**FORM, **change})
    assert r.status_code == status
    if parameter:
        assert r.get_json()["error"]["parameter"] == parameter
    with transaction(settings) as s:
        after = s.execute(
            text("SELECT first_year, last_year, min_deprivations FROM poverty_standards WHERE code = '2022-2025'")
        ).one()
    assert after == before


def test_deflator_edit(edit_db):
    settings, client = edit_db
    r = client.post("/admin/deflators", data={"year": "2026", "index": "117.9", "source": "test"})
    assert r.status_code == 303
    with transaction(settings) as s:
        assert s.scalar(text("SELECT index FROM price_deflators WHERE year = 2026")) == 117.9
    assert client.post("/admin/deflators", data={"year": "2026", "index": "-3"}).status_code == 400
