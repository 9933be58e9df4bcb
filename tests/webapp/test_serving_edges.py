"""The serving path's smaller edges (issue #15): CSRF beside a token, 401 before CSRF, login limits
per address and behind a proxy, the password form throttled, Allow on a 405, 503 while the database
is away, the OpenAPI document complete, GeoJSON served as GeoJSON, /healthz public only as liveness."""

from __future__ import annotations

import pytest

from spatial.settings import Settings
from tests.conftest import request_sessions
from tests.webapp import test_access
from tests.webapp.test_access import _csrf, _login

person = test_access.person  # the fresh planner fixture, shared


def test_a_bearer_header_beside_a_session_cookie_does_not_skip_the_csrf_check(app, person):
    c = _login(app, person, "first password 1")
    # the cookie alone and no CSRF token: refused
    assert c.post("/account/password", data={"current": "x", "new": "y", "confirm": "y"}).status_code == 400
    # a made-up token beside the cookie neither borrows the cookie's user nor skips the check
    r = c.post(
        "/account/password",
        data={"current": "x", "new": "y", "confirm": "y"},
        headers={"Authorization": "Bearer anything"},
    )
    assert r.status_code == 401


def test_an_unauthenticated_write_is_401_not_a_csrf_400(anonymous):
    assert anonymous.post("/api/visits", json={}).status_code == 401
    assert anonymous.post("/admin/users", data={"name": "x"}).status_code == 401


def test_wrong_passwords_from_one_address_do_not_lock_the_user_out_at_theirs(app, person):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    tok = _csrf(attacker.get("/login").get_data(as_text=True))
    codes = [
        attacker.post("/login", data={"username": person, "password": "guess", "csrf_token": tok}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    # the real user, at their own address, still signs in
    _login(app, person, "first password 1")


def test_behind_a_trusted_proxy_the_limit_counts_the_forwarded_address(demo_settings, connection, person):
    from dataclasses import replace

    from webapp import create_app

    proxied = create_app(replace(demo_settings, trusted_proxies=1), session_factory=request_sessions(connection))
    proxied.config["WTF_CSRF_ENABLED"] = False
    c = proxied.test_client()

    def attempt(client_address: str) -> int:
        return c.post(
            "/login",
            data={"username": person, "password": "guess"},
            headers={"X-Forwarded-For": client_address},
        ).status_code

    assert [attempt("198.51.100.7") for _ in range(6)] == [401] * 5 + [429]
    assert attempt("198.51.100.8") == 401  # another client behind the same proxy is not refused
    # without the setting, the forwarded header is not believed (anyone could send one)
    plain = create_app(demo_settings, session_factory=request_sessions(connection))
    plain.config["WTF_CSRF_ENABLED"] = False
    d = plain.test_client()
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"):
        d.post("/login", data={"username": person, "password": "guess"}, headers={"X-Forwarded-For": address})
    r = d.post("/login", data={"username": person, "password": "guess"}, headers={"X-Forwarded-For": "192.0.2.6"})
    assert r.status_code == 429


def test_the_password_form_is_throttled_like_the_login(app, person):
    c = _login(app, person, "first password 1")
    tok = _csrf(c.get("/account/password").get_data(as_text=True))
    form = {"current": "wrong", "new": "another password 2", "confirm": "another password 2", "csrf_token": tok}
    codes = [c.post("/account/password", data=form).status_code for _ in range(6)]
    assert codes == [403] * 5 + [429]


def test_a_405_says_what_is_allowed(client):
    r = client.post("/api/openapi.json")
    assert r.status_code == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


def test_a_database_that_is_away_gives_503_with_retry_after(demo_settings):
    from dataclasses import replace

    from webapp import create_app

    away = create_app(replace(demo_settings, database_url="postgresql+psycopg://nobody@127.0.0.1:9/none"))
    c = away.test_client()
    for url in ("/api/me", "/healthz", "/login"):
        r = c.get(url)
        assert r.status_code == 503, (url, r.status_code)
        assert r.headers["Retry-After"].isdigit()


def test_every_api_route_is_in_the_openapi_document(app, anonymous):
    import re

    def shape(path: str) -> str:  # parameter names may differ between the two: compare the shape
        return re.sub(r"[{<][^}>]*[}>]", "{}", path)

    documented = {shape(p) for p in anonymous.get("/api/openapi.json").get_json()["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint != "api.openapi":
            assert shape(rule.rule) in documented, f"{rule.rule} ({rule.endpoint}) is missing from /api/openapi.json"


def test_layers_are_served_as_geojson(client):
    r = client.get("/api/layers/water_schemes?limit=1")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    assert r.get_json()["type"] == "FeatureCollection"
    code = r.get_json()["features"][0]["properties"]["code"]
    assert client.get(f"/api/layers/water_schemes/{code}").mimetype == "application/geo+json"


def test_healthz_tells_strangers_only_that_it_lives(anonymous, client):
    public = anonymous.get("/healthz")
    assert public.status_code == 200 and public.get_json() == {"status": "ok"}
    full = client.get("/healthz").get_json()  # the test admin
    assert {"database", "postgis", "migration", "jobs"} <= set(full)


def test_settings_refuse_a_port_that_is_not_a_number(monkeypatch):
    from spatial.settings import SettingsError

    monkeypatch.setenv("SINHKE_PG_PORT", "five")
    with pytest.raises(SettingsError, match="SINHKE_PG_PORT"):
        Settings.from_env()
