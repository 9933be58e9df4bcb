"""/siting in headless Chromium: a planner runs a small siting (a background job the page polls) and
sees the chosen sites and the households they cover drawn on the map."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.test_map import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_planner_runs_a_siting_and_sees_it_drawn(browser: Browser, live_server: str, accounts) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("planner"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    # at 1366 px every field stays inside the panel, in Vietnamese (longer labels) and English
    overflow_js = """() => { const p = document.querySelector('.siting-panel').getBoundingClientRect();
        return [...document.querySelectorAll('.siting-panel input, .siting-panel select')]
          .filter(e => e.type !== 'radio' && e.type !== 'checkbox' && e.getBoundingClientRect().width > 0)
          .filter(e => e.getBoundingClientRect().right > p.right + 0.5).map(e => e.id || e.name); }"""
    page.goto(f"{live_server}/siting?lang=vi")
    assert page.evaluate(overflow_js) == []
    page.goto(f"{live_server}/siting?lang=en")
    # the planner's own commune is chosen already; a 1 km grid, 3 km radius, 2 sites
    assert page.locator("#siting-communes option:checked").evaluate_all("os => os.map(o => o.value)") == [
        accounts.commune_a
    ]
    assert page.evaluate(overflow_js) == []  # the weights ran past the panel's edge
    page.fill("#siting-name", "browser test")
    page.fill("#siting-spacing", "1000")
    page.fill("#siting-radius", "3000")
    page.fill("#siting-k", "2")
    page.click("#siting-run")
    page.wait_for_selector("body[data-siting-ready='1']", state="attached", timeout=60_000)
    sites = int(page.get_attribute("body", "data-siting-sites") or 0)
    households = int(page.get_attribute("body", "data-siting-households") or 0)
    assert 1 <= sites <= 2 and households >= 1
    # drawn: MapLibre renders the features of both layers
    drawn = page.evaluate(
        "() => ['sites', 'households', 'communes-line']"
        ".map(l => window.sinhkeSitingMap.queryRenderedFeatures({layers: [l]}).length)"
    )
    assert drawn[0] == sites and drawn[1] >= 1 and drawn[2] >= 1
    assert page.locator("#siting-sites li").count() >= sites
    assert page.locator("#siting-exports a").count() == 5
    # the page's URL names the saved scenario, which opens again from the list
    scenario = page.url.split("scenario=")[1]
    assert page.request.get(f"{live_server}/api/siting/{scenario}").json()["status"] == "succeeded"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "siting.png"))
    assert not errors
    context.close()
