"""The evaluator page and the downloads (CSV, XLSX, GeoPackage) with diacritics intact."""

import io

import pytest

from tests.conftest import client_for


def test_evaluation_page(client):
    page = client.get("/evaluation?lang=en").get_data(as_text=True)
    assert "Effect of participation on income" in page
    assert "Any model" in page and "<svg" in page  # event-study chart drawn server-side
    assert "biased" in page


def test_json(client):
    body = client.get("/api/evaluations?level=province").get_json()
    types = {r["model_type"] for r in body["rows"]}
    assert "all" in types and body["unit"].startswith("VND")
    ok = [r for r in body["rows"] if r["model_type"] == "all" and r["estimator"] == "cs_did"]
    assert ok and ok[0]["status"] == "ok" and ok[0]["ci_low"] < ok[0]["att"] < ok[0]["ci_high"]
    assert client.get("/api/evaluations?format=pdf").status_code == 400
    assert client.get("/api/evaluations?level=hamlet").status_code == 400


def test_csv_keeps_diacritics(client):
    r = client.get("/api/evaluations?level=province&format=csv")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("code,name,level,model_type")
    assert "Tỉnh Lạng Sơn" in text


def test_xlsx(client):
    from openpyxl import load_workbook

    r = client.get("/api/evaluations?level=commune&format=xlsx")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.values)
    assert rows[0][:3] == ("code", "name", "level")
    assert any(isinstance(row[1], str) and row[1].startswith(("Xã", "Phường")) for row in rows[1:])


def test_geopackage(client, tmp_path):
    from pyogrio import read_info
    from pyogrio.raw import read

    r = client.get("/api/evaluations?level=commune&format=gpkg")
    path = tmp_path / "e.gpkg"
    path.write_bytes(r.data)
    info = read_info(path)
    assert info["crs"] == "EPSG:4326" and info["features"] > 65
    meta, _fids, geometry, fields = read(path)
    names = fields[list(meta["fields"]).index("name")]
    assert any("ạ" in n or "ơ" in n or "ư" in n for n in names)
    assert all(g is not None for g in geometry)


@pytest.mark.parametrize("role", ["extension_worker", "evaluator"])
def test_scoped(app, accounts, role):
    c = client_for(app, accounts, role)
    rows = c.get("/api/evaluations?level=commune").get_json()["rows"]
    assert {r["code"] for r in rows} <= {accounts.commune_a}
    assert c.get("/api/evaluations?level=province").get_json()["rows"] == []


def test_exports_write_times_in_local_time_with_the_offset(client):
    import re

    r = client.get("/api/evaluations?level=province&format=csv")
    lines = r.data.decode("utf-8-sig").splitlines()
    column = lines[0].split(",").index("computed_at")
    stamp = lines[1].split(",")[column]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", stamp), stamp


@pytest.fixture
def planners(app, db):
    """Planners of one commune whose estimates are all below the minimum sample, and of one with an estimate."""
    from sqlalchemy import text

    from spatial.accounts import create_user, issue_token

    by_commune = db.execute(
        text("""
        SELECT u.code, bool_or(e.status = 'ok') AS any_ok
        FROM model_evaluations e JOIN admin_units u ON u.id = e.unit_id
        WHERE u.level = 'commune' AND e.estimator = 'cs_did' GROUP BY u.code ORDER BY u.code""")
    ).all()
    small = next(code for code, ok in by_commune if not ok)
    estimated = next(code for code, ok in by_commune if ok)
    tokens = {}
    for name, code in (("t_planner_small", small), ("t_planner_estimated", estimated)):
        tokens[name] = issue_token(db, create_user(db, name, "planner", password="x" * 16, areas=[code]))
    db.flush()
    clients = {}
    for name, token in tokens.items():
        c = app.test_client()
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        clients[name] = c
    return clients


def test_a_scoped_readers_messages_say_what_their_scope_holds(planners):
    """A commune-scoped reader sees why there is no province table, and why their communes have none."""
    page = planners["t_planner_small"].get("/evaluation?lang=en").get_data(as_text=True)
    assert "run the job evaluate_models" not in page and "has not run" not in page
    assert "The programme was evaluated on" in page and "only some communes" in page
    assert 'id="effects"' not in page  # no empty province table
    # the tests' minimum sample is 10 and 10 (tests/conftest.py)
    assert "None of your communes has an estimate of its own" in page
    assert "fewer than 10 participating or 10 comparison households" in page
    assert '<details class="too-small" id="too-small">' in page and "below the minimum sample" in page
    assert 'id="commune-effects"' not in page
    vi = planners["t_planner_small"].get("/evaluation?lang=vi").get_data(as_text=True)
    assert "Chương trình đã được đánh giá" in vi and "<details" in vi

    page = planners["t_planner_estimated"].get("/evaluation?lang=en").get_data(as_text=True)
    assert "only some communes" in page and "The estimates of your communes are below." in page
    assert "None of your communes" not in page and 'id="commune-effects"' in page


def test_the_admin_sees_estimates_and_folded_small_samples(client):
    page = client.get("/evaluation?lang=en").get_data(as_text=True)
    assert 'id="effects"' in page and "evaluation-notice" not in page
    communes = page.split("By commune (2025 boundaries)", 1)[1]
    shown, folded = communes.split('id="too-small"', 1)
    assert "Sample too small" not in shown and "Sample too small" in folded  # folded into the <details>
    assert 'id="commune-effects"' in shown and "below the minimum sample" in folded


def test_before_the_first_run_the_page_says_the_job_has_not_run(empty_settings, accounts):
    from spatial.db import transaction
    from spatial.evaluations import evaluation_coverage

    with transaction(empty_settings) as s:
        coverage = evaluation_coverage(s, [], [])
    assert coverage.evaluated_at is None and coverage.below_minimum == 0
