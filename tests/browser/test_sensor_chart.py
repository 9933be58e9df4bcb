"""The device page's reading chart in headless Chromium: drawn from the readings API, zoomed by its
buttons and the mouse wheel (each zoom fetching that range), and the alerts map's layer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import text

from ingest.sensors import ingest_observations
from jobs import sensors as sensor_jobs
from spatial.db import transaction
from tests.sensor_setup import Devices, make_devices, remove_devices

pytestmark = pytest.mark.browser

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def chart_devices(demo_settings, accounts) -> Iterator[Devices]:
    """Ten days of 15-minute flow readings and a day of rain, committed for the live server; removed after."""
    with transaction(demo_settings) as s:
        d = make_devices(s, accounts.commune_a, prefix="chart")
        flow = [
            {
                "datastream": d.flow,
                "phenomenon_time": (NOW - timedelta(minutes=15 * i)).isoformat(),
                "value": 10 + (i % 96) / 8,
            }
            for i in range(96 * 10)
        ]
        ingest_observations(s, flow, channel="demo")
        rain = [
            {"datastream": d.rain, "phenomenon_time": (NOW - timedelta(hours=i)).isoformat(), "value": 5.0}
            for i in range(24)
        ]
        ingest_observations(s, rain, channel="demo")
        sensor_jobs.rainfall_alerts(s, now=NOW)
    yield d
    with transaction(demo_settings) as s:  # committed above for the server's own connections
        remove_devices(s, [d.meter, d.gauge, d.other])
        # the hour's alerts again from the demo's own gauges: deleting them would also remove the
        # demo's storm alerts when the demo's job ran in the same hour (other tests read those)
        sensor_jobs.rainfall_alerts(s, now=NOW)


def _planner_page(browser: Browser, live_server: str, accounts) -> tuple[BrowserContext, Page, list[str]]:
    """A planner signed in, and the console errors the page logs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("planner"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page, errors


def test_the_chart_draws_and_zooms(browser: Browser, live_server: str, accounts, chart_devices):
    context, page, errors = _planner_page(browser, live_server, accounts)
    try:
        page.goto(f"{live_server}/sensors/devices/{chart_devices.meter}")
        chart = f"#chart-{chart_devices.flow}"
        page.wait_for_selector(f"{chart}[data-points]")
        assert page.get_attribute(chart, "data-points") == str(96 * 10)
        assert page.locator(f"{chart} path.line").count() == 1
        full = page.get_attribute(f"{chart} path.line", "d")
        with page.expect_response(lambda r: "/readings?" in r.url):
            page.click(f"{chart} [data-zoom=in]")
        # a function, not an expression: Playwright compiles an expression in the page when it has to
        # poll, and the page's Content-Security-Policy forbids that (a flaky failure when the chart
        # had not redrawn by the first check)
        page.wait_for_function(f"() => document.querySelector('{chart}').dataset.points !== '960'")
        half = int(page.get_attribute(chart, "data-points") or 0)
        assert 0 < half < 960 and page.get_attribute(f"{chart} path.line", "d") != full
        with page.expect_response(lambda r: "/readings?" in r.url):
            page.hover(f"{chart} svg")
            page.mouse.wheel(0, -200)
        page.wait_for_function(f"() => Number(document.querySelector('{chart}').dataset.points) < {half}")
        csv = page.get_attribute(f"{chart} .chart-csv", "href") or ""
        assert "from=" in csv and "to=" in csv
        page.goto(f"{live_server}/sensors/alerts")
        page.wait_for_selector("#alerts-map[data-features]")
        assert int(page.get_attribute("#alerts-map", "data-features") or 0) >= 1
        assert errors == []
    finally:
        context.close()


def test_a_device_and_its_datastream_added_on_the_pages(browser: Browser, live_server: str, demo_settings, accounts):
    """A planner adds a rain gauge in their commune from the sensors page, then its datastream on the
    device page (real forms with their CSRF tokens); the new stream's chart is drawn, empty."""
    with transaction(demo_settings) as s:
        lon, lat = s.execute(
            text("SELECT ST_X(centroid), ST_Y(centroid) FROM admin_units WHERE code = :c AND boundary = 'current'"),
            {"c": accounts.commune_a},
        ).one()
    context, page, errors = _planner_page(browser, live_server, accounts)
    try:
        page.goto(f"{live_server}/sensors")
        page.click("#add-device")
        page.fill("#code", "browser-gauge")
        page.select_option("#kind", "station")
        page.fill("#name", "Gauge added in the browser")
        page.fill("#lon", "east")  # refused with the field named, the rest kept
        page.fill("#lat", f"{lat:.6f}")
        page.click("#device-form button[type=submit]")
        page.wait_for_selector("#form-errors li[data-field=lon]")
        assert page.input_value("#name") == "Gauge added in the browser"
        page.fill("#lon", f"{lon:.6f}")
        page.click("#device-form button[type=submit]")
        page.wait_for_url(f"{live_server}/sensors/devices/browser-gauge")
        page.select_option("#quantity", "rainfall")
        page.fill("#interval_s", "3600")
        page.click("#datastream-form button[type=submit]")
        page.wait_for_selector("figure.reading-chart[data-points]")
        assert page.get_attribute("figure.reading-chart", "data-points") == "0"
        assert page.input_value("#stream-settings input[name=name]") == "browser-gauge rainfall"
        page.click("#issue-token")
        assert page.inner_text("#new-token").startswith("shd_")
        assert [e for e in errors if "status of 422" not in e] == []  # the refused form answered 422, as meant
    finally:
        context.close()
        with transaction(demo_settings) as s:  # committed through the live server's own connections
            remove_devices(s, ["browser-gauge"])
