"""/planning, /api/planning and the area page's targets, money and scenarios, within the caller's areas."""

from __future__ import annotations

import io

from sqlalchemy import text

from tests.conftest import client_for
from tests.ingest.test_planning_xlsx import xlsx as _xlsx


def test_lists_are_scoped_and_sorted_by_gap(app, accounts):
    admin = client_for(app, accounts, "admin").get("/api/planning/disbursement?status=low").get_json()["rows"]
    mine = client_for(app, accounts, "planner").get("/api/planning/disbursement?status=low").get_json()["rows"]
    assert mine and {r["code"] for r in mine} == {accounts.commune_a}
    assert len({r["code"] for r in admin}) > 1
    left = [r["allocated_vnd"] - r["disbursed_vnd"] for r in admin]
    assert left == sorted(left, reverse=True)
    lagging = client_for(app, accounts, "admin").get("/api/planning/progress?status=lagging").get_json()["rows"]
    assert lagging and all(r["status"] == "lagging" for r in lagging)
    gaps = [r["gap"] for r in lagging]
    assert gaps == sorted(gaps, reverse=True)
    assert client_for(app, accounts, "planner").get("/api/planning/progress?status=late").status_code == 400
    page = client_for(app, accounts, "planner").get("/planning?lang=en")
    assert page.status_code == 200 and b'id="low-disbursement"' in page.data


def test_xlsx_upload_all_or_nothing(app, accounts, db):
    planner = client_for(app, accounts, "planner")
    before = db.scalar(text("SELECT count(*) FROM allocations"))
    bad = _xlsx([["project", "area", "year", "source", "allocated"], ["2", accounts.commune_a, 2026, "central", "ten"]])
    r = planner.post("/api/planning/import/allocations", data={"file": (io.BytesIO(bad), "m.xlsx")})
    assert r.status_code == 422
    body = r.get_json()["error"]
    assert body["errors"] == [
        {"row": 2, "column": "E (allocated)", "field": "allocated", "value": "ten", "reason": "not a whole number"}
    ]
    assert db.scalar(text("SELECT count(*) FROM allocations")) == before
    # through the import framework: the refusal is an imports row of the allocations layer
    assert db.scalar(text("SELECT layer || ' ' || status FROM imports WHERE id = :i"), {"i": body["import_id"]}) == (
        "allocations refused"
    )
    good = _xlsx(
        [
            ["Dự án", "Địa bàn", "Năm", "Nguồn vốn", "Vốn giao", "Giải ngân"],
            ["2", accounts.commune_a, 2026, "Huy động", 5, 1],
        ]
    )
    r = planner.post("/api/planning/import/allocations", data={"file": (io.BytesIO(good), "m.xlsx")})
    assert r.status_code == 200 and r.get_json()["inserted"] == 1
    assert db.scalar(text("SELECT count(*) FROM allocations")) == before + 1
    again = planner.post("/api/planning/import/allocations", data={"file": (io.BytesIO(good), "m.xlsx")})
    assert {k: again.get_json()[k] for k in ("kind", "rows", "inserted", "updated", "unchanged")} == {
        "kind": "allocations",
        "rows": 1,
        "inserted": 0,
        "updated": 0,
        "unchanged": 1,
    }
    # the page's form: a refused file shows its rows and columns, nothing written
    page = planner.post(
        "/planning/import?lang=en",
        data={
            "kind": "targets",
            "file": (
                io.BytesIO(
                    _xlsx([["Địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_b, 2025, "works_completed", 3]])
                ),
                "t.xlsx",
            ),
        },
    )
    assert page.status_code == 422 and b'id="import-errors"' in page.data
    assert "outside your areas" in page.data.decode() and "A (Địa bàn)" in page.data.decode()
    ok = planner.post(
        "/planning/import",
        data={
            "kind": "targets",
            "file": (
                io.BytesIO(
                    _xlsx([["Area", "Year", "Indicator", "Value"], [accounts.commune_a, 2026, "works_completed", 3]])
                ),
                "t.xlsx",
            ),
        },
    )
    assert ok.status_code == 302
    # the evaluator reads but does not enter money
    r = client_for(app, accounts, "evaluator").post(
        "/api/planning/import/allocations", data={"file": (io.BytesIO(good), "m.xlsx")}
    )
    assert r.status_code == 403


def test_area_page_shows_targets_money_and_scenarios(app, accounts):
    admin = client_for(app, accounts, "admin")
    r = admin.post(
        "/api/siting",
        json={
            "name": "Nước 2026",
            "communes": [accounts.commune_a],
            "radius": 2000,
            "k": 1,
            "candidates": {"grid": 3000},
        },
    )
    assert r.status_code == 201
    page = admin.get(f"/areas/{accounts.commune_a}?lang=en").data.decode()
    assert 'id="area-targets"' in page and 'id="area-money"' in page
    assert "Nước 2026" in page and f"/siting?scenario={r.get_json()['id']}" in page
    # the planner of commune A does not see commune B's figures
    assert client_for(app, accounts, "planner").get(f"/areas/{accounts.commune_b}").status_code == 404


def test_cli_import_refuses_a_bad_file_whole(demo_settings, tmp_path, accounts):
    from click.testing import CliRunner

    from spatial.cluster import database_url
    from webapp.cli import main

    path = tmp_path / "t.xlsx"
    path.write_bytes(_xlsx([["area", "year", "indicator", "value"], [accounts.commune_a, 2025, "works_completed", -2]]))
    r = CliRunner().invoke(
        main, ["planning", "import", "targets", str(path)], env={"SINHKE_DATABASE_URL": database_url(demo_settings)}
    )
    assert r.exit_code == 1
    assert "row 2, column D (value): a count is a whole number >= 0" in r.output


def test_sinhke_import_targets_refuses_a_bad_row_and_imports_a_good_file(demo_settings, tmp_path, accounts):
    from click.testing import CliRunner

    from spatial.cluster import database_url
    from webapp.cli import main

    env = {"SINHKE_DATABASE_URL": database_url(demo_settings)}
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_xlsx([["Mã địa bàn", "Năm", "Chỉ tiêu", "Giá trị"], [accounts.commune_a, 2031, "tốt", 1]]))
    r = CliRunner().invoke(main, ["import", "targets", str(bad)], env=env)
    assert r.exit_code == 1 and "1,indicator,tốt," in r.output and "REFUSED" in r.output
    good = tmp_path / "good.xlsx"
    good.write_bytes(_xlsx([["Area", "Year", "Indicator", "Value"], [accounts.commune_a, 2031, "works_completed", 7]]))
    r = CliRunner().invoke(main, ["import", "targets", str(good), "--dry-run"], env=env)
    assert r.exit_code == 0 and "dry run" in r.output


def test_area_page_charts_rates_and_flags_estimates(app, accounts, db):
    admin = client_for(app, accounts, "admin")
    db.execute(
        text("""UPDATE area_indicators SET estimated = true WHERE year = 2022
                AND unit_id = (SELECT id FROM admin_units WHERE code = :c AND boundary = 'current')"""),
        {"c": accounts.commune_a},
    )
    db.flush()
    years = db.scalar(
        text("""SELECT count(*) FROM area_indicators a JOIN admin_units u ON u.id = a.unit_id
                WHERE u.code = :c AND u.boundary = 'current'"""),
        {"c": accounts.commune_a},
    )
    page = admin.get(f"/areas/{accounts.commune_a}?lang=en").data.decode()
    assert 'id="area-rates"' in page and page.count("<polyline") == 2
    assert page.count('class="rate-pt rate-poverty_rate') == years
    assert page.count("rate-pt rate-poverty_rate estimated") == 1 and page.count('data-estimated="true"') == 1


def test_upload_page_imports_targets_and_allocations_within_the_planners_communes(app, accounts, db):
    """/imports (the common upload page) offers both layers; the report names the row and field,
    and a planner's row outside their communes is refused whole."""
    planner = client_for(app, accounts, "planner")
    page = planner.get("/imports?lang=en").get_data(as_text=True)
    assert 'value="targets"' in page and 'value="allocations"' in page
    before = db.scalar(text("SELECT count(*) FROM allocations"))
    rows = [
        ["Dự án", "Địa bàn", "Năm", "Nguồn vốn", "Vốn giao"],
        ["2", accounts.commune_a, 2027, "central", 10],
        ["2", accounts.commune_b, 2027, "central", 10],
    ]
    r = planner.post(
        "/imports", data={"layer": "allocations", "file": (io.BytesIO(_xlsx(rows)), "von.xlsx")}, follow_redirects=True
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "outside your areas" in body and accounts.commune_b in body
    assert db.scalar(text("SELECT count(*) FROM allocations")) == before
    r = planner.post(
        "/imports",
        data={"layer": "allocations", "file": (io.BytesIO(_xlsx(rows[:2])), "von.xlsx")},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert db.scalar(text("SELECT count(*) FROM allocations")) == before + 1
    last = db.execute(text("SELECT layer, status, inserted FROM imports ORDER BY id DESC LIMIT 2")).all()
    assert [tuple(x) for x in last] == [("allocations", "imported", 1), ("allocations", "refused", 0)]


def test_csv_upload_with_blank_lines_names_the_data_row(app, accounts):
    planner = client_for(app, accounts, "planner")
    a = accounts.commune_a
    body = f"project,area,year,source,allocated\n\n2,{a},2026,central,10\n\n2,{a},2026,local,ten\n"
    r = planner.post("/api/planning/import/allocations", data={"file": (io.BytesIO(body.encode()), "m.csv")})
    assert r.status_code == 422
    assert [(e["row"], e["column"]) for e in r.get_json()["error"]["errors"]] == [(2, "E (allocated)")]
    page = planner.get("/planning?lang=vi").get_data(as_text=True)
    assert "Nhập chỉ tiêu hoặc vốn giao (XLSX hoặc CSV)" in page and "hoặc tệp CSV" in page
    assert "Import targets or allocations (XLSX or CSV)" in planner.get("/planning?lang=en").get_data(as_text=True)
