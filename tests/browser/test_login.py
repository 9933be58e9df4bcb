"""Signing in and out in headless Chromium; a scoped user's map shows only their communes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.test_map import COMMUNES_LAYER, READY_TIMEOUT_MS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    context.close()
    assert errors == []


def _sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("form.stack-form button[type=submit]")


def test_login_logout_and_scoped_map(page: Page, live_server: str, accounts) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/map?lang=en")
    assert "/login" in page.url  # private: sent to sign in first

    _sign_in(page, live_server, accounts.name("extension_worker"), "not the password")
    assert page.locator(".form-error").is_visible()
    assert "Wrong user name or password" in page.locator(".form-error").inner_text()

    _sign_in(page, live_server, accounts.name("extension_worker"), accounts.password)
    page.wait_for_url(f"{live_server}/map?lang=en")  # back where the person was going
    page.wait_for_function("() => document.body.dataset.mapReady === '1'", timeout=READY_TIMEOUT_MS)
    codes = page.evaluate(
        """(layer) => [...new Set(window.sinhkeMap.queryRenderedFeatures({layers: [layer]})
                                  .map(f => f.properties.code))]""",
        COMMUNES_LAYER,
    )
    assert codes == [accounts.commune_a]  # only the commune this worker is assigned
    assert page.locator(".account-name").inner_text()  # who is signed in is shown
    assert page.locator("a[href='/admin/users']").count() == 0  # no admin links for a worker

    page.click(".account .link-button")  # sign out (a POST form with its CSRF token)
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/map")
    assert "/login" in page.url
