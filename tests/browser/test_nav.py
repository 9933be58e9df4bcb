"""The site menu in headless Chromium: every page of each role is on screen, or one click away,
on a phone (390 px) and a laptop (1366 px), in Vietnamese and English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.test_map import SCREENSHOTS

pytestmark = pytest.mark.browser

COMMON = (
    "/map",
    "/indicators",
    "/evaluation",
    "/pass-on",
    "/visits/due",
    "/submissions",
    "/sensors",
    "/sensors/alerts",
)
ADMIN = (
    "/admin/users",
    "/admin/duplicates",
    "/admin/standards",
    "/admin/rasters",
    "/admin/forms",
    "/admin/jobs",
    "/admin/audit",
)
#: the pages each role has in its menu
ENTRIES = {
    "admin": (*COMMON, "/field", "/imports", "/siting", "/planning", *ADMIN),
    "planner": (*COMMON, "/imports", "/siting", "/planning"),
    "extension_worker": (*COMMON, "/field"),
    "evaluator": COMMON,
}
WIDTHS = {"phone": (390, 844), "laptop": (1366, 768)}
#: a light page every role may open
PAGE = "/visits/due"


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: str, accounts) -> Iterator[dict[str, BrowserContext]]:  # type: ignore[no-untyped-def]
    """One signed-in browser context per role (signing in is slow by design: argon2)."""
    contexts = {}
    for role in ENTRIES:
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#username", accounts.name(role))
        page.fill("#password", accounts.password)
        page.click("form.stack-form button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.close()
        contexts[role] = context
    yield contexts
    for context in contexts.values():
        context.close()


def _on_screen(page: Page, href: str) -> bool:
    """The menu entry is displayed and lies wholly inside the viewport."""
    link = page.locator(f".site-nav a[href='{href}']")
    if link.count() != 1 or not link.is_visible():
        return False
    box = link.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]  # type: ignore[index]
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width
        and (box["y"] + box["height"] <= height)
    )


def _open(context: BrowserContext, base: str, lang: str, size: tuple[int, int]) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{base}{PAGE}?lang={lang}")
    page.wait_for_load_state("load")
    assert errors == []
    return page


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", list(ENTRIES))
def test_every_menu_entry_is_visible_or_one_click_away(
    signed_in: dict[str, BrowserContext], live_server: str, role: str, width: str, lang: str
) -> None:
    size = WIDTHS[width]
    page = _open(signed_in[role], live_server, lang, size)
    try:
        # nothing sticks out sideways: no page-wide horizontal scrolling hides part of the header
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        expected = set(ENTRIES[role])
        shown = {href for href in expected if _on_screen(page, href)}
        links = page.locator(".site-header .site-nav a")
        present = {links.nth(i).get_attribute("href") for i in range(links.count())}
        assert present == expected  # the role's pages, no more
        page.screenshot(path=str(SCREENSHOTS / f"nav-{role}-{width}-{lang}.png"))

        # one click on a menu button (the phone's menu, the laptop's Administration) shows the rest
        buttons = page.locator(".site-header button[aria-expanded]")
        reached = set(shown)
        for i in range(buttons.count()):
            button = buttons.nth(i)
            if not button.is_visible():
                continue
            assert button.get_attribute("aria-expanded") == "false"
            button.click()
            assert button.get_attribute("aria-expanded") == "true"
            revealed = {href for href in expected if _on_screen(page, href)}
            if revealed - shown:
                page.screenshot(path=str(SCREENSHOTS / f"nav-{role}-{width}-{lang}-open.png"))
            reached |= revealed
            button.click()  # and closes again
            assert button.get_attribute("aria-expanded") == "false"
        assert reached == expected, f"not reachable in one click: {sorted(expected - reached)}"
        if width == "phone":
            assert not shown, "on a phone the menu starts closed behind its button"
            toggle = page.locator("#menu-toggle")
            toggle.click()
            assert page.locator(".lang-switch a[hreflang=en]").is_visible()
            assert page.locator(".account .link-button").is_visible()  # sign-out too
        else:
            assert shown >= set(ENTRIES[role]) - set(ADMIN)  # a laptop shows every page but the admin list
            assert page.locator(".account .link-button").is_visible()
    finally:
        page.close()


def test_the_admin_menu_closes_on_escape(signed_in: dict[str, BrowserContext], live_server: str) -> None:
    page = _open(signed_in["admin"], live_server, "vi", WIDTHS["laptop"])
    try:
        page.click("#admin-menu-toggle")
        assert _on_screen(page, "/admin/audit")
        page.keyboard.press("Escape")
        assert page.locator("#admin-menu-toggle").get_attribute("aria-expanded") == "false"
        assert not _on_screen(page, "/admin/audit")
        page.click("#admin-menu-toggle")
        page.mouse.click(20, 700)  # a click elsewhere closes it too
        assert not _on_screen(page, "/admin/audit")
    finally:
        page.close()
