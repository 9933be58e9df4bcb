"""Times on pages and in exports are the programme's local time (SINHKE_TIMEZONE), not UTC."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from spatial.exports import table_file
from spatial.localtime import local_iso

#: a visit at 03:10 on 2 December in Vietnam
VISIT = datetime(2026, 12, 1, 20, 10, tzinfo=UTC)


def test_the_filter_shows_vietnams_wall_clock(app):
    localtime = app.jinja_env.filters["localtime"]
    assert localtime(VISIT) == "2026-12-02 03:10"
    assert localtime(VISIT, "%H:%M:%S") == "03:10:00"
    assert localtime("2026-12-01T20:10:00+00:00") == "2026-12-02 03:10"  # ISO text, as the catalogue keeps it
    assert localtime(datetime(2026, 12, 1, 20, 10)) == "2026-12-02 03:10"  # naive: taken as UTC
    assert localtime(None) == "–"


def test_the_zone_is_a_setting(demo_settings):
    from webapp import create_app

    app = create_app(dataclasses.replace(demo_settings, timezone="Europe/Paris"))
    assert app.jinja_env.filters["localtime"](VISIT) == "2026-12-01 21:10"


def test_exports_name_the_offset():
    assert local_iso(VISIT, "Asia/Ho_Chi_Minh") == "2026-12-02T03:10:00+07:00"
    csv = table_file("csv", ["at", "n"], [{"at": VISIT, "n": 1}], "t", zone="Asia/Ho_Chi_Minh")
    assert csv.decode("utf-8-sig").splitlines()[1] == "2026-12-02T03:10:00+07:00,1"


def test_xlsx_keeps_the_offset():
    import io

    from openpyxl import load_workbook

    data = table_file("xlsx", ["at"], [{"at": VISIT}], "t", zone="Asia/Ho_Chi_Minh")
    assert list(load_workbook(io.BytesIO(data)).active.values)[1] == ("2026-12-02T03:10:00+07:00",)


def test_admin_pages_print_local_times(client):
    page = client.get("/admin/jobs?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Times are in Asia/Ho_Chi_Minh." in page and 'class="next-run"' in page
