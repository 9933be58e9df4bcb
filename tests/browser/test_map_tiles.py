"""The /map page on vector tiles in headless Chromium: the layers come as tiles, a name that
looks like HTML stays text in its popup, and popups stay inside a phone's screen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Dialog, Page, Request
from sqlalchemy import text

from spatial.db import transaction
from tests.browser.test_map import (  # noqa: F401 - fixtures
    COMMUNE_ONLY_POINT,
    LAYERS_ARG,
    SCREENSHOTS,
    canvas_origin,
    console_errors,
    open_map,
    page,
    popup_text,
    wait_until_ready,
)
from tests.conftest import model_in_commune

pytestmark = pytest.mark.browser

XSS_NAME = "<img src=x onerror=alert(1)>"

SOURCE_TYPES = """() => Object.fromEntries(['communes', 'districts', 'models', 'works', 'water', 'risk']
  .map((id) => [id, window.sinhkeMap.getSource(id).type]))"""


def test_layers_come_as_vector_tiles(page: Page, live_server: str, console_errors: list[str]) -> None:  # noqa: F811
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_map(page, live_server)
    assert set(page.evaluate(SOURCE_TYPES).values()) == {"vector"}
    tiles = {url.split("/tiles/")[1].split("/")[0] for url in requests if url.split("?")[0].endswith(".pbf")}
    assert {"communes", "livelihood_models", "infrastructure_works", "water_schemes"} <= tiles
    downloads = [url for url in requests if "/api/layers/" in url and "level=province" not in url]
    assert downloads == [], "a layer came as GeoJSON"
    assert page.locator("[data-count-for='models']").inner_text().strip().startswith("(")

    # the legacy boundaries: the commune tiles are asked for again with ?boundaries=legacy
    page.select_option("#boundary-select", "legacy")
    wait_until_ready(page, boundaries="legacy")
    assert any("/tiles/communes/" in url and "boundaries=legacy" in url for url in requests)
    assert any("/tiles/districts/" in url for url in requests)
    assert console_errors == []


@pytest.fixture
def xss_model(live_server: str, accounts, demo_settings) -> Iterator[dict[str, float | str]]:
    """A model named like an HTML image with a script, committed (the live server reads it)."""
    code = f"T-XSS-{uuid.uuid4().hex[:6]}"
    with transaction(demo_settings) as s:
        model, _ = model_in_commune(
            s,
            accounts.commune_b,
            code,
            "cow_bank",
            XSS_NAME,
            start_date=date(2024, 1, 1),
            budget_vnd=1_000_000,
            households=0,
        )
        lon, lat = s.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM livelihood_models WHERE code = :c"), {"c": code}
        ).one()
    try:
        yield {"code": code, "lon": lon, "lat": lat}
    finally:
        # committed for the live server (its own connections), so removed by hand
        with transaction(demo_settings) as s:
            s.execute(text("DELETE FROM livelihood_models WHERE code = :c"), {"c": code})


def _click_model(tab: Page, model: dict[str, float | str]) -> None:
    """Zooms to the model and clicks its point."""
    tab.evaluate(
        "([lon, lat]) => window.sinhkeMap.jumpTo({center: [lon, lat], zoom: 15})", [model["lon"], model["lat"]]
    )
    tab.wait_for_function(
        """(code) => window.sinhkeMap.queryRenderedFeatures({layers: ['models-points']})
            .some((f) => f.properties.code === code)""",
        arg=model["code"],
        timeout=30_000,
    )
    point = tab.evaluate(
        """(code) => {
          const map = window.sinhkeMap;
          const f = map.queryRenderedFeatures({layers: ['models-points']}).find((g) => g.properties.code === code);
          const p = map.project(f.geometry.coordinates);
          return {x: p.x, y: p.y};
        }""",
        model["code"],
    )
    x0, y0 = canvas_origin(tab)
    tab.mouse.click(x0 + point["x"], y0 + point["y"])


def test_a_name_like_html_stays_text_in_its_popup(
    page: Page,  # noqa: F811
    live_server: str,
    xss_model: dict[str, float | str],
    console_errors: list[str],  # noqa: F811
) -> None:
    dialogs: list[str] = []
    images: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request: Request) -> None:
        if request.url.endswith("/x"):
            images.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    open_map(page, live_server)
    _click_model(page, xss_model)
    assert XSS_NAME in popup_text(page)
    assert page.locator(".maplibregl-popup-content h3.popup-title").text_content() == XSS_NAME
    assert page.locator(".maplibregl-popup-content img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == [] and images == []
    assert console_errors == []


def _phone(browser: Browser, live_server: str, accounts, locale: str) -> Page:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale, is_mobile=True)
    tab = context.new_page()
    tab.goto(f"{live_server}/login")
    tab.fill("#username", accounts.name("admin"))
    tab.fill("#password", accounts.password)
    tab.click("form.stack-form button[type=submit]")
    tab.wait_for_url(f"{live_server}/map")
    return tab


def _inside(tab: Page) -> dict[str, float]:
    return tab.evaluate(
        """() => {
          const popup = document.querySelector('.maplibregl-popup').getBoundingClientRect();
          const header = document.querySelector('.site-header').getBoundingClientRect();
          return {left: popup.left, right: popup.right, top: popup.top, bottom: popup.bottom,
                  width: window.innerWidth, height: window.innerHeight, header: header.bottom};
        }"""
    )


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_popups_stay_inside_a_phone_screen(browser: Browser, live_server: str, accounts, lang: str) -> None:
    tab = _phone(browser, live_server, accounts, "en-GB" if lang == "en" else "vi-VN")
    try:
        open_map(tab, live_server, lang=lang)
        canvas = tab.locator("#map canvas.maplibregl-canvas").bounding_box()
        assert canvas is not None
        target = tab.evaluate(COMMUNE_ONLY_POINT, LAYERS_ARG)
        assert target is not None
        # moved to the top edge of the map: the popup would stick out above it, under the header
        point = tab.evaluate(
            """({x, y}) => {
              const map = window.sinhkeMap;
              const there = map.unproject([x, y]);
              map.jumpTo({center: map.unproject([map.getCanvas().clientWidth / 2,
                                                 map.getCanvas().clientHeight / 2 + y - 14])});
              const p = map.project(there);
              return {x: p.x, y: p.y};
            }""",
            target,
        )
        x0, y0 = canvas_origin(tab)
        tab.mouse.click(x0 + point["x"], y0 + point["y"])
        popup_text(tab)
        tab.wait_for_timeout(200)
        box = _inside(tab)
        assert box["left"] >= 0 and box["right"] <= box["width"]
        assert box["top"] >= box["header"] and box["bottom"] <= box["height"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"map_390_{lang}.png"))
    finally:
        tab.context.close()
