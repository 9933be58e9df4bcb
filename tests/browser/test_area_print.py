"""The area profile prints as a clean A4 report in headless Chromium (looked at as PNG too)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.test_map import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_area_profile_prints_to_a4_pdf(browser: Browser, live_server: str, accounts) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("planner"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/areas/{accounts.commune_a}?lang=vi")
    assert page.locator("#area-targets tbody tr").count() >= 1
    page.emulate_media(media="print")
    # printed: no menu, the targets and money tables shown
    assert not page.locator(".site-header").is_visible()
    assert page.locator("#area-targets").is_visible() and page.locator("#area-money").is_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(SCREENSHOTS / "area-print.png"))
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF-")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 1 <= pages <= 6
    (SCREENSHOTS / "area-print.pdf").write_bytes(pdf)
    context.close()
