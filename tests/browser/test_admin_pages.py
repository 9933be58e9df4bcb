"""Issue #16 items 8-11 in headless Chromium: indicator tables sorted by a click, money written alike by the
pages (Babel) and the map (Intl), "Run now" followed to its end, a raster retired from the map's hazard list
and put back, an XLSForm upload's report; every page fits a 390 px phone and a 1366 px laptop in both
languages (screenshots in tests/browser/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ingest.forms import FORMS_DIR
from tests.browser.test_map import SCREENSHOTS, wait_until_ready

pytestmark = pytest.mark.browser

WIDTHS = {"phone": (390, 844), "laptop": (1366, 768)}
PAGES = {
    "indicators": "/indicators?indicator=mean_income&area=district:legacy",
    "pivot": "/indicators/pivot?area=district:legacy",
    "jobs": "/admin/jobs",
    "audit": "/admin/audit",
    "rasters": "/admin/rasters",
    "forms": "/admin/forms",
}


@pytest.fixture(scope="module")
def admin(browser: Browser, live_server: str, accounts) -> Iterator[BrowserContext]:  # type: ignore[no-untyped-def]
    """One signed-in admin context for the module (signing in is slow by design: argon2)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("admin"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.close()
    yield context
    context.close()


def _open(context: BrowserContext, url: str, size: tuple[int, int] = WIDTHS["laptop"]) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(url)
    page.wait_for_load_state("load")
    assert errors == []
    return page


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_the_screen(admin: BrowserContext, live_server: str, name: str, width: str, lang: str) -> None:
    sep = "&" if "?" in PAGES[name] else "?"
    page = _open(admin, f"{live_server}{PAGES[name]}{sep}lang={lang}", WIDTHS[width])
    try:
        assert page.locator("html").get_attribute("lang") == lang
        # wide tables scroll inside their box; the page itself never scrolls sideways
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow} px wider than a {width} screen"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-{width}-{lang}.png"), full_page=True)
    finally:
        page.close()


def test_indicator_table_sorts_by_a_click(admin: BrowserContext, live_server: str) -> None:
    page = _open(admin, f"{live_server}/indicators?indicator=poverty_rate&area=district:legacy&lang=en")
    try:
        page.click("#indicator-table thead a[data-sort-key=value]")
        page.wait_for_url(re.compile(r"sort=value&order=asc"))
        page.click("#indicator-table thead a[data-sort-key=value]")
        page.wait_for_url(re.compile(r"sort=value&order=desc"))
        values = [
            float(v)
            for v in page.locator("#indicator-table td[data-value]").evaluate_all(
                "cells => cells.map(c => c.dataset.value)"
            )
        ]
        assert len(values) == 11 and values == sorted(values, reverse=True)
        expect(page.locator("#indicator-table th[aria-sort=descending]")).to_have_count(1)
        href = page.locator("a.download-csv").get_attribute("href") or ""
        assert "format=csv" in href and "sort=value" in href and "order=desc" in href
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_pages_and_map_write_money_alike(admin: BrowserContext, live_server: str, lang: str) -> None:
    """The indicator page's money (Babel on the server) equals what the map's formatMoney (Intl) writes."""
    page = _open(admin, f"{live_server}/indicators?indicator=mean_income&area=district:legacy&lang={lang}")
    try:
        cells = page.locator("#indicator-table td[data-value]").evaluate_all(
            "cells => cells.slice(0, 3).map(c => [Number(c.dataset.value), c.textContent.trim()])"
        )
    finally:
        page.close()
    assert cells and all("₫" in text for _, text in cells)
    page = _open(admin, f"{live_server}/map?lang={lang}")
    try:
        written = page.evaluate(
            """async (values) => {
                const m = await import('/static/map/format.js');
                return values.map((v) => m.formatMoney(v));
            }""",
            [v for v, _ in cells],
        )
    finally:
        page.close()
    assert written == [text for _, text in cells]


def test_run_now_is_followed_to_its_end(admin: BrowserContext, live_server: str) -> None:
    page = _open(admin, f"{live_server}/admin/jobs?lang=en")
    try:
        done = page.locator("#job-runs tr[data-job=duplicates][data-status=succeeded]").count()
        page.click("form.run-now button[data-job=duplicates]")
        expect(page.locator("#job-started")).to_contain_text("duplicates is starting")
        # the page reloads itself (every 5 s while a job runs) until the run has ended
        expect(page.locator("#job-runs tr[data-job=duplicates][data-status=succeeded]")).to_have_count(
            done + 1, timeout=90_000
        )
    finally:
        page.close()


def test_a_retired_raster_leaves_the_maps_hazard_list(admin: BrowserContext, live_server: str) -> None:
    page = _open(admin, f"{live_server}/admin/rasters?lang=en")
    row = page.locator("tr.raster-in-use").first
    raster = row.get_attribute("data-raster")
    try:
        row.locator("form.retire-form button").click()
        expect(page.locator(f"#raster-{raster}")).to_have_class("raster-retired")
        hazard = _open(admin, f"{live_server}/map?lang=en")
        wait_until_ready(hazard)  # the hazard list is filled from /api/rasters before the map says it is ready
        values = hazard.locator("#hazard-select option").evaluate_all("os => os.map(o => o.value)")
        hazard.close()
        assert raster not in values and len(values) > 1
    finally:
        # the live server's data are committed: the raster goes back in use for the other tests
        page.locator(f"#raster-{raster} form button").click()
        expect(page.locator(f"#raster-{raster}")).to_have_class("raster-in-use")
        page.close()


def test_form_upload_shows_the_report(admin: BrowserContext, live_server: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = _open(admin, f"{live_server}/admin/forms?lang=vi")
    try:
        page.set_input_files("#form-upload input[type=file]", str(FORMS_DIR / "general.xlsx"))
        page.click("#form-upload button[type=submit]")
        expect(page.locator("#form-report")).to_contain_text("không cần làm gì")  # the same form: nothing to do
        broken = tmp_path / "broken.xlsx"
        broken.write_bytes(b"not a workbook")
        page.set_input_files("#form-upload input[type=file]", str(broken))
        page.click("#form-upload button[type=submit]")
        expect(page.locator("#form-report")).to_contain_text("broken.xlsx: not a readable .xlsx workbook")
    finally:
        page.close()
