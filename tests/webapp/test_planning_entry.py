"""/planning/targets and /planning/allocations: targets and money entered and edited one row at a time,
by administrators and by planners within their communes; bad fields named, nothing written."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from spatial.accounts import create_user
from tests.conftest import client_for


def _count(db, table):  # type: ignore[no-untyped-def]
    return db.scalar(text(f"SELECT count(*) FROM {table}"))


def _part(db, code="3.1"):  # type: ignore[no-untyped-def]
    return db.scalar(
        text("""SELECT pp.id FROM programme_parts pp JOIN programmes p ON p.id = pp.programme_id
                WHERE p.code = '2021-2025' AND pp.code = :c"""),
        {"c": code},
    )


def _target(commune, **over):  # type: ignore[no-untyped-def]
    form = {"area": commune, "year": "2030", "indicator": "works_completed", "value": "4", "note": "entered"}
    form.update(over)
    return form


def _allocation(db, commune, **over):  # type: ignore[no-untyped-def]
    form = {"part": str(_part(db)), "area": commune, "year": "2030", "source": "local", "allocated": "1.500.000"}
    form.update(over)
    return form


def test_a_planner_adds_and_edits_a_target_in_their_commune(app, accounts, db):
    planner = client_for(app, accounts, "planner")
    assert planner.get("/planning/targets?lang=en").status_code == 200
    r = planner.post("/planning/targets", data=_target(accounts.commune_a))
    assert r.status_code == 302, r.get_data(as_text=True)
    row = db.execute(
        text("""SELECT t.id, t.value, t.updated_by FROM targets t JOIN admin_units u ON u.id = t.unit_id
                WHERE u.code = :c AND t.year = 2030 AND t.indicator = 'works_completed'"""),
        {"c": accounts.commune_a},
    ).one()
    assert row.value == 4 and row.updated_by == accounts.name("planner")
    page = planner.get(f"/planning/targets/{row.id}?lang=en").get_data(as_text=True)
    assert 'value="4"' in page and "entered" in page
    assert planner.post(f"/planning/targets/{row.id}", data=_target(accounts.commune_a, value="6")).status_code == 302
    assert db.scalar(text("SELECT value FROM targets WHERE id = :i"), {"i": row.id}) == 6
    # audited: who added it and who changed it
    actions = db.execute(
        text("SELECT action, actor FROM audit_log WHERE table_name = 'targets' AND row_id = :i ORDER BY id"),
        {"i": str(row.id)},
    ).all()
    assert [tuple(a) for a in actions] == [("insert", accounts.name("planner")), ("update", accounts.name("planner"))]
    # the same target twice is refused: edit the one there is
    before = _count(db, "targets")
    again = planner.post("/planning/targets?lang=en", data=_target(accounts.commune_a))
    assert again.status_code == 409 and f"target {row.id} already holds" in again.get_data(as_text=True)
    assert _count(db, "targets") == before


def test_a_planner_adds_and_edits_money(app, accounts, db):
    planner = client_for(app, accounts, "planner")
    r = planner.post("/planning/allocations", data=_allocation(db, accounts.commune_a))
    assert r.status_code == 302, r.get_data(as_text=True)
    row_id, allocated, disbursed = db.execute(
        text("""SELECT a.id, a.allocated_vnd, a.disbursed_vnd FROM allocations a JOIN admin_units u ON u.id = a.unit_id
                WHERE u.code = :c AND a.year = 2030"""),
        {"c": accounts.commune_a},
    ).one()
    assert (allocated, disbursed) == (1_500_000, 0)
    form = _allocation(db, accounts.commune_a, disbursed="700000")
    assert planner.post(f"/planning/allocations/{row_id}", data=form).status_code == 302
    assert db.scalar(text("SELECT disbursed_vnd FROM allocations WHERE id = :i"), {"i": row_id}) == 700_000


@pytest.mark.parametrize(
    ("kind", "over", "field", "reason"),
    [
        ("targets", {"indicator": "happiness"}, "indicator", "unknown indicator"),
        ("targets", {"value": "2.5"}, "value", "a count is a whole number"),
        ("targets", {"value": "lots"}, "value", "is not a number"),
        ("targets", {"year": "20x5"}, "year", "a year such as 2025"),
        ("targets", {"baseline_year": "2031"}, "baseline_year", "a year before"),
        ("allocations", {"allocated": "-5000000"}, "allocated", "money cannot be negative"),
        ("allocations", {"allocated": "1500000.5"}, "allocated", "money is a whole number of VND"),
        ("allocations", {"disbursed": "12,5"}, "disbursed", "money is a whole number of VND"),
        ("allocations", {"source": "lottery"}, "source", "unknown source"),
        ("allocations", {"part": "999999"}, "part", "no such project"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(app, accounts, db, kind, over, field, reason):
    planner = client_for(app, accounts, "planner")
    before = _count(db, kind)
    form = _target(accounts.commune_a, **over) if kind == "targets" else _allocation(db, accounts.commune_a, **over)
    r = planner.post(f"/planning/{kind}?lang=en", data=form)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert f'data-field="{field}"' in page and reason in page and "Nothing was saved." in page
    assert _count(db, kind) == before


def test_outside_the_planners_communes_nothing_is_entered_opened_or_changed(app, accounts, db):
    planner, admin = client_for(app, accounts, "planner"), client_for(app, accounts, "admin")
    before = _count(db, "targets")
    r = planner.post("/planning/targets?lang=en", data=_target(accounts.commune_b))
    assert r.status_code == 422 and 'data-field="area"' in r.get_data(as_text=True)
    assert _count(db, "targets") == before
    # the admin enters one for commune B: the planner of A can neither open nor change it
    assert admin.post("/planning/targets", data=_target(accounts.commune_b)).status_code == 302
    theirs = db.scalar(
        text("""SELECT t.id FROM targets t JOIN admin_units u ON u.id = t.unit_id
                WHERE u.code = :c AND t.year = 2030"""),
        {"c": accounts.commune_b},
    )
    assert planner.get(f"/planning/targets/{theirs}").status_code == 404
    assert planner.post(f"/planning/targets/{theirs}", data=_target(accounts.commune_a, value="1")).status_code == 404
    assert db.scalar(text("SELECT value FROM targets WHERE id = :i"), {"i": theirs}) == 4
    assert f'data-id="{theirs}"' not in planner.get("/planning/targets").get_data(as_text=True)
    assert f'data-id="{theirs}"' in admin.get("/planning/targets").get_data(as_text=True)
    # a role that does not plan may not enter anything
    for role in ("extension_worker", "evaluator"):
        c = client_for(app, accounts, role)
        assert c.get("/planning/targets").status_code == 403
        assert c.post("/planning/allocations", data=_allocation(db, accounts.commune_a)).status_code == 403


def test_a_signed_in_form_without_its_csrf_token_is_refused(app, accounts, db):
    create_user(db, "entry_planner", "planner", password="entry password 1", areas=[accounts.commune_a])
    db.flush()
    c = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    form = {"username": "entry_planner", "password": "entry password 1", "csrf_token": token}
    assert c.post("/login", data=form).status_code == 302
    before = _count(db, "targets")
    assert c.post("/planning/targets", data=_target(accounts.commune_a)).status_code == 400
    assert _count(db, "targets") == before
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/planning/targets").get_data(as_text=True)).group(1)
    assert c.post("/planning/targets", data={**_target(accounts.commune_a), "csrf_token": token}).status_code == 302
    assert _count(db, "targets") == before + 1


def test_the_map_layer_holds_the_callers_communes_with_their_worst_status(app, accounts, db):
    admin, planner = client_for(app, accounts, "admin"), client_for(app, accounts, "planner")
    body = admin.get("/api/planning/map").get_json()
    communes = db.scalar(text("SELECT count(*) FROM admin_units WHERE boundary = 'current' AND level = 'commune'"))
    assert len(body["features"]) == communes and body["year"] == 2025
    worst = dict(
        db.execute(
            text("""SELECT u.code, CASE WHEN bool_or(p.status = 'lagging') THEN 'lagging'
                                        WHEN bool_or(p.status = 'no_data') THEN 'no_data'
                                        WHEN bool_or(p.status = 'on_track') THEN 'on_track' ELSE 'met' END
                    FROM target_progress p JOIN admin_units u ON u.id = p.unit_id
                    WHERE p.year = 2025 AND p.status <> 'no_target' AND u.level = 'commune' GROUP BY u.code""")
        ).all()
    )
    got = {f["id"]: f["properties"]["status"] for f in body["features"]}
    assert {c: s for c, s in got.items() if s != "no_target"} == worst
    low = {f["id"] for f in body["features"] if f["properties"]["low_parts"] > 0}
    assert low and all(0 <= (f["properties"]["rate"] or 0) <= 1 for f in body["features"])
    mine = planner.get("/api/planning/map").get_json()["features"]
    assert [f["id"] for f in mine] == [accounts.commune_a]
    works = admin.get("/api/planning/map?indicator=works_completed").get_json()["features"]
    assert {f["properties"]["status"] for f in works} >= {"met", "lagging", "no_target"}
    assert admin.get("/api/planning/map?indicator=happiness").get_json()["error"]["parameter"] == "indicator"
    page = admin.get("/planning?lang=vi").get_data(as_text=True)
    assert "Bản đồ các xã" in page and "Nhập hoặc sửa mục tiêu" in page
    r = admin.get("/api/planning/map?year=20x5")
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "year"
