"""SensorThings API v1.1 at /sta/v1.1: entity sets, navigation, paging and $filter against the database,
scoped by commune; and FROST's own Python client reading things, datastreams and a month of observations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from ingest.sensors import ingest_observations
from spatial.db import transaction
from tests.sensor_setup import Devices, make_devices, remove_devices

JULY = datetime(2026, 7, 1, tzinfo=UTC)
STA = "/sta/v1.1"


def _load_july(session, d: Devices) -> None:
    """July 2026 hourly for the flow meter (value = hour of the month), and a day of June before it."""
    rows = [
        {"datastream": d.flow, "phenomenon_time": (JULY + timedelta(hours=h)).isoformat(), "value": float(h % 400)}
        for h in range(-24, 31 * 24)
    ]
    assert ingest_observations(session, rows, channel="demo").inserted == len(rows)


@pytest.fixture
def sensors(db, accounts) -> Devices:
    d = make_devices(db, accounts.commune_a)
    _load_july(db, d)
    db.flush()
    return d


def _get(client, url: str) -> dict:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.data[:300])
    return r.json


def _path(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + "?" + parts.query


def test_entity_sets_navigation_and_expand(client, sensors):
    root = _get(client, STA)
    assert [s["name"] for s in root["value"]] == [
        "Things",
        "Locations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
    ]
    things = _get(client, f"{STA}/Things?$filter=name eq 'Test meter'&$expand=Datastreams,Locations")["value"]
    assert len(things) == 1
    thing = things[0]
    assert thing["properties"]["code"] == sensors.meter and thing["properties"]["kind"] == "water_scheme"
    assert [d["@iot.id"] for d in thing["Datastreams"]] == [sensors.flow, sensors.pressure]
    assert thing["Locations"][0]["location"]["type"] == "Point"
    ds = _get(client, f"{STA}/Datastreams({sensors.flow})?$expand=Thing,ObservedProperty")
    assert ds["unitOfMeasurement"]["symbol"] == "m³/h" and ds["properties"]["expectedInterval"] == 900
    assert ds["Thing"]["@iot.id"] == thing["@iot.id"] and ds["ObservedProperty"]["name"] == "Flow rate"
    assert ds["phenomenonTime"] == "2026-06-30T00:00:00.000Z/2026-07-31T23:00:00.000Z"
    assert _get(client, f"{STA}/Datastreams({sensors.flow})/Thing")["name"] == "Test meter"
    sensor = _get(client, f"{STA}/Datastreams({sensors.flow})/Sensor")
    assert sensor["name"] == "generic flow sensor"
    first = _get(client, f"{STA}/Datastreams({sensors.flow})/Observations?$top=1")["value"][0]
    assert first["phenomenonTime"] == "2026-06-30T00:00:00.000Z"
    one = _get(client, f"{STA}/Observations('{first['@iot.id']}')?$expand=Datastream")
    assert one["result"] == first["result"] and one["Datastream"]["@iot.id"] == sensors.flow
    only = _get(client, f"{STA}/Things({thing['@iot.id']})/Datastreams?$select=name,@iot.id&$orderby=name desc")
    assert only["value"] == [
        {"@iot.id": sensors.pressure, "name": f"{sensors.meter} pressure"},
        {"@iot.id": sensors.flow, "name": f"{sensors.meter} flow"},
    ]


def test_a_day_pages_by_next_link_and_filters_compare_time_and_value(client, sensors):
    day = (
        f"{STA}/Datastreams({sensors.flow})/Observations?$count=true&$top=10&$orderby=phenomenonTime asc"
        "&$filter=phenomenonTime ge 2026-07-02T00:00:00Z and phenomenonTime lt 2026-07-03T00:00:00Z"
    )
    page = _get(client, day)
    assert page["@iot.count"] == 24 and len(page["value"]) == 10
    seen = [o["phenomenonTime"] for o in page["value"]]
    while "@iot.nextLink" in page:
        page = _get(client, _path(page["@iot.nextLink"]))
        seen += [o["phenomenonTime"] for o in page["value"]]
    assert seen == [f"2026-07-02T{h:02d}:00:00.000Z" for h in range(24)]
    high = _get(
        client,
        f"{STA}/Observations?$filter=Datastream/@iot.id eq {sensors.flow} and (result ge 395 or "
        "not (result gt 2))&$orderby=result desc&$top=1000",
    )["value"]
    results = [o["result"] for o in high]
    assert results == sorted(results, reverse=True)
    assert set(results) == {399.0, 398.0, 397.0, 396.0, 395.0, 2.0, 1.0, 0.0}
    assert len(results) == 5 * 2 + 3 * 2  # 744 + 24 hours: two cycles of 0..399 reach 395..399 and 0..2


@pytest.mark.parametrize(
    "query",
    [
        "$filter=result gt 'x'",
        "$filter=phenomenonTime gt 5",
        "$filter=value gt 1",
        "$filter=result gt",
        "$filter=((result gt 1)",
        "$filter=result gt 1; DROP TABLE sensor_things",
        "$filter=result like 1",
        "$top=-1",
        "$top=100000",
        "$orderby=value",
        "$select=password",
        "$expand=Things",
        "$count=maybe",
        "$search=x",
    ],
)
def test_bad_query_options_are_400_naming_the_option(client, query):
    r = client.get(f"{STA}/Observations?{query}")
    assert r.status_code == 400, (query, r.status_code, r.json)
    assert r.json["error"]["parameter"] == query.split("=")[0]


def test_each_user_reads_only_their_communes_sensors(app, db, accounts, sensors):
    from tests.conftest import client_for

    elsewhere = make_devices(db, accounts.commune_b, prefix="b")
    db.flush()
    planner = client_for(app, accounts, "planner")  # scoped to commune A
    names = {t["properties"]["code"] for t in _get(planner, f"{STA}/Things?$top=1000")["value"]}
    assert {sensors.meter, sensors.gauge, sensors.other} <= names and elsewhere.meter not in names
    assert planner.get(f"{STA}/Datastreams({elsewhere.flow})/Observations").status_code == 404
    assert _get(planner, f"{STA}/Datastreams({sensors.flow})/Observations?$count=true&$top=1")["@iot.count"] == 768
    assert planner.get(f"{STA}/Nothing").status_code == 404
    assert app.test_client().get(f"{STA}/Things").status_code == 401


# ----------------------------------------------------------------------------- the real client
@pytest.fixture(scope="module")
def committed_sensors(demo_settings, accounts) -> Iterator[Devices]:
    """Devices and July committed for the live server's own connections; removed afterwards."""
    with transaction(demo_settings) as s:
        d = make_devices(s, accounts.commune_a, prefix="frost")
        _load_july(s, d)
    yield d
    with transaction(demo_settings) as s:  # committed above, so removed by hand
        remove_devices(s, [d.meter, d.gauge, d.other])


def _bearer(token: str):  # type: ignore[no-untyped-def]
    """frost-sta-client's auth hook, sending our API token instead of a user name and password."""
    from frost_sta_client.service.auth_handler import AuthHandler

    class Bearer(AuthHandler):  # type: ignore[misc]
        def add_auth_header(self):  # type: ignore[no-untyped-def]
            def sign(request):  # type: ignore[no-untyped-def]
                request.headers["Authorization"] = f"Bearer {token}"
                return request

            return sign

    return Bearer()


# the client's own use of furl (not ours) is deprecated there
@pytest.mark.filterwarnings("ignore:furl.pathstr is deprecated:DeprecationWarning")
def test_frost_client_reads_things_datastreams_and_a_month(live_server, accounts, committed_sensors):
    import frost_sta_client as fsc

    service = fsc.SensorThingsService(f"{live_server}{STA}", auth_handler=_bearer(accounts.tokens["planner"]))
    things = {t.name: t for t in service.things().query().filter("name eq 'Test meter'").list()}
    assert "Test meter" in things
    streams = list(service.datastreams().query().filter("properties/quantity eq 'flow'").top(1000).list())
    flow = next(s for s in streams if s.id == committed_sensors.flow)
    assert flow.unit_of_measurement.symbol == "m³/h"
    month = (
        service.observations()
        .query()
        .filter(
            f"Datastream/@iot.id eq {flow.id} and phenomenonTime ge 2026-07-01T00:00:00Z "
            "and phenomenonTime lt 2026-08-01T00:00:00Z"
        )
        .orderby("phenomenonTime", "asc")
        .top(500)
        .list()
    )
    values = [o.result for o in month]  # the client follows @iot.nextLink across pages
    assert len(values) == 31 * 24
    assert values[:3] == [0.0, 1.0, 2.0] and values[-1] == float((31 * 24 - 1) % 400)


@pytest.mark.parametrize(
    ("path", "args"),
    [
        ("Datastreams({flow})/Observations", {"$top": "50", "$skip": "10", "$count": "true"}),
        ("Observations", {"$filter": "result ge 300", "$orderby": "phenomenonTime desc", "$top": "5"}),
        ("Datastreams({flow})/Observations", {"$select": "result,phenomenonTime", "$top": "3"}),
        ("Things", {"$select": "@iot.id,name", "$orderby": "name"}),
        ("Datastreams", {}),
        ("Things", {"$filter": "name eq 'no such thing'"}),
    ],
)
def test_pages_built_by_postgresql_are_the_pages_python_builds(db, sensors, path, args):
    """read_json builds a page without $expand in SQL; it must be read()'s answer, link for link."""
    import json

    from spatial.sta import read, read_json

    path = path.format(flow=sensors.flow)
    base = "http://sinhke.test/sta/v1.1"
    assert json.loads(read_json(db, path, args, base)) == read(db, path, args, base)


def test_an_api_token_request_runs_without_jit(db, accounts):
    """The scope policies push a month of readings' estimate past the JIT thresholds, and compiling
    took ~450 ms where the read takes ~10: a Bearer token's transaction turns JIT off, as a
    browser session's does (spatial.accounts.apply_scope)."""
    from sqlalchemy import text

    from spatial.accounts import apply_scope, token_principal

    apply_scope(db, None)
    db.execute(text("SET LOCAL jit = on"))
    assert token_principal(db, accounts.tokens["admin"]) is not None
    assert db.scalar(text("SHOW jit")) == "off"
