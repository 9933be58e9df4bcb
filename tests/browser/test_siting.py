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


@pytest.mark.parametrize("width", [1366, 390])
def test_siting_panel_fits_and_the_map_has_the_basemap_of_map(  # type: ignore[no-untyped-def]
    browser: Browser, live_server: str, accounts, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("planner"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    for lang in ("vi", "en"):
        page.goto(f"{live_server}/siting?lang={lang}")
        # nothing of the form (fields, their labels) runs past the panel, and the panel does not scroll sideways
        outside = page.evaluate(
            """() => { const panel = document.querySelector('.siting-panel');
                const p = panel.getBoundingClientRect();
                const out = [...panel.querySelectorAll('input, select, label, button, legend')]
                  .filter(e => e.getBoundingClientRect().width > 0)
                  .filter(e => e.getBoundingClientRect().right > p.right + 0.5 || e.getBoundingClientRect().left < p.left - 0.5)
                  .map(e => e.id || e.name || e.textContent.trim().slice(0, 30));
                if (panel.scrollWidth > panel.clientWidth + 1) out.push('panel scrolls sideways');
                if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('page scrolls sideways');
                return out; }"""
        )
        assert outside == [], (width, lang, outside)
        tops = page.evaluate(
            "() => ['#siting-w-poor', '#siting-w-near'].map(s => document.querySelector(s).getBoundingClientRect().top)"
        )
        assert abs(tops[0] - tops[1]) < 1, (width, lang, tops)  # the weights side by side, whatever their labels
        if lang == "vi":
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"siting-{width}-vi.png"), full_page=width < 800)
    # the basemap of /map (no style URL configured: the one drawn from our own layers, villages included)
    page.wait_for_function("() => window.sinhkeSitingMap && window.sinhkeSitingMap.isStyleLoaded()", timeout=30_000)
    layers = page.evaluate("() => window.sinhkeSitingMap.getStyle().layers.map(l => l.id)")
    assert {"background", "basemap-villages", "basemap-village-names"} <= set(layers)
    assert layers.index("basemap-villages") > layers.index("communes-fill")  # above the communes' veil
    tiles = page.evaluate("() => window.sinhkeSitingMap.getStyle().sources.basemap_villages.tiles[0]")
    assert tiles.endswith("/tiles/villages/{z}/{x}/{y}.pbf")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"siting-{width}.png"), full_page=width < 800)
    assert not errors
    context.close()
