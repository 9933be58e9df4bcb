"""/planning in headless Chromium: the communes' choropleth draws, lagging communes in the lagging colour,
with a legend that follows the colouring chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.test_map import SCREENSHOTS
from tests.browser.test_planning_entry import _sign_in

pytestmark = pytest.mark.browser


def test_the_planning_map_draws_lagging_communes_with_a_legend(browser: Browser, live_server: str, accounts) -> None:  # type: ignore[no-untyped-def]
    page = _sign_in(browser, live_server, accounts.name("admin"), accounts.password)
    context = page.context
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/planning?lang=en")
    page.wait_for_selector("body[data-planning-map='1']", state="attached", timeout=60_000)
    expected = page.request.get(f"{live_server}/api/planning/map").json()
    lagging = {f["id"] for f in expected["features"] if f["properties"]["status"] == "lagging"}
    assert int(page.get_attribute("body", "data-planning-communes") or 0) == len(expected["features"]) > 1
    assert lagging
    drawn = page.evaluate(
        """() => window.sinhkePlanningMap.queryRenderedFeatures({layers: ['communes-fill']})
                 .map(f => [f.properties.code, f.properties.status])"""
    )
    assert {code for code, status in drawn if status == "lagging"} <= lagging
    assert any(status == "lagging" for _, status in drawn)
    # the lagging colour is the legend's first swatch
    colours = page.locator("#planning-map-legend .swatch").evaluate_all("s => s.map(e => e.style.backgroundColor)")
    labels = page.locator("#planning-map-legend li").all_inner_texts()
    assert labels[0] == "Lagging" and len(labels) == 5 and colours[0] == "rgb(192, 57, 43)"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "planning-map.png"))
    # coloured by disbursement instead: the legend follows
    page.select_option("#planning-map-mode", "rate")
    assert page.locator("#planning-map-legend li").all_inner_texts()[-1] == "No allocation"
    paint = page.evaluate("() => window.sinhkePlanningMap.getPaintProperty('communes-fill', 'fill-color')[0]")
    assert paint == "case"
    # one indicator's targets: works completed, where the demo has met ones too
    page.select_option("#planning-map-indicator", "works_completed")
    page.wait_for_selector("body[data-planning-map='1']", state="attached", timeout=30_000)
    statuses = page.evaluate(
        """() => window.sinhkePlanningMap.queryRenderedFeatures({layers: ['communes-fill']}).map(f => f.properties.status)"""
    )
    works = page.request.get(f"{live_server}/api/planning/map?indicator=works_completed").json()
    assert set(statuses) <= {f["properties"]["status"] for f in works["features"]} and "met" in statuses
    assert not errors
    context.close()
