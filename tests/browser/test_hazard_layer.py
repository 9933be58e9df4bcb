"""The map's hazard layer in headless Chromium: a catalogued raster as server-rendered tiles
between the commune colours and the programme layers, with opacity and legend."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response

from tests.browser.test_map import SCREENSHOTS, console_errors, open_map, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

HAZARD_TIMEOUT_MS = 60_000

LAYER_STATE = """() => {
  const map = window.sinhkeMap;
  const ids = map.getStyle().layers.map((layer) => layer.id);
  const source = map.getSource('hazard-raster');
  return {
    index: ids.indexOf('hazard-raster'),
    fill: ids.indexOf('communes-fill'),
    outline: ids.indexOf('communes-outline'),
    programme: ['models-points', 'works-points', 'water-schemes'].map((id) => ids.indexOf(id)),
    type: source ? source.type : null,
    tiles: source ? source.tiles : null,
    loaded: source ? map.isSourceLoaded('hazard-raster') : null,
    opacity: map.getLayer('hazard-raster') ? map.getPaintProperty('hazard-raster', 'raster-opacity') : null,
  };
}"""


def wait_for_hazard(tab: Page, raster_id: str) -> None:
    tab.wait_for_function("(id) => document.body.dataset.hazardRaster === id", arg=raster_id, timeout=HAZARD_TIMEOUT_MS)


def option_values(tab: Page) -> dict[str, str]:
    """Text → value of the hazard select's options."""
    return tab.eval_on_selector_all(
        "#hazard-select option", "(opts) => Object.fromEntries(opts.map((o) => [o.textContent, o.value]))"
    )


def map_shot(tab: Page) -> bytes:
    return tab.locator("#map").screenshot()


def test_hazard_layer(page: Page, live_server: str, console_errors: list[str]) -> None:  # noqa: F811
    tile_responses: list[tuple[int, str]] = []

    def on_response(response: Response) -> None:
        if "/tiles/rasters/" in response.url and response.url.endswith(".png"):
            tile_responses.append((response.status, response.headers.get("content-type", "")))

    page.on("response", on_response)
    open_map(page, live_server, lang="vi")
    assert page.locator("#hazard-heading").inner_text().lower() == "lớp rủi ro thiên tai"
    assert page.input_value("#hazard-select") == ""
    assert page.evaluate("() => document.body.dataset.hazardRaster") == ""

    options = option_values(page)
    catalogue = page.evaluate("async () => (await (await fetch('/api/rasters')).json()).rasters")
    assert len(options) == len(catalogue) + 1  # "none" and every catalogued raster
    flood = next(v for text, v in options.items() if "1-in-100-year (demo)" in text)
    assert "chu kỳ lặp lại 100 năm" in next(text for text, v in options.items() if v == flood)

    without = map_shot(page)
    page.select_option("#hazard-select", flood)
    wait_for_hazard(page, flood)
    state = page.evaluate(LAYER_STATE)
    assert state["type"] == "raster"
    assert state["tiles"][0].endswith(f"/tiles/rasters/{flood}/{{z}}/{{x}}/{{y}}.png")
    assert state["loaded"] is True
    # above the commune colours, below the commune outlines and every programme layer
    assert state["fill"] < state["index"] < state["outline"]
    assert all(state["index"] < i for i in state["programme"])
    assert state["opacity"] == 0.75
    assert tile_responses, "no tile was requested"
    assert all(status in (200, 304) and (status == 304 or ctype == "image/png") for status, ctype in tile_responses)
    assert map_shot(page) != without, "the hazard tiles changed nothing on the map"

    # the legend: flood depth in metres, light to dark blue, dry ground not drawn
    legend = page.locator("#hazard-legend")
    assert legend.is_visible()
    assert page.locator("#hazard-legend-title").inner_text() == "Độ sâu ngập lụt (m)"
    stops = page.locator("#hazard-stops li").all_inner_texts()
    assert len(stops) == 5 and stops[-1].startswith("≥ 2") and stops[-1].endswith("m")
    assert "không tô màu" in page.locator("#hazard-note").inner_text()
    page.locator("#hazard-legend").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "hazard_layer.png"))

    # opacity: the slider sets the layer's paint property
    page.locator("#hazard-opacity").fill("30")
    assert page.evaluate(LAYER_STATE)["opacity"] == pytest.approx(0.3)
    assert page.evaluate("() => document.body.dataset.hazardOpacity") == "30"
    assert page.locator("#hazard-opacity-value").inner_text().startswith("30")
    page.locator("#hazard-opacity").fill("0")
    assert page.evaluate(LAYER_STATE)["opacity"] == 0

    # another raster: classes in the legend; the opacity is kept
    landslide = next(v for text, v in options.items() if text.startswith("Landslide"))
    page.select_option("#hazard-select", landslide)
    wait_for_hazard(page, landslide)
    assert page.evaluate(LAYER_STATE)["opacity"] == 0
    classes = page.locator("#hazard-stops li").all_inner_texts()
    assert classes[0].startswith("0 –") and classes[-1] == "5 – rất cao"
    assert page.locator("#hazard-ramp").is_hidden()

    # none: the layer and its legend go
    page.select_option("#hazard-select", "")
    page.wait_for_function("() => document.body.dataset.hazardRaster === ''")
    state = page.evaluate(LAYER_STATE)
    assert state["index"] == -1 and state["type"] is None
    assert legend.is_hidden()
    assert console_errors == []
