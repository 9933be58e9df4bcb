"""Who may see and change what: every route × every role × objects in two communes.

The test users of each role are scoped to commune A (admin: the province). Every
route the app registers must be classified below, so a new route fails this test
until someone decides how it is protected; the expected scope is computed from
geometry (points in A's polygon), independently of the placement table and the
policies under test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.cluster import database_url
from spatial.db import engine_for, transaction
from tests.conftest import ROLES, client_for

LIST_LAYERS = (
    "admin_units",
    "livelihood_models",
    "infrastructure_works",
    "water_schemes",
    "households",
    "fallback_risk",
    "villages",
)

#: endpoint -> how it is protected
ROUTES = {
    "static": "public",
    "vendor.asset": "public",
    "health.healthz": "public",
    "api.openapi": "public",
    "pages.index": "public",
    "auth.login": "public",
    "pages.map_page": "page",
    "pages.evaluation_page": "page",
    "api.evaluations": "scoped",
    "auth.password": "self",
    "auth.logout": "self",
    "api.me": "scoped",
    "api.layer": "scoped",
    "api.layer_feature": "scoped",
    # place search on the map: communes, villages, models, works and schemes in the caller's areas
    "api.search": "scoped",
    "api.indicators": "scoped",
    "ledger.chain_page": "page",
    "ledger.pass_on_page": "page",
    "ledger.api_chain": "scoped",
    "ledger.api_pass_on": "scoped",
    "models.model_page": "page",
    "models.due_page": "page",
    "models.api_status": "scoped",
    "models.api_due": "scoped",
    "admin.users": "admin",
    "admin.user": "admin",
    "admin.audit": "admin",
    "admin.duplicates": "admin",
    "admin.decide": "admin_write",
    "admin.poverty_standards": "admin",
    "admin.edit_standard": "admin_write",
    "admin.edit_deflator": "admin_write",
    "admin.create": "admin_write",
    "admin.update": "admin_write",
    "admin.disable": "admin_write",
    "admin.enable": "admin_write",
    "admin.token": "admin_write",
    "field.app_page": "page",
    "field.session_info": "page",
    "field.service_worker": "public",
    "field.manifest": "public",
    "field.icon": "public",
    "api.exposure": "scoped",
    "api.asset_exposure_view": "scoped",
    "areas.area_page": "page",
    "areas.api_area": "scoped",
    "admin.jobs": "admin",
    # the raster catalogue is province-wide reference data: every signed-in role reads it
    "api.rasters": "scoped",
    "api.raster": "scoped",
    "admin.rasters": "admin",
    "admin.upload_raster": "admin_write",
    "admin.retire_raster_view": "admin_write",
    "admin.restore_raster_view": "admin_write",
    "admin.run_job_now": "admin_write",
    "admin.forms": "admin",
    "admin.upload_form": "admin_write",
    "admin.form_file": "admin",
    "pages.indicators_page": "page",
    "pages.indicators_pivot_page": "page",
    "api.indicators_pivot": "scoped",
    "tiles.raster_tile": "scoped",
    "tiles.raster_legend": "scoped",
    "tiles.vector_tile": "scoped",
    "tiles.vector_tilejson": "scoped",
    # OGC API - Features: every answer is the caller's view (RLS), so every route needs a caller
    "ogc.landing": "scoped",
    "ogc.conformance": "scoped",
    "ogc.api": "scoped",
    "ogc.collections": "scoped",
    "ogc.collection_view": "scoped",
    "ogc.queryables_view": "scoped",
    "ogc.items_view": "scoped",
    "ogc.item_view": "scoped",
    # field forms are programme-wide reference data; visits are scoped by their target's commune
    "field_api.forms": "scoped",
    "field_api.form": "scoped",
    "field_api.visits": "scoped",
    "field_api.visit": "scoped",
    "field_api.create_visit": "scoped_write",
    "field_api.create_visits": "scoped_write",
    "field_api.photo": "scoped",
    "field_api.participants": "scoped",
    # submissions per form: every role reads its communes' visits; reviewers (admin, planner) set a status
    "submissions.index": "page",
    "submissions.table": "page",
    "submissions.review": "scoped_write",
    # imports: admins and planners (others 403, tests/webapp/test_import_page.py); a planner reads
    # their own imports only (row-level security on imports)
    "imports.imports_page": "planner",
    "imports.upload": "planner_write",
    "imports.report": "planner",
    "imports.progress": "planner",
    "imports.problems": "planner",
    # siting: planners and admins run; a scenario is seen by users who see all of its communes
    "siting.page": "page",
    "siting.scenarios": "scoped",
    "siting.run": "scoped_write",
    "siting.scenario": "scoped",
    "siting.scenario_layer": "scoped",
    # targets and money: read in scope, entered by planners and admins in their areas
    "planning.page": "page",
    "planning.progress": "scoped",
    "planning.disbursement": "scoped",
    "planning.map_layer": "scoped",
    "planning.api_import": "scoped_write",
    "planning.form_import": "scoped_write",
    "planning.targets_entry": "scoped_write",
    "planning.target_edit": "scoped_write",
    "planning.allocations_entry": "scoped_write",
    "planning.allocation_edit": "scoped_write",
    # a device writes with its own token (tests/webapp/test_sensors_api.py); SensorThings reads are
    # scoped by the devices' communes (tests/webapp/test_sta.py)
    "sensors_api.observations": "device",
    "sta.index": "scoped",
    "sta.resource": "scoped",
    "sensors.devices": "page",
    "sensors.device": "page",
    "sensors.scheme": "page",
    "sensors.alerts": "page",
    "sensors.upload": "scoped_write",
    "sensors.stream_readings": "scoped",
    "sensors.stream_csv": "scoped",
    "sensors.alerts_layer": "scoped",
    # devices and datastreams managed on pages by every role that writes, within its communes
    # (tests/webapp/test_sensor_manage.py); the evaluator gets 403 on the forms too
    "sensor_manage.new_device": "scoped_write",
    "sensor_manage.create_device": "scoped_write",
    "sensor_manage.edit_device": "scoped_write",
    "sensor_manage.save_device": "scoped_write",
    "sensor_manage.retire": "scoped_write",
    "sensor_manage.create_datastream": "scoped_write",
    "sensor_manage.save_datastream": "scoped_write",
    "sensor_manage.retire_stream": "scoped_write",
    "sensor_manage.token": "scoped_write",
    "sensor_manage.revoke": "scoped_write",
}


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), (
        f"unclassified: {sorted(endpoints - set(ROUTES))}; gone: {sorted(set(ROUTES) - endpoints)}"
    )


@pytest.fixture(scope="module")
def expected(demo_settings, accounts):
    """Codes each layer may show to a user scoped to commune A, from geometry alone."""
    with Session(engine_for(demo_settings)) as s:  # reads the committed demo, once for the module
        a = {"code": accounts.commune_a}
        households = set(
            s.execute(
                text("""
            SELECT h.code FROM households h JOIN admin_units c
              ON c.code = :code AND c.boundary = 'current' AND ST_Intersects(c.geom, h.geom)"""),
                a,
            ).scalars()
        )
        communes = set(
            s.execute(
                text("""
            SELECT o.id FROM admin_units n JOIN admin_crosswalk x ON x.new_unit_id = n.id
            JOIN admin_units o ON o.id = x.old_unit_id
            WHERE n.code = :code AND n.boundary = 'current'
            UNION SELECT id FROM admin_units WHERE code = :code AND boundary = 'current'
              AND level = 'commune'"""),
                a,
            ).scalars()
        )

        def by_commune(table):
            return set(
                s.execute(
                    text(f"SELECT code FROM {table} WHERE commune_id = ANY(:ids)"), {"ids": list(communes)}
                ).scalars()
            )

        everything = {
            t: set(s.execute(text(f"SELECT code FROM {t}")).scalars())
            for t in LIST_LAYERS
            if t not in ("admin_units", "fallback_risk")
        }
        flagged = set(
            s.execute(text("SELECT h.code FROM fallback_risk r JOIN households h ON h.id = r.household_id")).scalars()
        )
        everything["fallback_risk"] = flagged
        return {
            "households": households,
            "livelihood_models": by_commune("livelihood_models"),
            "infrastructure_works": by_commune("infrastructure_works"),
            "water_schemes": by_commune("water_schemes"),
            "villages": by_commune("villages"),
            "fallback_risk": households & flagged,
            "all": everything,
        }


def _all_codes(client, layer, extra=""):
    codes, offset = set(), 0
    while True:
        r = client.get(f"/api/layers/{layer}?limit=10000&offset={offset}{extra}")
        assert r.status_code == 200, r.get_data(as_text=True)
        body = r.get_json()
        codes |= {f["properties"]["code"] for f in body["features"]}
        offset += 10000
        if offset >= body["numberMatched"]:
            return codes


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("layer", [name for name in LIST_LAYERS if name != "admin_units"])
def test_layer_lists_leak_nothing(app, accounts, expected, role, layer):
    c = client_for(app, accounts, role)
    got = _all_codes(c, layer)
    if role == "admin":
        assert got == expected["all"][layer]
    else:
        assert got == expected[layer], f"{role} sees {len(got - expected[layer])} {layer} outside its scope"
        assert got, f"the matrix needs {layer} in commune A"


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_admin_units_and_indicators_scoped(app, accounts, role):
    c = client_for(app, accounts, role)
    current = _all_codes(c, "admin_units", "&level=commune&boundaries=current")
    assert current == {accounts.commune_a}
    assert _all_codes(c, "admin_units", "&level=province&boundaries=current") == set()
    rows = c.get("/api/indicators?level=commune&boundaries=current").get_json()["rows"]
    assert {r["code"] for r in rows} == {accounts.commune_a}
    assert c.get("/api/indicators?level=province&boundaries=current").get_json()["rows"] == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("layer", [name for name in LIST_LAYERS if name != "admin_units"])
def test_objects_outside_scope_are_404(app, accounts, expected, role, layer):
    c = client_for(app, accounts, role)
    inside = sorted(expected[layer])[0]
    outside = sorted(expected["all"][layer] - expected[layer])[0]
    assert c.get(f"/api/layers/{layer}/{inside}").status_code == 200
    r = c.get(f"/api/layers/{layer}/{outside}")
    assert r.status_code == (200 if role == "admin" else 404)
    if role != "admin":  # same answer as for a code that does not exist: no existence leak
        missing = c.get(f"/api/layers/{layer}/NO-SUCH-CODE")
        assert missing.status_code == 404
        assert set(r.get_json()["error"]) == set(missing.get_json()["error"])
    c_b = c.get(f"/api/layers/admin_units/{accounts.commune_b}")
    assert c_b.status_code == (200 if role == "admin" else 404)


def test_anonymous(anonymous, accounts):
    for url in (
        "/api/layers/households",
        "/api/indicators",
        "/api/me",
        f"/api/layers/admin_units/{accounts.commune_a}",
    ):
        r = anonymous.get(url)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == 401
    assert anonymous.get("/map").status_code == 302
    assert anonymous.get("/admin/users").status_code == 302
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/api/openapi.json").status_code == 200
    assert anonymous.get("/api/layers/households", headers={"Authorization": "Bearer shk_nope"}).status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_admin_routes(app, accounts, role):
    c = client_for(app, accounts, role)
    for url in ("/admin/users", f"/admin/users/{accounts.name('planner')}", "/admin/audit", "/admin/duplicates"):
        assert c.get(url).status_code == (200 if role == "admin" else 403)
    r = c.post(f"/admin/users/{accounts.name('planner')}/token")
    assert r.status_code == (200 if role == "admin" else 403)


def test_read_only_role_gets_403_on_writes(app, accounts):
    c = client_for(app, accounts, "evaluator")
    r = c.post("/admin/users", data={"name": "x", "role": "planner"})
    assert r.status_code == 403
    assert "read" in r.get_json()["error"]["message"] or "administrators" in r.get_json()["error"]["message"]


# --------------------------------------------------------------------- browser sessions
def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login(app, name, password):
    c = app.test_client()
    token = _csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": name, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    return c


def _new_planner(session) -> str:
    import secrets

    from spatial.accounts import create_user

    name = f"p_{secrets.token_hex(4)}"
    create_user(session, name, "planner", password="first password 1", areas=["20"])
    return name


@pytest.fixture
def person(db):
    """A fresh planner for tests that change passwords, sessions or limits."""
    name = _new_planner(db)
    db.flush()
    return name


@pytest.fixture
def committed_person(demo_settings):
    """A fresh planner committed to the demo: subprocesses sign in as it on their own connections."""
    with transaction(demo_settings) as s:
        return _new_planner(s)


def test_csrf_refused(app, person):
    c = _login(app, person, "first password 1")
    r = c.post("/logout")  # no token
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert c.get("/api/me").status_code == 200  # still signed in
    r = c.post("/account/password", data={"current": "x", "new": "y", "confirm": "y"})
    assert r.status_code == 400
    bad = _csrf(c.get("/map").get_data(as_text=True))[:-4] + "AAAA"
    assert c.post("/logout", data={"csrf_token": bad}).status_code == 400


def test_session_dies_at_logout(app, person):
    c = _login(app, person, "first password 1")
    cookie = c.get_cookie("sinhke_session").value
    token = _csrf(c.get("/map").get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("sinhke_session", cookie)
    assert replay.get("/api/me").status_code == 401


def test_sessions_die_at_password_change(app, person):
    c1 = _login(app, person, "first password 1")
    c2 = _login(app, person, "first password 1")
    old_cookie = c1.get_cookie("sinhke_session").value
    token = _csrf(c1.get("/account/password").get_data(as_text=True))
    r = c1.post(
        "/account/password",
        data={
            "current": "first password 1",
            "new": "second password 2",
            "confirm": "second password 2",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    assert c2.get("/api/me").status_code == 401
    replay = app.test_client()
    replay.set_cookie("sinhke_session", old_cookie)
    assert replay.get("/api/me").status_code == 401
    assert _login(app, person, "second password 2").get("/api/me").status_code == 200


def test_disabled_user_loses_sessions_and_tokens(app, db, person):
    from spatial.accounts import disable_user, get_user, issue_token

    c = _login(app, person, "first password 1")
    token = issue_token(db, get_user(db, person))
    db.flush()
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    disable_user(db, get_user(db, person))
    db.flush()
    assert c.get("/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    login = app.test_client()
    tok = _csrf(login.get("/login").get_data(as_text=True))
    assert (
        login.post("/login", data={"username": person, "password": "first password 1", "csrf_token": tok}).status_code
        == 401
    )


def test_login_rate_limit_holds_across_processes(committed_app, demo_settings, committed_person):
    app, person = committed_app, committed_person
    url = database_url(demo_settings)
    script = textwrap.dedent(f"""
        from spatial.settings import Settings
        from webapp import create_app
        app = create_app(Settings(database_url={url!r}))
        app.config["WTF_CSRF_ENABLED"] = False
        c = app.test_client()
        print(",".join(str(c.post("/login", data={{"username": {person!r}, "password": "wrong"}}).status_code)
                       for _ in range(3)))
    """)
    env = {**os.environ, "SINHKE_DATABASE_URL": url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    codes = ",".join(o for o, _ in outs).replace("\n", "").split(",")
    assert sorted(codes) == ["401"] * 5 + ["429"], codes  # the sixth failure, in either process
    login = app.test_client()
    tok = _csrf(login.get("/login").get_data(as_text=True))
    r = login.post("/login", data={"username": person, "password": "first password 1", "csrf_token": tok})
    assert r.status_code == 429  # even the right password waits out the window
    assert "Too many" in r.get_data(as_text=True) or "Quá nhiều" in r.get_data(as_text=True)


# --------------------------------------------------------------------- audit
def test_admin_edit_is_audited_with_old_and_new(app, accounts, db):
    c = client_for(app, accounts, "admin")
    target = accounts.name("planner")
    r = c.post(f"/admin/users/{target}", data={"role": "planner", "display_name": "Cán bộ Thử"})
    assert r.status_code == 303
    row = db.execute(
        text("""SELECT actor, action, old ->> 'display_name', new ->> 'display_name', new ? 'password_hash'
                            FROM audit_log WHERE table_name = 'users' ORDER BY id DESC LIMIT 1""")
    ).one()
    assert row == (accounts.name("admin"), "update", None, "Cán bộ Thử", False)
    page = c.get(f"/admin/audit?table=users&actor={accounts.name('admin')}").get_data(as_text=True)
    assert "Cán bộ Thử" in page


def test_audit_rows_cannot_be_changed(demo_settings):
    engine = engine_for(demo_settings)
    for role_sql in ("SET LOCAL ROLE sinhke_app", None):  # the app's role, then the owner
        for stmt in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with engine.connect() as conn, conn.begin():
                if role_sql:
                    conn.execute(text(role_sql))
                with pytest.raises(Exception, match="permission denied|append-only"):
                    conn.execute(text(stmt))
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL ROLE sinhke_app"))
        conn.execute(
            text(
                "INSERT INTO audit_log (actor, table_name, action, note) "
                "VALUES ('t', 'x', 'import', 'the app may add rows')"
            )
        )
        conn.rollback()


def test_status_pages_for_people_and_json_for_api(app, accounts, demo_settings):
    admin = client_for(app, accounts, "admin")
    dup = admin.post("/admin/users", data={"name": accounts.name("planner"), "role": "planner"})
    assert dup.status_code == 409
    assert admin.get("/api/layers/households/NOPE").get_json()["error"]["code"] == 404
    from dataclasses import replace

    from webapp import create_app

    small = create_app(replace(demo_settings, max_upload_mb=1))
    c = small.test_client()
    r = c.post("/login", data={"username": "x", "password": "y" * (2 * 1024 * 1024)})
    assert r.status_code == 413 and "Traceback" not in r.get_data(as_text=True)


def test_admin_update_with_unknown_role_changes_nothing(app, accounts, db):
    c = client_for(app, accounts, "admin")
    target = accounts.name("extension_worker")
    r = c.post(f"/admin/users/{target}", data={"role": "king", "display_name": "X"})
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "role"
    role, name = db.execute(text("SELECT role, display_name FROM users WHERE name = :n"), {"n": target}).one()
    assert (role, name) == ("extension_worker", None)


def test_me_says_the_extent_of_the_communes_the_caller_may_see(app, db, accounts):
    """A scoped user's map opens on their communes: /api/me gives the box around them (PostGIS),
    on both boundary versions; the admin, who sees everything, gets none (their map opens on the province)."""
    box = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM admin_units"
    commune = db.execute(text(f"{box} WHERE code = :c AND boundary = 'current') x"), {"c": accounts.commune_a}).one()
    province = db.execute(text(f"{box} WHERE level = 'province' AND boundary = 'current') x")).one()
    planner = client_for(app, accounts, "planner").get("/api/me").get_json()
    assert planner["sees_everything"] is False
    assert planner["extent"]["current"] == pytest.approx(list(commune), abs=1e-6)
    legacy = planner["extent"]["legacy"]  # the legacy communes linked to theirs: around the same place
    assert legacy is not None and legacy[0] < commune[2] and legacy[2] > commune[0]
    admin = client_for(app, accounts, "admin").get("/api/me").get_json()
    assert admin["sees_everything"] is True
    assert admin["extent"] == {"current": None, "legacy": None}
    assert province is not None
