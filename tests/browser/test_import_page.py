"""The upload page in headless Chromium: a planner uploads a file with bad rows and reads the report."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.test_map import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_planner_uploads_and_sees_every_problem(browser: Browser, live_server: str, accounts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # refused as a whole: the live server commits only the import's own row, never households
    path = tmp_path / "danh_sach.csv"
    path.write_text(
        "Mã hộ,Họ và tên chủ hộ,Xã,Số nhân khẩu,Ngày đăng ký\n"
        f"B-1,Lò Văn Tư,{accounts.commune_a},0,2025-09-01\n"
        f"B-2,Lò Văn Năm,{accounts.commune_a},4,31/02/2025\n",
        encoding="utf-8",
    )
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/login?lang=en")
    page.fill("#username", accounts.name("planner"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/imports?lang=en")
    page.click(".site-nav a[href='/imports']")
    page.select_option("select[name=layer]", "households")
    page.set_input_files("input[name=file]", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_url(lambda url: "/imports/" in url)
    assert "Refused" in page.inner_text("#import-status")
    rows = page.locator("#problems tbody tr")
    assert rows.count() == 2
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(2)] == ["members", "registered_on"]
    assert page.locator("#count-inserted").inner_text() == "0"
    with page.expect_download() as download:
        page.click("a[href$='problems.csv']")
    assert download.value.suggested_filename.endswith("-problems.csv")
    page.screenshot(path=str(SCREENSHOTS / "import-report.png"), full_page=True)
    assert errors == []
    context.close()


def test_a_large_upload_shows_its_progress_then_the_report(
    browser: Browser, live_server: str, accounts, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Over the size limit for the request, the import runs in a process of its own: the report
    page shows its phase and rows first, then the report. The file is refused (its last row is
    bad), so the committed demo gains nothing but the imports row. An admin uploads: a scoped
    planner's rows take far longer (the scope checks) on a loaded machine."""
    from webapp.views import imports

    monkeypatch.setattr(imports, "BACKGROUND_BYTES", 0)
    rows = [f"P-{i:05d},Lò Văn Tư,{accounts.commune_a},4,2025-09-01" for i in range(1, 5_000)]
    rows.append(f"P-05000,Lò Văn Năm,{accounts.commune_a},0,2025-09-01")
    path = tmp_path / "danh_sach_lon.csv"
    path.write_text("Mã hộ,Họ và tên chủ hộ,Xã,Số nhân khẩu,Ngày đăng ký\n" + "\n".join(rows) + "\n", encoding="utf-8")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/login?lang=en")
    page.fill("#username", accounts.name("admin"))
    page.fill("#password", accounts.password)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/imports?lang=en")
    page.select_option("select[name=layer]", "households")
    page.set_input_files("input[name=file]", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_url(lambda url: "/imports/" in url)
    # first the progress (the page as the redirect renders it, while the process starts) …
    assert page.locator("#import-progress").count() == 1
    assert "of about" in page.inner_text("#progress-rows")
    # … then, polled, the report
    page.wait_for_selector("#import-status", timeout=120_000)
    assert "Refused" in page.inner_text("#import-status")
    assert page.locator("#import-progress").count() == 0
    assert [page.locator("#problems tbody tr td").nth(i).inner_text() for i in range(2)] == ["5000", "members"]
    assert errors == []
    context.close()
