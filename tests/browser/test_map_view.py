"""The /map page's view in headless Chromium: the view in the URL survives a reload, the year
slider, search flying the map to a place, clusters and commune labels at low zoom, and how the
page looks at 1366 px and on a 390 px phone in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from spatial.db import transaction
from tests.browser.test_map import (  # noqa: F401 - fixtures
    READY_TIMEOUT_MS,
    SCREENSHOTS,
    canvas_origin,
    choose_year,
    console_errors,
    open_map,
    page,
    popup_text,
    survey_years,
    wait_until_ready,
)

pytestmark = pytest.mark.browser

VIEW = "() => { const m = window.sinhkeMap; const c = m.getCenter(); return [m.getZoom(), c.lng, c.lat]; }"


def test_the_view_in_the_url_survives_a_reload(page: Page, live_server: str, console_errors: list[str]) -> None:  # noqa: F811
    open_map(page, live_server)
    years = survey_years(page)
    assert len(years) > 1
    page.select_option("#boundary-select", "legacy")
    page.select_option("#indicator-select", "near_poor_rate")
    choose_year(page, years[0])
    wait_until_ready(page, boundaries="legacy", year=int(years[0]), indicator="near_poor_rate")
    page.uncheck("input[data-layer-group='water']")
    page.evaluate("() => window.sinhkeMap.jumpTo({center: [106.7612, 21.8537], zoom: 10.5})")
    page.wait_for_function("() => window.location.hash.includes('map=10.50/')")
    shared = page.url
    assert f"year={years[0]}" in shared and "boundaries=legacy" in shared and "indicator=near_poor_rate" in shared

    page.reload()
    wait_until_ready(page, boundaries="legacy", year=int(years[0]), indicator="near_poor_rate")
    zoom, lng, lat = page.evaluate(VIEW)
    assert zoom == pytest.approx(10.5, abs=0.01)
    assert (lng, lat) == (pytest.approx(106.7612, abs=1e-3), pytest.approx(21.8537, abs=1e-3))
    assert page.input_value("#year-slider") == years[0]
    assert page.text_content("#year-value") == years[0]
    assert not page.is_checked("input[data-layer-group='water']")
    assert page.evaluate("() => window.sinhkeMap.getLayoutProperty('water-schemes', 'visibility')") == "none"
    assert page.url == shared

    # a link with nonsense in it opens the default view, not an error (another query: a new page)
    page.goto(f"{live_server}/map?lang=vi#map=99/x/1&year=1200&boundaries=<b>&indicator=drop;&layers=%3Cscript%3E")
    wait_until_ready(page, boundaries="current", year=int(years[-1]), indicator="poverty_rate")
    assert console_errors == []


@pytest.fixture(scope="module")
def places(demo_settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with transaction(demo_settings) as s:
        model = s.execute(
            text("""SELECT code, ST_X(geom), ST_Y(geom) FROM livelihood_models
                    WHERE deleted_at IS NULL AND GeometryType(geom) = 'POINT' ORDER BY id LIMIT 1""")
        ).one()
        # a legacy commune whose name no 2025 commune has
        legacy = s.execute(
            text("""SELECT l.name FROM admin_units l WHERE l.level = 'commune' AND l.boundary = 'legacy'
                    AND NOT EXISTS (SELECT 1 FROM admin_units c WHERE c.boundary = 'current' AND c.name = l.name)
                    ORDER BY l.id LIMIT 1""")
        ).scalar_one()
    return {"model": model[0], "lng": model[1], "lat": model[2], "legacy": legacy}


def test_search_flies_to_a_model_and_to_a_legacy_commune(
    page: Page,  # noqa: F811
    live_server: str,
    console_errors: list[str],  # noqa: F811
    places: dict,
) -> None:
    open_map(page, live_server)
    page.fill("#map-search-input", places["model"].lower())
    first = page.locator("#map-search-results button").first
    first.wait_for(timeout=10_000)
    assert places["model"] in first.inner_text()
    first.click()
    page.wait_for_function(
        """([lng, lat]) => { const m = window.sinhkeMap; const c = m.getCenter();
             return !m.isMoving() && m.getZoom() >= 14 && Math.abs(c.lng - lng) < 1e-4 && Math.abs(c.lat - lat) < 1e-4; }""",
        arg=[places["lng"], places["lat"]],
        timeout=20_000,
    )

    # a commune of the legacy boundaries switches the map to them
    page.fill("#map-search-input", places["legacy"])
    result = page.locator("#map-search-results button", has_text="legacy boundaries").first
    result.wait_for(timeout=10_000)
    result.click()
    wait_until_ready(page, boundaries="legacy")
    assert page.input_value("#boundary-select") == "legacy"

    page.fill("#map-search-input", "zzzz-no-such-place")
    page.wait_for_function("() => document.getElementById('map-search-status').textContent.includes('zzzz')")
    assert page.locator("#map-search-results li").count() == 0
    assert console_errors == []


CLUSTERS = """() => {
  const map = window.sinhkeMap;
  const clusters = map.queryRenderedFeatures({layers: ['models-clusters', 'works-clusters', 'water-clusters']});
  return {
    clusters: clusters.length,
    counts: clusters.map((f) => f.properties.point_count),
    labels: map.queryRenderedFeatures({layers: ['communes-labels']}).map((f) => f.properties.name),
    zoom: map.getZoom(),
  };
}"""


def test_points_are_clustered_and_communes_labelled_at_low_zoom(
    page: Page,  # noqa: F811
    live_server: str,
    console_errors: list[str],  # noqa: F811
) -> None:
    page.goto(f"{live_server}/map?lang=en#map=9.00/21.85/106.75")
    wait_until_ready(page)
    page.wait_for_function("() => window.sinhkeMap.areTilesLoaded() && !window.sinhkeMap.isMoving()")
    seen = page.evaluate(CLUSTERS)
    assert seen["clusters"] > 0 and all(n > 1 for n in seen["counts"])
    # the legend says what a disc with a number is, in each point layer's colour
    for group in ("models", "works", "water"):
        assert "click to zoom in" in page.locator(f"#legend-{group}").inner_text()
        assert page.locator(f"#legend-{group} .legend-cluster").count() == 1
    assert len(seen["labels"]) > 3 and all(seen["labels"])
    # a click on a cluster zooms in
    target = page.evaluate(
        """() => { const f = window.sinhkeMap.queryRenderedFeatures({layers: ['works-clusters', 'water-clusters']})[0];
                   const p = window.sinhkeMap.project(f.geometry.coordinates); return [p.x, p.y]; }"""
    )
    box = page.locator("#map canvas.maplibregl-canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + target[0], box["y"] + target[1])
    page.wait_for_function("(z) => window.sinhkeMap.getZoom() > z + 1.5", arg=seen["zoom"], timeout=10_000)
    assert console_errors == []


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_screenshots(browser: Browser, live_server: str, accounts, lang: str, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()  # noqa: F811
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("admin"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(f"{live_server}/map")
    page.goto(f"{live_server}/map?lang={lang}")
    page.wait_for_function("() => document.body.dataset.mapReady === '1'", timeout=READY_TIMEOUT_MS)
    assert page.locator("#year-slider").is_visible() or width < 600  # the panel scrolls on a phone
    page.fill("#map-search-input", "chi lang")  # the search's results in the picture too
    page.locator("#map-search-results button").first.wait_for(timeout=10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"map-{lang}-{width}.png"), full_page=False)
    context.close()


# Areas of a level whose rendered indicator value differs from the API's row at that level.
LEVEL_MISMATCHES = """async ([layer, level]) => {
  const map = window.sinhkeMap;
  const params = new URLSearchParams({
    indicator: document.body.dataset.mapIndicator, level,
    boundaries: document.body.dataset.mapBoundaries, year: document.body.dataset.mapYear,
  });
  const response = await fetch(`/api/indicators?${params}`);
  const rows = (await response.json()).rows;
  const expected = new Map(rows.map((row) => [String(row.code), row.value]));
  const features = map.queryRenderedFeatures({layers: [layer]});
  const mismatches = features.filter((f) => (expected.get(String(f.id)) ?? null) !== (f.state.value ?? null))
    .map((f) => [f.id, expected.get(String(f.id)), f.state.value]);
  return {rendered: features.length, withValue: features.filter((f) => typeof f.state.value === 'number').length,
          rows: rows.length, mismatches};
}"""

FILL_VISIBILITY = """() => Object.fromEntries(['communes-fill', 'districts-fill', 'province-fill']
  .map((id) => [id, window.sinhkeMap.getLayoutProperty(id, 'visibility') || 'visible']))"""


def wait_for_level(page: Page, level: str) -> None:  # noqa: F811
    page.wait_for_function(
        "(level) => document.body.dataset.mapReady === '1' && document.body.dataset.mapLevel === level",
        arg=level,
        timeout=READY_TIMEOUT_MS,
    )


def test_districts_and_the_province_as_choropleths(
    page: Page,  # noqa: F811
    live_server: str,
    console_errors: list[str],  # noqa: F811
) -> None:
    open_map(page, live_server)
    # districts were abolished on 1 July 2025: offered with the legacy boundaries only
    assert page.locator("#level-select option[value='district']").is_disabled()
    page.select_option("#boundary-select", "legacy")
    wait_until_ready(page, boundaries="legacy")
    assert page.locator("#level-select option[value='district']").is_enabled()
    page.select_option("#level-select", "district")
    wait_for_level(page, "district")
    assert page.evaluate(FILL_VISIBILITY) == {
        "communes-fill": "none",
        "districts-fill": "visible",
        "province-fill": "none",
    }
    page.wait_for_function("() => window.sinhkeMap.areTilesLoaded()")
    seen = page.evaluate(LEVEL_MISMATCHES, ["districts-fill", "district"])
    assert seen["rendered"] > 0 and seen["rows"] > 1, seen
    assert seen["withValue"] > 0 and seen["mismatches"] == [], seen
    assert "district" in page.locator("#communes-label").inner_text()
    assert "districts shown" in page.locator("#map-summary").inner_text()
    assert "level=district" in page.url

    # a district's popup says what it is and shows its rate
    point = page.evaluate(
        """() => { const m = window.sinhkeMap; const c = m.getCanvas();
                   const f = m.queryRenderedFeatures([c.clientWidth / 2, c.clientHeight / 2], {layers: ['districts-fill']});
                   return f.length ? [c.clientWidth / 2, c.clientHeight / 2, f[0].properties.name] : null; }"""
    )
    assert point is not None
    # whatever is drawn over the district there (a model, a work) would open its own popup
    page.uncheck("input[data-layer-group='models']")
    page.uncheck("input[data-layer-group='works']")
    page.uncheck("input[data-layer-group='water']")
    x0, y0 = canvas_origin(page)
    page.mouse.click(x0 + point[0], y0 + point[1])
    popup = popup_text(page)
    assert "District (before 1 July 2025)" in popup and point[2] in popup and "%" in popup

    # back on the 2025 boundaries there is no district level: the communes are coloured again
    page.keyboard.press("Escape")
    page.select_option("#boundary-select", "current")
    wait_until_ready(page, boundaries="current")
    wait_for_level(page, "commune")
    assert page.input_value("#level-select") == "commune"

    # the whole province: one area, its rate in the summary, and it survives a reload
    page.select_option("#level-select", "province")
    wait_for_level(page, "province")
    seen = page.evaluate(LEVEL_MISMATCHES, ["province-fill", "province"])
    assert seen["rendered"] >= 1 and seen["rows"] == 1 and seen["mismatches"] == [], seen
    assert "The whole province in" in page.locator("#map-summary").inner_text()
    page.reload()
    wait_for_level(page, "province")
    assert page.input_value("#level-select") == "province"
    assert page.evaluate(FILL_VISIBILITY)["province-fill"] == "visible"
    assert console_errors == []


def test_the_hazard_layer_is_in_the_shared_link(
    page: Page,  # noqa: F811
    live_server: str,
    console_errors: list[str],  # noqa: F811
) -> None:
    open_map(page, live_server, lang="vi")
    page.wait_for_function("() => document.querySelectorAll('#hazard-select option').length > 1")
    raster = page.eval_on_selector_all("#hazard-select option", "(o) => o.map((x) => x.value).filter(Boolean)")[0]
    page.select_option("#hazard-select", raster)
    page.wait_for_function("(id) => document.body.dataset.hazardRaster === id", arg=raster, timeout=READY_TIMEOUT_MS)
    page.locator("#hazard-opacity").fill("40")
    page.locator("#hazard-opacity").dispatch_event("change")
    page.wait_for_function("(id) => window.location.hash.includes(`hazard=${id}&opacity=40`)", arg=raster)
    page.reload()
    page.wait_for_function("(id) => document.body.dataset.hazardRaster === id", arg=raster, timeout=READY_TIMEOUT_MS)
    assert page.input_value("#hazard-select") == raster
    assert page.evaluate("() => window.sinhkeMap.getPaintProperty('hazard-raster', 'raster-opacity')") == 0.4
    # a raster id nobody has is ignored
    page.goto(f"{live_server}/map?lang=en#hazard=999999&opacity=500")  # another query: a new page
    wait_until_ready(page)
    assert page.input_value("#hazard-select") == ""
    assert page.input_value("#hazard-opacity") == "75"
    assert console_errors == []


BOUNDS = (
    "() => { const b = window.sinhkeMap.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
)


@pytest.fixture(scope="module")
def first_view_extents(demo_settings) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """[west, south, east, north] of the province, and of the 2025 communes the demo planner may see."""
    with transaction(demo_settings) as s:
        box = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM admin_units u"
        province = s.execute(text(f"{box} WHERE level = 'province' AND boundary = 'current') x")).one()
        planner = s.execute(
            text(f"""{box} JOIN user_visible_units v ON v.unit_id = u.id JOIN users p ON p.id = v.user_id
                     WHERE p.name = 'planner' AND u.level = 'commune' AND u.boundary = 'current') x""")
        ).one()
        communes = s.scalar(
            text("""SELECT count(*) FROM user_areas a JOIN users p ON p.id = a.user_id
                    JOIN admin_units u ON u.id = a.unit_id WHERE p.name = 'planner' AND u.level = 'commune'""")
        )
    assert communes == 4 and None not in planner
    return {"province": list(province), "planner": list(planner)}


def _first_view(browser: Browser, live_server: str, name: str, password: str, width: int) -> list[float]:
    context = browser.new_context(viewport={"width": width, "height": 844 if width < 600 else 800}, locale="vi-VN")
    page = context.new_page()  # noqa: F811
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(f"{live_server}/map")
    page.goto(f"{live_server}/map?lang=en")  # no view in the URL: the first view is fitted
    wait_until_ready(page)
    bounds = page.evaluate(BOUNDS)
    context.close()
    assert errors == []
    return bounds


def _fits(view: list[float], box: list[float]) -> bool:
    """The view holds the box, and fits it: no more than a margin larger along one of its axes."""
    west, south, east, north = view
    tolerance = 1e-3
    holds = west <= box[0] + tolerance and south <= box[1] + tolerance
    holds = holds and east >= box[2] - tolerance and north >= box[3] - tolerance
    tight = (east - west) <= 1.25 * (box[2] - box[0]) or (north - south) <= 1.25 * (box[3] - box[1])
    return holds and tight


@pytest.mark.parametrize("width", [1280, 390])
def test_the_first_view_fits_the_communes_a_scoped_user_may_see(  # type: ignore[no-untyped-def]
    browser: Browser, live_server: str, accounts, first_view_extents, width: int
) -> None:
    from ingest.demo import demo_password
    from tests.conftest import DEMO_SEED

    communes, province = first_view_extents["planner"], first_view_extents["province"]
    assert (communes[2] - communes[0]) * (communes[3] - communes[1]) < 0.5 * (
        (province[2] - province[0]) * (province[3] - province[1])
    )  # the planner's communes are a part of the province: fitting them is a closer view
    planner = _first_view(browser, live_server, "planner", demo_password(DEMO_SEED, "planner"), width)
    assert _fits(planner, communes), (planner, communes)
    assert not _fits(planner, province)
    admin = _first_view(browser, live_server, accounts.name("admin"), accounts.password, width)
    assert _fits(admin, province), (admin, province)
