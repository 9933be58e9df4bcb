"""/healthz, /api/layers, /api/indicators, /api/openapi.json: good answers and clear 400s."""

import pytest

from tests.webapp.test_access import LIST_LAYERS

LAYERS = list(LIST_LAYERS)


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["database"].startswith("15") or body["database"][:2].isdigit()
    assert body["postgis"].startswith("3.")
    assert body["migration"]["current"] == body["migration"]["head"]
    assert set(body["jobs"]) >= {"place_households", "classify_households", "area_indicators"}
    assert all(j["status"] == "succeeded" for k, j in body["jobs"].items() if not k.startswith("test_"))


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_is_geojson(client, name):
    r = client.get(f"/api/layers/{name}?limit=5")
    assert r.status_code == 200
    fc = r.get_json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberReturned"] == len(fc["features"]) <= 5
    assert fc["numberMatched"] >= fc["numberReturned"] > 0
    f = fc["features"][0]
    assert f["type"] == "Feature" and f["geometry"]["type"] and "code" in f["properties"]
    if name == "households":  # personal fields stay out of the map layer
        assert "head_name" not in f["properties"] and "id_card_number" not in f["properties"]


def test_admin_units_levels_and_versions(client):
    def codes(level, boundaries):
        fc = client.get(f"/api/layers/admin_units?level={level}&boundaries={boundaries}&limit=1000").get_json()
        assert all(f["properties"]["level"] == level for f in fc["features"])
        return {f["properties"]["code"] for f in fc["features"]}

    assert len(codes("commune", "legacy")) == 194
    assert len(codes("commune", "current")) == 65
    assert len(codes("district", "legacy")) == 11
    assert codes("province", "current") == {"20"}
    fc = client.get("/api/layers/admin_units?level=commune&boundaries=current&limit=1").get_json()
    props = fc["features"][0]["properties"]
    assert {"code", "name", "level", "boundary", "area_type", "parent_code"} <= set(props)
    assert props["parent_code"] == "20"


def test_paging_and_bbox(client):
    first = client.get("/api/layers/admin_units?level=commune&boundaries=legacy&limit=50").get_json()
    second = client.get("/api/layers/admin_units?level=commune&boundaries=legacy&limit=50&offset=50").get_json()
    ids1 = {f["id"] for f in first["features"]}
    ids2 = {f["id"] for f in second["features"]}
    assert len(ids1) == len(ids2) == 50 and not ids1 & ids2
    assert any(link["rel"] == "next" for link in first["links"])
    assert any(link["rel"] == "prev" for link in second["links"])
    # a box around Lạng Sơn city holds some but not all communes
    small = client.get(
        "/api/layers/admin_units?level=commune&boundaries=legacy&bbox=106.70,21.80,106.80,21.90"
    ).get_json()
    assert 0 < small["numberMatched"] < 194
    far = client.get("/api/layers/water_schemes?bbox=100,10,100.1,10.1").get_json()
    assert far["numberMatched"] == 0 and far["features"] == []


def test_indicators(client):
    body = client.get("/api/indicators?indicator=poverty_rate&level=commune&boundaries=current&year=2024").get_json()
    assert (body["indicator"], body["level"], body["boundaries"], body["year"]) == (
        "poverty_rate",
        "commune",
        "current",
        2024,
    )
    assert len(body["rows"]) == 65
    row = body["rows"][0]
    assert set(row) == {"code", "name", "year", "value", "numerator", "denominator", "estimated"}
    assert all(r["estimated"] is False for r in body["rows"])  # every demo household has a point
    for r in body["rows"]:
        assert r["value"] == pytest.approx(100 * r["numerator"] / r["denominator"], abs=0.006)
    names = {r["name"] for r in body["rows"]}
    assert any("ạ" in n or "ơ" in n or "ư" in n for n in names)  # diacritics intact
    legacy = client.get("/api/indicators?level=district&boundaries=legacy&year=2021&indicator=median_income").get_json()
    assert len(legacy["rows"]) == 11 and all(r["value"] > 0 for r in legacy["rows"])


@pytest.mark.parametrize(
    "url, parameter, allowed_hint",
    [
        ("/api/layers/roads", "layer", "admin_units"),
        ("/api/layers/admin_units?level=village", "level", "commune"),
        ("/api/layers/admin_units?boundaries=2019", "boundaries", "legacy"),
        ("/api/layers/admin_units?level=district&boundaries=current", "level", "province"),
        ("/api/layers/water_schemes?bbox=1,2,3", "bbox", None),
        ("/api/layers/water_schemes?bbox=107,22,106,21", "bbox", None),
        ("/api/layers/water_schemes?bbox=a,b,c,d", "bbox", None),
        ("/api/layers/water_schemes?limit=0", "limit", None),
        ("/api/layers/water_schemes?limit=100000", "limit", None),
        ("/api/layers/water_schemes?limit=ten", "limit", None),
        ("/api/layers/water_schemes?offset=-1", "offset", None),
        ("/api/indicators?indicator=happiness", "indicator", "poverty_rate"),
        ("/api/indicators?level=hamlet", "level", "commune"),
        ("/api/indicators?boundaries=new", "boundaries", "current"),
        ("/api/indicators?level=district&boundaries=current", "level", "province"),
        ("/api/indicators?year=1999", "year", "2024"),
        ("/api/indicators?year=twenty", "year", "2021"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, url, parameter, allowed_hint):
    r = client.get(url)
    assert r.status_code == 400, r.get_data(as_text=True)
    err = r.get_json()["error"]
    assert err["code"] == 400 and err["parameter"] == parameter
    assert err["message"].startswith(parameter)
    if allowed_hint:
        assert allowed_hint in err["allowed"]
        assert allowed_hint in err["message"]


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == 404


def test_openapi_describes_the_api(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/layers/{name}", "/api/layers/{name}/{code}", "/api/indicators", "/api/me", "/healthz"} <= set(
        doc["paths"]
    )
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    params = {p["name"]: p for p in doc["paths"]["/api/layers/{name}"]["get"]["parameters"]}
    assert params["name"]["schema"]["enum"] == LAYERS
    ind = {p["name"]: p for p in doc["paths"]["/api/indicators"]["get"]["parameters"]}
    assert "poverty_rate" in ind["indicator"]["schema"]["enum"]


def test_map_page_and_languages(client):
    vi = client.get("/map?lang=vi")
    assert vi.status_code == 200 and 'lang="vi"' in vi.get_data(as_text=True)
    assert vi.headers.get("Set-Cookie", "").startswith("lang=vi")
    en = client.get("/map?lang=en").get_data(as_text=True)
    assert 'lang="en"' in en
    with client.get("/vendor/maplibre-gl/maplibre-gl.js") as js:
        assert js.status_code == 200 and js.mimetype in ("text/javascript", "application/javascript")
    assert client.get("/vendor/maplibre-gl/../../package.json").status_code == 404
    assert client.get("/vendor/other/x.js").status_code == 404


def test_map_page_preloads_its_whole_module_graph(client):
    # the modules are fetched at once from the page's head, not import by import: every module of
    # static/map is named there (a new one added and forgotten would fall back to the waterfall)
    import re
    from pathlib import Path

    page = client.get("/map").get_data(as_text=True)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="[^"]*/static/map/([\w-]+)\.js', page))
    modules = {p.stem for p in (Path(__file__).parents[2] / "webapp" / "static" / "map").glob("*.js")}
    assert preloaded == modules
    for name in sorted(preloaded):
        with client.get(f"/static/map/{name}.js") as js:
            assert js.status_code == 200


def test_error_page_for_people_has_no_trace(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert "Traceback" not in r.get_data(as_text=True)


def test_security_headers_and_error_page_language(client, anonymous):
    r = client.get("/map")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    page = anonymous.get("/nowhere?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page
