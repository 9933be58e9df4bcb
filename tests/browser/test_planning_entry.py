"""/planning/targets in headless Chromium: a planner adds a target for their commune and edits it on the
page (a real form with its CSRF token); a planner of another commune can neither see nor open it.

The live server commits: the target is deleted at the end; the second planner stays in the test
database (users are not deleted: the audit trail names them), which the next run makes afresh."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from spatial.accounts import create_user
from spatial.db import transaction

pytestmark = pytest.mark.browser
PASSWORD = "entry browser password 1"


def _sign_in(browser: Browser, live_server: str, name: str, password: str) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(f"{live_server}/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_a_planner_adds_and_edits_a_target_another_cannot(  # type: ignore[no-untyped-def]
    browser: Browser, live_server: str, accounts, demo_settings
) -> None:
    other = f"planner_b_{secrets.token_hex(3)}"
    with transaction(demo_settings) as s:
        create_user(s, other, "planner", password=PASSWORD, areas=[accounts.commune_b])
    page = _sign_in(browser, live_server, accounts.name("planner"), accounts.password)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/planning?lang=en")
    page.click("#planning-entry-links a[href='/planning/targets']")
    # only the planner's own commune can be chosen
    areas = page.locator("#entry-area option").evaluate_all("os => os.map(o => o.value).filter(Boolean)")
    assert areas == [accounts.commune_a]
    page.select_option("#entry-area", accounts.commune_a)
    page.fill("#entry-year", "2031")
    page.select_option("#entry-indicator", "works_completed")
    page.fill("#entry-value", "3")
    page.click("#entry-save")
    page.wait_for_selector("#entry-flash")
    row = page.locator("#entry-rows tr", has_text="2031")
    assert row.count() == 1 and "3.00" in row.inner_text()
    target_id = int(row.get_attribute("data-id") or 0)
    try:
        row.locator("a").click()
        page.wait_for_url(f"**/planning/targets/{target_id}")
        assert page.input_value("#entry-value") == "3"
        page.fill("#entry-value", "2.5")  # not a whole count: refused, the field named, nothing saved
        page.click("#entry-save")
        assert page.get_attribute("#entry-error", "data-field") == "value"
        page.fill("#entry-value", "5")
        page.click("#entry-save")
        page.wait_for_selector("#entry-flash")
        assert "5.00" in page.locator(f"#entry-rows tr[data-id='{target_id}']").inner_text()
        assert not errors
        # the planner of commune B: the target is not listed, and its page is not found
        theirs = _sign_in(browser, live_server, other, PASSWORD)
        theirs.goto(f"{live_server}/planning/targets?lang=en")
        assert theirs.locator(f"#entry-rows tr[data-id='{target_id}']").count() == 0
        assert theirs.locator("#entry-area option").evaluate_all("os => os.map(o => o.value).filter(Boolean)") == [
            accounts.commune_b
        ]
        assert theirs.goto(f"{live_server}/planning/targets/{target_id}").status == 404
        theirs.context.close()
    finally:
        with transaction(demo_settings) as s:  # committed by the live server: not left for other tests
            value = s.scalar(text("SELECT value FROM targets WHERE id = :i"), {"i": target_id})
            s.execute(text("DELETE FROM targets WHERE id = :i"), {"i": target_id})
        page.context.close()
    assert value == 5
