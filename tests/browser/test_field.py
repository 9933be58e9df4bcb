"""The /field app in headless Chromium: a visit logged with the network off, kept through a
reload, synced when the network is back, and found on the server.

Every wait and evaluation passes a JavaScript *function* (the page's CSP forbids eval).
"""

from __future__ import annotations

import struct
import unicodedata
import uuid
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from sqlalchemy import text

from spatial.db import transaction
from spatial.model_status import programme_today, refresh_model_status
from tests.conftest import model_in_commune

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"
TIMEOUT_MS = 60_000


def _png(width: int = 64, height: int = 48) -> bytes:
    """A small grey PNG made here; the app resizes it to a JPEG on the "phone"."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([128, 140, 150]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def worker_page(browser: Browser, live_server: str, accounts, demo_settings) -> Iterator[tuple[Page, list[str], str]]:  # type: ignore[no-untyped-def]
    """The extension worker of commune A signed in on a phone-sized page, with a GPS fix."""
    # a chicken model of its own in commune A (the chicken form; no cow-bank ledger involved)
    model = f"T-FIELD-{uuid.uuid4().hex[:6]}"
    with transaction(demo_settings) as s:  # committed: the live server reads it on its own connections
        model_in_commune(
            s,
            accounts.commune_a,
            model,
            "free_range_chicken",
            "Gà thả vườn thử nghiệm",
            start_date=date(2024, 1, 1),
            budget_vnd=10_000_000,
            households=3,
        )
        # its status as the nightly model_status job left it: never visited, overdue
        model_id = s.execute(text("SELECT id FROM livelihood_models WHERE code = :c"), {"c": model}).scalar_one()
        refresh_model_status(s, programme_today(), [model_id])
    context = browser.new_context(
        viewport={"width": 412, "height": 860},
        locale="en-GB",
        geolocation={"latitude": 21.85, "longitude": 106.76, "accuracy": 12},
        permissions=["geolocation"],
    )
    errors: list[str] = []
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.goto(f"{live_server}/login")
    page.fill("#username", accounts.name("extension_worker"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(f"{live_server}/map")
    try:
        yield page, errors, model
    finally:
        context.close()
        with transaction(demo_settings) as s:  # so removed by hand, with the visits the live server committed
            s.execute(
                text("DELETE FROM visits WHERE model_id = (SELECT id FROM livelihood_models WHERE code = :c)"),
                {"c": model},
            )
            s.execute(
                text("DELETE FROM model_status WHERE model_id = (SELECT id FROM livelihood_models WHERE code = :c)"),
                {"c": model},
            )
            s.execute(text("DELETE FROM livelihood_models WHERE code = :c"), {"c": model})


def _ready(page: Page) -> None:
    page.wait_for_function("() => document.body.dataset.fieldReady === '1'", timeout=TIMEOUT_MS)


def _fill_required(page: Page) -> None:
    """Answer every shown required question of the chicken form with a valid value."""
    page.fill("[data-field='household_code'] input", "HH-TEST-1")
    page.fill("[data-field='flock_size'] input", "40")
    page.fill("[data-field='deaths'] input", "2")
    page.check("[data-field='death_cause'] input[value='disease']")
    page.fill("[data-field='sold'] input", "0")
    page.check("[data-field='vaccinations'] input[value='newcastle']")
    page.check("[data-field='disease_outbreak'] input[value='no']")


def test_visit_logged_offline_is_kept_and_synced(worker_page, live_server: str, demo_settings) -> None:  # type: ignore[no-untyped-def]
    page, errors, model = worker_page
    # before the visit: a model started in 2024 and never visited is overdue on its page
    page.goto(f"{live_server}/models/{model}?lang=en")
    before = page.locator("#model-status").inner_text()
    assert "never visited" in before and "days overdue" in before
    page.goto(f"{live_server}/field?lang=en")
    _ready(page)
    # the service worker takes control, so the app opens without a network later
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
    assert page.locator(f"li[data-model='{model}']").count() == 1
    page.wait_for_function("() => window.sinhkeFieldMap && window.sinhkeFieldMap.loaded()", timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "field-models.png"))

    page.context.set_offline(True)
    page.wait_for_function("() => document.getElementById('net-state').dataset.online === '0'")
    page.click(f"li[data-model='{model}'] button")
    page.wait_for_function(
        "() => /accurate to \\d+ m/.test(document.getElementById('gps-state').textContent)", timeout=TIMEOUT_MS
    )

    # the same rules as the server run on the phone: a missing answer is refused before saving
    page.click("#save-visit")
    assert "required" in page.locator("#form-errors").inner_text()
    # a question that does not apply is hidden; it shows when its condition holds
    assert page.locator("[data-field='death_cause']").is_hidden()
    _fill_required(page)
    assert page.locator("[data-field='death_cause']").is_visible()
    page.set_input_files("#photo-input", files=[{"name": "pen.png", "mimeType": "image/png", "buffer": _png()}])
    page.wait_for_function("() => /resized/.test(document.getElementById('photo-state').textContent)")
    page.screenshot(path=str(SCREENSHOTS / "field-form.png"), full_page=True)
    page.click("#save-visit")
    entry = page.locator("li.outbox-item").first
    page.click("button.field-tab[data-view='outbox']")
    assert entry.get_attribute("data-state") == "saved"
    visit_id = entry.get_attribute("data-visit-id")
    assert visit_id

    # closing and reopening the app offline: the shell comes from the service worker, the
    # visit from IndexedDB, still waiting to be sent
    page.reload()
    _ready(page)
    page.click("button.field-tab[data-view='outbox']")
    kept = page.locator(f"li[data-visit-id='{visit_id}']")
    assert kept.get_attribute("data-state") == "saved"
    with transaction(demo_settings) as s:  # what the live server committed
        assert s.execute(text("SELECT count(*) FROM visits WHERE id = :id"), {"id": visit_id}).scalar() == 0

    # the network is back: the outbox is sent
    page.context.set_offline(False)
    page.wait_for_function(
        f"() => document.querySelector(\"li[data-visit-id='{visit_id}']\").dataset.state === 'sent'", timeout=TIMEOUT_MS
    )
    page.screenshot(path=str(SCREENSHOTS / "field-outbox.png"))
    found = page.evaluate(
        """async ([model, id]) => {
        const r = await fetch(`/api/visits?model=${encodeURIComponent(model)}`);
        const visit = (await r.json()).visits.find((v) => v.id === id);
        return visit ? {answers: visit.answers, accuracy: visit.accuracy_m, location: visit.location,
                        photo: visit.photo} : null;
    }""",
        [model, visit_id],
    )
    assert found is not None
    assert found["answers"]["flock_size"] == 40 and found["answers"]["vaccinations"] == ["newcastle"]
    assert found["answers"]["death_cause"] == "disease" and "disease_signs" not in found["answers"]
    assert found["accuracy"] == 12 and found["location"]["coordinates"] == [106.76, 21.85]
    photo = page.evaluate(
        """async (url) => {
        const r = await fetch(url); return {status: r.status, type: r.headers.get('content-type')}; }""",
        found["photo"],
    )
    assert photo == {"status": 200, "type": "image/jpeg"}

    # and the model page lists it, with its answers and photo; the synced visit counts at once
    # (no nightly job in between): the model is up to date
    page.goto(f"{live_server}/models/{model}?lang=en")
    status = page.locator("#model-status").inner_text()
    assert "up to date" in status and "overdue" not in status
    row = page.locator(f"#model-visits tr[data-visit-id='{visit_id}']")
    assert row.count() == 1
    # its time in the programme's zone (Asia/Ho_Chi_Minh, UTC+7), not in UTC
    with transaction(demo_settings) as s:
        visited_at = s.execute(text("SELECT visited_at FROM visits WHERE id = :id"), {"id": visit_id}).scalar_one()
    local = visited_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d %H:%M")
    utc = visited_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
    assert local in row.inner_text() and utc not in row.inner_text()
    assert local in status
    assert "40" in row.inner_text() and "12.0 m" in row.inner_text()
    assert row.locator("a", has_text="Photo").get_attribute("href") == f"/api/visits/{visit_id}/photo"
    page.screenshot(path=str(SCREENSHOTS / "field-model-page.png"), full_page=True)
    assert errors == []


def _open_menu(page: Page) -> None:
    """The header menu of a phone-sized page (the language switch and sign-out are in it)."""
    if (
        page.locator("#menu-toggle").is_visible()
        and page.locator("#menu-toggle").get_attribute("aria-expanded") != "true"
    ):
        page.click("#menu-toggle")


def test_language_switch_in_field_works_at_once_offline(worker_page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page, errors, model = worker_page
    page.goto(f"{live_server}/field?lang=en")
    _ready(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
    # the service worker keeps the app page in both languages
    page.wait_for_function(
        """async () => { const names = await caches.keys();
          const cache = await caches.open(names.find((n) => n.startsWith('sinhke-field-')));
          return Boolean(await cache.match('/field?lang=vi')) && Boolean(await cache.match('/field?lang=en')); }""",
        timeout=TIMEOUT_MS,
    )
    assert page.locator("button.field-tab[data-view='models']").inner_text() == "My models"
    page.context.set_offline(True)
    _open_menu(page)
    page.click(".lang-switch a[hreflang='vi']")
    _ready(page)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("button.field-tab[data-view='models']").inner_text() == "Mô hình của tôi"
    assert page.locator("#net-state").inner_text().startswith("Mất mạng")
    assert page.locator(f"li[data-model='{model}'] .model-last").inner_text() == "Chưa được thăm"
    page.screenshot(path=str(SCREENSHOTS / "field-vi-offline.png"))
    _open_menu(page)
    page.click(".lang-switch a[hreflang='en']")
    _ready(page)
    assert page.locator("button.field-tab[data-view='models']").inner_text() == "My models"
    # and opened again without choosing, it stays in the language last chosen
    page.goto(f"{live_server}/field")
    _ready(page)
    assert page.locator("html").get_attribute("lang") == "en"
    assert errors == []


def test_sign_out_clears_the_field_data_after_warning(worker_page, live_server: str, accounts) -> None:  # type: ignore[no-untyped-def]
    page, errors, model = worker_page
    page.goto(f"{live_server}/field?lang=en")
    _ready(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
    # the visit cannot reach the server (as on a bad network): it stays on the phone, unsent
    page.route("**/api/visits", lambda route: route.abort())
    page.click(f"li[data-model='{model}'] button")
    _fill_required(page)
    page.click("#save-visit")
    page.wait_for_selector("li.outbox-item[data-state='saved']", state="attached")
    worker = accounts.name("extension_worker")

    stored = """async () => {
      const db = await new Promise((ok, ko) => { const r = indexedDB.open('sinhke-field', 1);
        r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
      const count = (name) => new Promise((ok) => { const r = db.transaction(name).objectStore(name).count();
        r.onsuccess = () => ok(r.result); });
      const out = {outbox: await count('outbox'), data: await count('data'), pages: []};
      db.close();
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) out.pages.push(await (await cache.match(request)).text());
      }
      return out;
    }"""
    before = page.evaluate(stored)
    assert before["outbox"] == 1 and before["data"] >= 3
    assert any(worker in text for text in before["pages"])

    # warned about the unsent visit; cancelling keeps the user signed in with the visit
    messages: list[str] = []

    def answer(dialog) -> None:  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.dismiss() if len(messages) == 1 else dialog.accept()

    page.on("dialog", answer)
    _open_menu(page)
    page.click("form[data-sign-out] button")
    for _ in range(100):
        if messages:
            break
        page.wait_for_timeout(100)
    assert messages and messages[0].startswith("Visits on this phone not sent yet: 1.")
    assert page.url.endswith("/field?lang=en")
    assert page.evaluate(stored)["outbox"] == 1

    # confirmed: signed out, and nothing of the worker is left in the browser
    page.click("form[data-sign-out] button")
    page.wait_for_url(f"{live_server}/login*")
    after = page.evaluate(stored)
    assert after["outbox"] == 0 and after["data"] == 0
    assert not any(worker in text for text in after["pages"])
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('sinhke-field')).length") == 0
    assert len(messages) == 2
    # the only console errors: the sends this test made fail on purpose
    assert [e for e in errors if "net::ERR_FAILED" not in e] == []


def _folded(text_: str) -> str:
    """What a worker types without Vietnamese diacritics ("Nguyễn" → "nguyen")."""
    plain = unicodedata.normalize("NFD", text_).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in plain if not unicodedata.combining(c)).lower()


def test_household_pick_list_offline_errors_follow_and_warnings_confirmed(  # type: ignore[no-untyped-def]
    worker_page, live_server: str, demo_settings
) -> None:
    page, errors, model = worker_page
    with transaction(demo_settings) as s:
        households = s.execute(
            text(
                "SELECT h.code, h.head_name FROM model_participants p JOIN households h ON h.id = p.household_id"
                " JOIN livelihood_models m ON m.id = p.model_id WHERE m.code = :c ORDER BY h.code"
            ),
            {"c": model},
        ).all()
    assert len(households) == 3
    page.goto(f"{live_server}/field?lang=en")
    _ready(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
    # offline, and the app opened again: the pick-list comes from the phone
    page.context.set_offline(True)
    page.reload()
    _ready(page)
    page.click(f"li[data-model='{model}'] button")

    # a first check lists what is missing; the list follows each correction at once
    page.click("#save-visit")
    assert "Household visited: This field is required." in page.locator("#form-errors").inner_text()
    household = page.locator("[data-field='household_code'] input")
    household.focus()
    options = page.locator("[data-field='household_code'] .pick-option")
    assert sorted(options.evaluate_all("(nodes) => nodes.map((n) => n.dataset.code)")) == [h.code for h in households]
    code, head = households[1]
    household.press_sequentially(_folded(head.split()[-1]))
    assert code in options.evaluate_all("(nodes) => nodes.map((n) => n.dataset.code)")
    page.screenshot(path=str(SCREENSHOTS / "field-pick-list.png"), full_page=True)
    page.locator(f"[data-field='household_code'] .pick-option[data-code='{code}']").click()
    assert household.input_value() == code
    assert "Household visited" not in page.locator("#form-errors").inner_text()
    assert "Birds in the flock now: This field is required." in page.locator("#form-errors").inner_text()

    # 3 birds sold for 3 VND: valid, but saved only once the worker confirms it
    page.fill("[data-field='flock_size'] input", "40")
    page.fill("[data-field='deaths'] input", "0")
    page.fill("[data-field='sold'] input", "3")
    page.fill("[data-field='sales_vnd'] input", "3")
    page.check("[data-field='vaccinations'] input[value='newcastle']")
    page.check("[data-field='disease_outbreak'] input[value='no']")
    assert page.locator("#form-errors li").count() == 0
    page.click("#save-visit")
    warning = page.locator("#form-warnings li[data-field='sales_vnd']")
    assert warning.inner_text() == "Sales income (VND): Usually 20,000 to 500,000,000 VND: please check"
    assert page.locator("#save-visit").inner_text() == "Save anyway"
    assert page.locator("li.outbox-item").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "field-warning.png"), full_page=True)
    page.click("#save-visit")
    page.wait_for_selector("li.outbox-item[data-state='saved']", state="attached")
    saved = page.evaluate(
        """async () => { const db = await new Promise((ok) => { const r = indexedDB.open('sinhke-field', 1);
          r.onsuccess = () => ok(r.result); });
          return new Promise((ok) => { const r = db.transaction('outbox').objectStore('outbox').getAll();
          r.onsuccess = () => ok(r.result.map((e) => e.body.answers)); }); }"""
    )
    assert saved == [
        {
            "household_code": code,
            "flock_size": 40,
            "deaths": 0,
            "sold": 3,
            "sales_vnd": 3,
            "vaccinations": ["newcastle"],
            "disease_outbreak": "no",
        }
    ]
    assert errors == []
