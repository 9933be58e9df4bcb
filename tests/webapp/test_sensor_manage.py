"""Devices and datastreams managed on pages: added, edited and retired within the caller's communes,
refused with the field and the reason (nothing written), audited; a device's token issued (shown
once) and revoked; the read-only role refused; the browser forms need their CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from spatial.sensors import DeviceUnauthorized, device_for_token
from tests.conftest import client_for


def _centre(db, code: str) -> tuple[float, float]:
    row = db.execute(
        text("SELECT ST_X(centroid), ST_Y(centroid) FROM admin_units WHERE code = :c AND boundary = 'current'"),
        {"c": code},
    ).one()
    return float(row[0]), float(row[1])


def _station(lon: float, lat: float, **extra: str) -> dict[str, str]:
    return {"code": "pg-gauge", "name": "Page gauge", "kind": "station", "lon": str(lon), "lat": str(lat)} | extra


def _errors(body: str) -> dict[str, str]:
    return dict(re.findall(r'<li data-field="([^"]+)"><strong>[^<]*</strong>: ([^<]*)</li>', body))


def _things(db, code: str) -> int:
    return db.scalar(text("SELECT count(*) FROM sensor_things WHERE code = :c"), {"c": code})


def _placed(db, kind: str, table: str, commune: str, *, inside: bool = True):
    """The first row of ``table`` placed (asset_units) in ``commune``, or outside it: its id and code."""
    return db.execute(
        text(
            f"SELECT x.id, x.code FROM {table} x JOIN asset_units au ON au.asset_kind = :k AND au.asset_id = x.id "
            f"JOIN admin_units c ON c.id = au.commune_id WHERE (c.code = :c) = :inside ORDER BY x.code LIMIT 1"
        ),
        {"k": kind, "c": commune, "inside": inside},
    ).one()


def test_a_planner_adds_edits_and_retires_a_device_and_its_datastream(app, db, accounts):
    planner = client_for(app, accounts, "planner")
    assert planner.get("/sensors/devices/new").status_code == 200
    lon, lat = _centre(db, accounts.commune_a)
    r = planner.post("/sensors/devices", data=_station(lon, lat))
    assert r.status_code == 303 and r.headers["Location"].endswith("/sensors/devices/pg-gauge")
    thing = db.execute(
        text(
            "SELECT t.id, c.code FROM sensor_things t JOIN admin_units c ON c.id = t.commune_id WHERE t.code = 'pg-gauge'"
        )
    ).one()
    assert thing.code == accounts.commune_a
    audit = db.execute(
        text("SELECT actor, action FROM audit_log WHERE table_name = 'sensor_things' AND row_id = :r ORDER BY id"),
        {"r": str(thing.id)},
    ).all()
    assert [tuple(a) for a in audit] == [(accounts.name("planner"), "insert")]

    r = planner.post(
        "/sensors/devices/pg-gauge/datastreams",
        data={"quantity": "rainfall", "interval_s": "3600", "valid_min": "", "valid_max": "250"},
    )
    assert r.status_code == 303
    stream = db.execute(
        text("SELECT id, name, valid_min, valid_max, unit_symbol FROM sensor_datastreams WHERE thing_id = :t"),
        {"t": thing.id},
    ).one()
    assert (stream.name, stream.valid_min, stream.valid_max, stream.unit_symbol) == ("pg-gauge rainfall", 0, 250, "mm")
    page = planner.get("/sensors/devices/pg-gauge").get_data(as_text=True)
    assert f'id="chart-{stream.id}"' in page and 'id="datastream-form"' in page

    r = planner.post(
        f"/sensors/datastreams/{stream.id}/edit",
        data={"name": "Rain, hourly", "interval_s": "1800", "valid_min": "0", "valid_max": "300"},
    )
    assert r.status_code == 303
    assert db.execute(
        text("SELECT name, expected_interval_s, valid_max FROM sensor_datastreams WHERE id = :d"), {"d": stream.id}
    ).one() == ("Rain, hourly", 1800, 300)
    r = planner.post("/sensors/devices/pg-gauge/edit", data={"name": "Gauge by the school", "lon": "", "lat": ""})
    assert r.status_code == 303
    assert db.scalar(text("SELECT name FROM sensor_things WHERE id = :t"), {"t": thing.id}) == "Gauge by the school"
    actions = db.scalars(
        text("SELECT action FROM audit_log WHERE table_name = 'sensor_datastreams' AND row_id = :r"),
        {"r": str(stream.id)},
    ).all()
    assert actions == ["insert", "update"]

    assert planner.post(f"/sensors/datastreams/{stream.id}/retire").status_code == 303
    assert db.scalar(text("SELECT deleted_at IS NOT NULL FROM sensor_datastreams WHERE id = :d"), {"d": stream.id})
    assert planner.post("/sensors/devices/pg-gauge/retire").status_code == 303
    assert "pg-gauge" not in planner.get("/sensors").get_data(as_text=True)
    assert planner.get("/sensors/devices/pg-gauge").status_code == 404


def test_a_token_is_shown_once_and_revoked_on_the_page(app, db, accounts):
    planner = client_for(app, accounts, "planner")
    lon, lat = _centre(db, accounts.commune_a)
    assert planner.post("/sensors/devices", data=_station(lon, lat)).status_code == 303
    r = planner.post("/sensors/devices/pg-gauge/token")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token">(shd_[^<]+)</code>', r.get_data(as_text=True)).group(1)
    assert device_for_token(db, token).code == "pg-gauge"
    assert token not in planner.get("/sensors/devices/pg-gauge").get_data(as_text=True)  # shown once
    r = planner.post("/sensors/devices/pg-gauge/revoke?lang=en")
    assert r.status_code == 200 and "1 live tokens revoked" in r.get_data(as_text=True)
    with pytest.raises(DeviceUnauthorized, match="revoked"):
        device_for_token(db, token)
    # retiring a device revokes its tokens too
    token = issue = planner.post("/sensors/devices/pg-gauge/token").get_data(as_text=True)
    token = re.search(r'<code id="new-token">(shd_[^<]+)</code>', issue).group(1)
    planner.post("/sensors/devices/pg-gauge/retire")
    with pytest.raises(DeviceUnauthorized, match="revoked"):
        device_for_token(db, token)


def test_bad_forms_name_the_field_and_the_reason_and_write_nothing(app, db, accounts):
    planner = client_for(app, accounts, "planner")
    lon, lat = _centre(db, accounts.commune_a)
    r = planner.post("/sensors/devices?lang=en", data=_station(lon, lat) | {"name": "", "lat": "north", "kind": "x"})
    errors = _errors(r.get_data(as_text=True))
    assert r.status_code == 422 and set(errors) == {"name", "lat", "kind"}
    assert errors["lat"] == "north is not a number" and errors["name"] == "required"
    r = planner.post("/sensors/devices?lang=vi", data=_station(lon, lat, name=""))  # and in Vietnamese
    assert r.status_code == 422 and _errors(r.get_data(as_text=True))["name"] == "bắt buộc"
    # outside the planner's commune: a point in commune B, another commune's scheme
    lon_b, lat_b = _centre(db, accounts.commune_b)
    r = planner.post("/sensors/devices", data=_station(lon_b, lat_b))
    assert r.status_code == 422 and "lon" in _errors(r.get_data(as_text=True))
    scheme_b = _placed(db, "water_scheme", "water_schemes", accounts.commune_b).code
    r = planner.post(
        "/sensors/devices", data={"code": "pg-meter", "name": "M", "kind": "water_scheme", "attached": scheme_b}
    )
    assert r.status_code == 422 and "attached" in _errors(r.get_data(as_text=True))
    assert _things(db, "pg-gauge") == 0 and _things(db, "pg-meter") == 0
    # a device code taken
    assert planner.post("/sensors/devices", data=_station(lon, lat)).status_code == 303
    r = planner.post("/sensors/devices", data=_station(lon, lat))
    assert r.status_code == 422 and "exists already" in _errors(r.get_data(as_text=True))["code"]
    # datastreams: a word for the interval, an empty range, an unknown quantity
    for data, field in (
        ({"quantity": "flow", "interval_s": "often"}, "interval_s"),
        ({"quantity": "flow", "interval_s": "60", "valid_min": "5", "valid_max": "5"}, "valid_min"),
        ({"quantity": "humidity", "interval_s": "60"}, "quantity"),
        ({"quantity": "flow", "interval_s": "-5"}, "interval_s"),
    ):
        r = planner.post("/sensors/devices/pg-gauge/datastreams", data=data)
        assert r.status_code == 422 and field in _errors(r.get_data(as_text=True)), (data, r.get_data(as_text=True))
    assert (
        db.scalar(
            text(
                "SELECT count(*) FROM sensor_datastreams d JOIN sensor_things t ON t.id = d.thing_id WHERE t.code = 'pg-gauge'"
            )
        )
        == 0
    )
    # moving the device out of the commune is refused; the device stays where it was
    r = planner.post("/sensors/devices/pg-gauge/edit", data={"name": "G", "lon": str(lon_b), "lat": str(lat_b)})
    assert r.status_code == 422 and "lon" in _errors(r.get_data(as_text=True))
    assert db.scalar(text("SELECT name FROM sensor_things WHERE code = 'pg-gauge'")) == "Page gauge"


def test_other_communes_devices_and_the_read_only_role(app, db, accounts):
    outside = _placed(db, "device", "sensor_things", accounts.commune_a, inside=False).code
    planner = client_for(app, accounts, "planner")
    for url in (f"/sensors/devices/{outside}/edit", f"/sensors/devices/{outside}/token"):
        assert (planner.get(url) if url.endswith("edit") else planner.post(url)).status_code == 404
    assert planner.post(f"/sensors/devices/{outside}/retire").status_code == 404
    assert client_for(app, accounts, "admin").get(f"/sensors/devices/{outside}/edit").status_code == 200
    evaluator = client_for(app, accounts, "evaluator")
    assert evaluator.get("/sensors/devices/new").status_code == 403
    lon, lat = _centre(db, accounts.commune_a)
    assert evaluator.post("/sensors/devices", data=_station(lon, lat)).status_code == 403
    assert 'id="add-device"' not in evaluator.get("/sensors").get_data(as_text=True)


def test_the_browser_forms_need_their_csrf_token(app, db, accounts):
    browser = app.test_client()
    login = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    data = {"username": accounts.name("planner"), "password": accounts.password, "csrf_token": csrf}
    assert browser.post("/login", data=data).status_code == 302
    lon, lat = _centre(db, accounts.commune_a)
    assert browser.post("/sensors/devices", data=_station(lon, lat)).status_code == 400
    form = browser.get("/sensors/devices/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert browser.post("/sensors/devices", data=_station(lon, lat, csrf_token=csrf)).status_code == 303


def test_a_meter_at_a_scheme_of_the_commune_stands_at_the_scheme(app, db, accounts):
    scheme = _placed(db, "water_scheme", "water_schemes", accounts.commune_a)
    planner = client_for(app, accounts, "planner")
    data = {"code": "pg-meter", "name": "Meter", "kind": "water_scheme", "attached": scheme.code}
    assert planner.post("/sensors/devices", data=data).status_code == 303
    row = db.execute(
        text(
            "SELECT t.scheme_id, ST_Equals(t.geom, ST_PointOnSurface(s.geom)) AS at_scheme FROM sensor_things t "
            "JOIN water_schemes s ON s.id = t.scheme_id WHERE t.code = 'pg-meter'"
        )
    ).one()
    assert row.scheme_id == scheme.id and row.at_scheme
    page = planner.get(f"/sensors/schemes/{scheme.id}").get_data(as_text=True)
    assert "pg-meter" in page
