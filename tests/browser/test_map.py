"""The /map page in headless Chromium against a live app with the demo loaded.

Every wait and evaluation passes a JavaScript *function*: a bare expression string
is evaluated with eval(), which the page's Content Security Policy forbids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
READY_TIMEOUT_MS = 60_000

COMMUNES_LAYER = "communes-fill"
CLICKABLE_LAYERS = [
    "models-points",
    "works-points",
    "water-schemes",
    "works-lines",
    "models-plots",
    "works-areas",
    COMMUNES_LAYER,
]

RENDERED = """(layers) => {
  const map = window.sinhkeMap;
  const count = (ids) => map.queryRenderedFeatures({layers: ids}).length;
  const communes = map.queryRenderedFeatures({layers: [layers.communes]});
  return {
    communes: communes.length,
    communeCodes: [...new Set(communes.map((f) => f.properties.code))],
    withRate: communes.filter((f) => typeof f.state.value === 'number').length,
    models: count(['models-points', 'models-plots']),
    works: count(['works-points', 'works-lines', 'works-areas']),
    water: count(['water-schemes']),
    districts: count(['districts-outline']),
  };
}"""

# A canvas point, nearest the centre, where only a commune polygon is under the pointer.
COMMUNE_ONLY_POINT = """(layers) => {
  const map = window.sinhkeMap;
  const canvas = map.getCanvas();
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const points = [];
  for (let y = 10; y < height - 10; y += 12) {
    for (let x = 10; x < width - 10; x += 12) points.push([x, y]);
  }
  points.sort((a, b) => Math.hypot(a[0] - width / 2, a[1] - height / 2)
                      - Math.hypot(b[0] - width / 2, b[1] - height / 2));
  for (const [x, y] of points) {
    const box = [[x - 8, y - 8], [x + 8, y + 8]];
    const around = map.queryRenderedFeatures(box, {layers: layers.clickable});
    const onlyCommunes = around.length > 0 && around.every((f) => f.layer.id === layers.communes);
    const here = map.queryRenderedFeatures([x, y], {layers: [layers.communes]});
    if (onlyCommunes && here.length === 1) {
      return {x, y, code: here[0].properties.code, name: here[0].properties.name};
    }
  }
  return null;
}"""

# Communes whose rendered indicator value differs from the API's row for the shown
# indicator, year and boundaries.
STATE_MISMATCHES = """async (layer) => {
  const map = window.sinhkeMap;
  const params = new URLSearchParams({
    indicator: document.body.dataset.mapIndicator, level: 'commune',
    boundaries: document.body.dataset.mapBoundaries, year: document.body.dataset.mapYear,
  });
  const response = await fetch(`/api/indicators?${params}`);
  const rows = (await response.json()).rows;
  const expected = new Map(rows.map((row) => [String(row.code), row.value]));
  const mismatches = [];
  for (const feature of map.queryRenderedFeatures({layers: [layer]})) {
    const want = expected.has(String(feature.id)) ? expected.get(String(feature.id)) : null;
    const got = feature.state.value ?? null;
    if (want !== got || feature.state.indicator !== params.get('indicator')) {
      mismatches.push([feature.id, want, got, feature.state.indicator]);
    }
  }
  return mismatches;
}"""

LAYERS_ARG = {"communes": COMMUNES_LAYER, "clickable": CLICKABLE_LAYERS}


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught exceptions of the page; every test expects none."""
    return []


@pytest.fixture
def page(browser: Browser, console_errors: list[str], live_server: str, accounts) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    # sign in through the real form, as the test admin (sees the whole province)
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("admin"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(f"{live_server}/map")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(f"pageerror: {error}"))
    yield page
    context.close()


def wait_until_ready(
    page: Page, boundaries: str | None = None, year: int | None = None, indicator: str | None = None
) -> None:
    page.wait_for_function(
        """([boundaries, year, indicator]) => document.body.dataset.mapReady === '1'
            && (boundaries === null || document.body.dataset.mapBoundaries === boundaries)
            && (year === null || document.body.dataset.mapYear === String(year))
            && (indicator === null || document.body.dataset.mapIndicator === indicator)""",
        arg=[boundaries, year, indicator],
        timeout=READY_TIMEOUT_MS,
    )


def open_map(page: Page, base_url: str, lang: str = "en") -> None:
    page.goto(f"{base_url}/map?lang={lang}")
    wait_until_ready(page)


def survey_years(page: Page) -> list[str]:
    return page.eval_on_selector_all("#year-ticks option", "(opts) => opts.map((o) => o.value)")


def choose_year(page: Page, year: int | str) -> None:
    """Moves the year slider with the keyboard, as a person would, to ``year``."""
    slider = page.locator("#year-slider")
    slider.focus()
    for _ in range(40):
        now = int(slider.input_value())
        if now == int(year):
            return
        page.keyboard.press("ArrowRight" if now < int(year) else "ArrowLeft")
    raise AssertionError(f"the slider did not reach {year}")


def canvas_origin(page: Page) -> tuple[float, float]:
    box = page.locator("#map canvas.maplibregl-canvas").bounding_box()
    assert box is not None
    return box["x"], box["y"]


def popup_text(page: Page) -> str:
    popup = page.locator(".maplibregl-popup-content")
    popup.wait_for(state="visible", timeout=10_000)
    return popup.text_content() or ""


def test_map_renders_poverty_choropleth_and_programme_layers(
    page: Page, live_server: str, console_errors: list[str]
) -> None:
    open_map(page, live_server)

    rendered = page.evaluate(RENDERED, LAYERS_ARG)
    assert page.evaluate(STATE_MISMATCHES, COMMUNES_LAYER) == []
    assert rendered["communes"] > 10
    assert rendered["withRate"] >= 1, "no commune carries a poverty rate"
    assert rendered["models"] > 0
    assert rendered["works"] > 0
    assert rendered["water"] > 0

    # a click at the centre opens a popup on whatever is there
    x0, y0 = canvas_origin(page)
    box = page.locator("#map canvas.maplibregl-canvas").bounding_box()
    assert box is not None
    page.mouse.click(x0 + box["width"] / 2, y0 + box["height"] / 2)
    assert popup_text(page).strip()

    # a click on a commune (nothing else under the pointer) shows its name, code and rate as text
    target = page.evaluate(COMMUNE_ONLY_POINT, LAYERS_ARG)
    assert target is not None, "no point on the canvas with only a commune under it"
    page.mouse.click(x0 + target["x"], y0 + target["y"])
    text = popup_text(page)
    assert "Commune" in text
    assert target["name"] in text
    assert target["code"] in text
    assert "Poverty rate" in text

    # the legacy boundaries have more communes, and district outlines
    page.select_option("#boundary-select", "legacy")
    wait_until_ready(page, boundaries="legacy")
    legacy = page.evaluate(RENDERED, LAYERS_ARG)
    assert legacy["communes"] > 10
    assert len(legacy["communeCodes"]) != len(rendered["communeCodes"])
    assert legacy["districts"] > 0
    assert page.locator(".maplibregl-popup").count() == 0

    # another year re-colours the same polygons
    years = survey_years(page)
    other_years = [y for y in years if y != page.input_value("#year-slider")]
    if other_years:
        choose_year(page, other_years[0])
        wait_until_ready(page, boundaries="legacy", year=int(other_years[0]))
        assert page.evaluate(RENDERED, LAYERS_ARG)["communes"] == legacy["communes"]

    page.select_option("#boundary-select", "current")
    wait_until_ready(page, boundaries="current")
    # colours follow the shown year after several switches (no stale or dropped state)
    assert page.evaluate(STATE_MISMATCHES, COMMUNES_LAYER) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "map.png"))

    assert console_errors == []


def test_layer_toggle_hides_the_layer(page: Page, live_server: str, console_errors: list[str]) -> None:
    open_map(page, live_server)
    visibility = "() => window.sinhkeMap.getLayoutProperty('water-schemes', 'visibility')"
    page.uncheck("input[data-layer-group='water']")
    assert page.evaluate(visibility) == "none"
    page.check("input[data-layer-group='water']")
    assert page.evaluate(visibility) == "visible"
    assert console_errors == []


def test_language_switch(page: Page, live_server: str, console_errors: list[str]) -> None:
    open_map(page, live_server, lang="en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Poverty map"
    assert "Legacy boundaries" in page.locator("#boundary-select").inner_text()

    open_map(page, live_server, lang="vi")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == "Bản đồ tỷ lệ hộ nghèo"
    assert "Địa giới cũ" in page.locator("#boundary-select").inner_text()

    # the choice is remembered without the query parameter
    page.goto(f"{live_server}/map")
    wait_until_ready(page)
    assert page.locator("h1").inner_text() == "Bản đồ tỷ lệ hộ nghèo"

    assert console_errors == []


# Fill colours of the rendered communes, as MapLibre evaluated them (rgba strings).
RENDERED_FILLS = """(layer) => {
  const map = window.sinhkeMap;
  const fills = {};
  for (const f of map.queryRenderedFeatures({layers: [layer]})) {
    const c = f.layer.paint['fill-color'];
    fills[f.id] = c ? `${c.r},${c.g},${c.b}` : null;
  }
  return fills;
}"""


def test_indicator_select_recolours_communes(page: Page, live_server: str, console_errors: list[str]) -> None:
    open_map(page, live_server)
    years = [int(y) for y in survey_years(page)]
    assert 2021 in years and 2024 in years
    options = [
        o
        for o in page.eval_on_selector_all("#indicator-select option", "(o) => o.map((x) => x.value)")
        if not o.startswith("exposure_")
    ]  # one per catalogued raster, added once the catalogue loads
    assert options == [
        "poverty_rate",
        "near_poor_rate",
        "escaped_poverty_rate",
        "mean_income_change",
        "mean_income_change_real",
        "median_income",
        "fell_back",
        "newly_poor",
        "effect_all",
        "effect_cow_bank",
        "effect_buffalo_loan",
        "effect_free_range_chicken",
        "effect_medicinal_plant",
    ]
    assert page.input_value("#indicator-select") == "poverty_rate"

    choose_year(page, 2024)
    wait_until_ready(page, year=2024, indicator="poverty_rate")
    poverty_fills = page.evaluate(RENDERED_FILLS, COMMUNES_LAYER)

    page.select_option("#indicator-select", "mean_income_change")
    wait_until_ready(page, year=2024, indicator="mean_income_change")
    assert page.evaluate(STATE_MISMATCHES, COMMUNES_LAYER) == []
    rendered = page.evaluate(RENDERED, LAYERS_ARG)
    assert rendered["withRate"] >= 1, "no commune carries an income change"
    assert page.evaluate(RENDERED_FILLS, COMMUNES_LAYER) != poverty_fills
    legend = page.locator("#legend-poverty").inner_text()
    assert "< 0" in legend and "700" in legend
    assert "VND per person per month" in page.locator("#communes-label").inner_text()

    # a commune's popup shows the change with its unit, the year and the year compared with
    target = page.evaluate(COMMUNE_ONLY_POINT, LAYERS_ARG)
    assert target is not None
    x0, y0 = canvas_origin(page)
    page.mouse.click(x0 + target["x"], y0 + target["y"])
    text = popup_text(page)
    assert "Mean income change" in text
    assert "2024" in text
    assert "since 2023" in text or "No data" in text

    # the first survey year has no change: a message, grey communes, no console error
    choose_year(page, 2021)
    wait_until_ready(page, year=2021, indicator="mean_income_change")
    assert "No data for this year" in page.locator("#map-summary").inner_text()
    assert page.evaluate(RENDERED, LAYERS_ARG)["withRate"] == 0
    assert page.evaluate(STATE_MISMATCHES_EMPTY, COMMUNES_LAYER) == []

    # back to a year with data, and a count indicator
    choose_year(page, 2024)
    page.select_option("#indicator-select", "fell_back")
    wait_until_ready(page, year=2024, indicator="fell_back")
    assert page.evaluate(STATE_MISMATCHES, COMMUNES_LAYER) == []
    assert "> 10" in page.locator("#legend-poverty").inner_text()

    assert console_errors == []


# Communes that carry a value although none should be shown.
STATE_MISMATCHES_EMPTY = """(layer) => window.sinhkeMap.queryRenderedFeatures({layers: [layer]})
  .filter((f) => f.state.value !== null && f.state.value !== undefined).map((f) => f.id)"""


def test_risk_layer(page: Page, live_server: str, console_errors: list[str]) -> None:
    open_map(page, live_server)
    toggle = page.locator("input[data-layer-group='risk']")
    assert not toggle.is_checked()
    visibility = "() => window.sinhkeMap.getLayoutProperty('risk-points', 'visibility')"
    assert page.evaluate(visibility) == "none"
    toggle.check()
    assert page.evaluate(visibility) == "visible"
    page.wait_for_function(
        "() => window.sinhkeMap.queryRenderedFeatures({layers: ['risk-points']}).length > 0",
        timeout=READY_TIMEOUT_MS,
    )
    props = page.evaluate("() => window.sinhkeMap.queryRenderedFeatures({layers: ['risk-points']})[0].properties")
    assert props["reason"] in ("recently_escaped", "near_poor")
    assert "name" not in props
    assert page.locator("[data-count-for='risk']").inner_text().strip() != ""
    legend = page.locator("#legend-risk").inner_text()
    assert "Recently escaped poverty" in legend and "Near-poor" in legend

    # a click on a point shows its code and reason as text
    point = page.evaluate(
        """() => {
          const map = window.sinhkeMap;
          const [f] = map.queryRenderedFeatures({layers: ['risk-points']});
          const p = map.project(f.geometry.coordinates);
          return {x: p.x, y: p.y};
        }"""
    )
    x0, y0 = canvas_origin(page)
    page.mouse.click(x0 + point["x"], y0 + point["y"])
    text = popup_text(page)
    assert "Household at risk of falling back" in text
    assert "Income change" in text
    toggle.uncheck()
    assert page.evaluate(visibility) == "none"
    assert console_errors == []


# Communes whose rendered effect differs from the job's difference-in-differences row
# (value, interval, n, "interval includes 0") for the shown model type.
EFFECT_MISMATCHES = """async ([layer, modelType]) => {
  const map = window.sinhkeMap;
  const response = await fetch(`/api/evaluations?level=commune&model_type=${modelType}`);
  const rows = (await response.json()).rows.filter((row) => row.estimator === 'cs_did');
  const byCode = new Map(rows.map((row) => [String(row.code), row]));
  const mismatches = [];
  let estimates = 0;
  let weak = 0;
  for (const feature of map.queryRenderedFeatures({layers: [layer]})) {
    const row = byCode.get(String(feature.id));
    const s = feature.state;
    const want = row && row.status === 'ok' ? row.att : null;
    const wantWeak = Boolean(row && row.status === 'ok' && row.ci_low <= 0 && row.ci_high >= 0);
    if ((s.value ?? null) !== want || (row && (s.ci_low !== row.ci_low || s.n_treated !== row.n_treated
        || s.n_control !== row.n_control || s.status !== row.status)) || Boolean(s.weak) !== wantWeak) {
      mismatches.push([feature.id, want, s.value, s.status]);
    }
    if (want !== null) estimates += 1;
    if (wantWeak) weak += 1;
  }
  return {mismatches, estimates, weak};
}"""

# A canvas point inside a commune with an estimate, where only that commune is under the pointer.
EFFECT_POINT = COMMUNE_ONLY_POINT.replace(
    "if (onlyCommunes && here.length === 1) {",
    "if (onlyCommunes && here.length === 1 && typeof here[0].state.value === 'number') {",
)


def test_effect_choropleth(page: Page, live_server: str, console_errors: list[str]) -> None:
    """Per-commune programme effects (the evaluate_models job) on the map: estimate, interval and n."""
    open_map(page, live_server)
    page.select_option("#indicator-select", "effect_all")
    wait_until_ready(page, indicator="effect_all")
    result = page.evaluate(EFFECT_MISMATCHES, [COMMUNES_LAYER, "all"])
    assert result["mismatches"] == []
    assert result["estimates"] >= 1, "no commune has its own estimate"
    assert page.is_disabled("#year-slider"), "an effect is not by year"
    assert "VND per person per month" in page.locator("#communes-label").inner_text()
    assert "interval includes 0" in page.locator("#legend-poverty").inner_text()
    summary = page.locator("#map-summary").inner_text()
    assert "with an estimate" in summary and "Whole province" in summary

    # the popup of a commune with an estimate: the estimate, its interval and n
    target = page.evaluate(EFFECT_POINT, LAYERS_ARG)
    assert target is not None
    x0, y0 = canvas_origin(page)
    page.mouse.click(x0 + target["x"], y0 + target["y"])
    text = popup_text(page)
    assert "Effect of any livelihood model" in text
    assert "95 % interval" in text and " to " in text
    assert "Participating households (n)" in text and "Comparison households (n)" in text

    # another model type: its own rows
    page.select_option("#indicator-select", "effect_free_range_chicken")
    wait_until_ready(page, indicator="effect_free_range_chicken")
    assert page.evaluate(EFFECT_MISMATCHES, [COMMUNES_LAYER, "free_range_chicken"])["mismatches"] == []

    # effects are estimated on the 2025 communes only: the legacy map says so, nothing coloured
    page.select_option("#boundary-select", "legacy")
    wait_until_ready(page, boundaries="legacy", indicator="effect_free_range_chicken")
    assert "2025 communes" in page.locator("#map-summary").inner_text()
    assert page.evaluate(STATE_MISMATCHES_EMPTY, COMMUNES_LAYER) == []

    # back to an indicator by year: the year select works again
    page.select_option("#boundary-select", "current")
    page.select_option("#indicator-select", "poverty_rate")
    wait_until_ready(page, boundaries="current", indicator="poverty_rate")
    assert not page.is_disabled("#year-slider")
    assert console_errors == []


def test_popups_show_exposure_and_link_the_area_page(page: Page, live_server: str, console_errors: list[str]) -> None:
    open_map(page, live_server)
    # a water scheme: its exposure to each hazard raster is added to the popup
    point = page.evaluate("""() => {
        const map = window.sinhkeMap;
        const canvas = map.getCanvas();
        for (const f of map.queryRenderedFeatures({layers: ['water-schemes']})) {
          const p = map.project(f.geometry.coordinates);
          if (p.x < 20 || p.y < 20 || p.x > canvas.clientWidth - 20 || p.y > canvas.clientHeight - 20) continue;
          const top = map.queryRenderedFeatures([p.x, p.y], {layers: ['risk-points', 'models-points',
                                                                     'works-points', 'water-schemes']});
          if (top.length && top[0].layer.id === 'water-schemes') return {x: p.x, y: p.y};
        }
        return null;
    }""")
    assert point is not None
    x0, y0 = canvas_origin(page)
    page.mouse.click(x0 + point["x"], y0 + point["y"])
    popup_text(page)
    page.wait_for_selector(".popup-exposure-list li", timeout=10_000)
    assert "Climate hazards" in popup_text(page)
    assert "Flood depth, 1-in-100-year" in popup_text(page)

    # a commune: a link to its area page
    page.keyboard.press("Escape")
    target = page.evaluate(COMMUNE_ONLY_POINT, LAYERS_ARG)
    page.mouse.click(x0 + target["x"], y0 + target["y"])
    popup_text(page)
    href = page.get_attribute(".maplibregl-popup-content a.popup-link", "href")
    assert href == f"/areas/{target['code']}?boundaries=current"
    page.goto(f"{live_server}{href}&lang=en")
    assert page.locator("#area-exposure tbody tr").count() >= 4
    assert console_errors == []


def test_exposure_choropleth(page: Page, live_server: str, console_errors: list[str]) -> None:
    """Share of households exposed to a catalogued raster, per commune, on both boundary versions."""
    open_map(page, live_server)
    raster = page.evaluate("""async () => (await (await fetch('/api/rasters')).json()).rasters
        .find((r) => r.hazard === 'flood_depth' && r.return_period === 100).id""")
    name = f"exposure_{raster}"
    page.wait_for_selector(f"#indicator-select option[value='{name}']", state="attached")
    for boundaries in ("current", "legacy"):
        page.select_option("#boundary-select", boundaries)
        page.select_option("#indicator-select", name)
        wait_until_ready(page, boundaries=boundaries, indicator=name)
        mismatches = page.evaluate(
            """async ([layer, raster, boundaries]) => {
            const map = window.sinhkeMap;
            const body = await (await fetch(`/api/exposure?raster=${raster}&level=commune&boundaries=${boundaries}`)).json();
            const want = new Map(body.rows.map((r) => [String(r.code),
              r.households > 0 ? 100 * r.households_exposed / r.households : null]));
            const bad = [];
            let coloured = 0;
            for (const f of map.queryRenderedFeatures({layers: [layer]})) {
              const w = want.has(String(f.id)) ? want.get(String(f.id)) : null;
              if ((f.state.value ?? null) !== w) bad.push([f.id, w, f.state.value]);
              if (typeof f.state.value === 'number' && f.state.value > 0) coloured += 1;
            }
            return {bad, coloured};
        }""",
            [COMMUNES_LAYER, raster, boundaries],
        )
        assert mismatches["bad"] == [] and mismatches["coloured"] > 0
        assert page.is_disabled("#year-slider")
        assert "does not change by year" in page.locator("#map-summary").inner_text()
    assert "Flood depth, 1-in-100-year" in page.locator("#communes-label").inner_text()
    assert console_errors == []
