"""Indicator tables (issue #16 item 10): /indicators sorted by any column, /indicators/pivot, and their
CSV/XLSX downloads (/api/indicators?format=…)."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import text

from tests.conftest import client_for


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_indicator_downloads(client, db):  # type: ignore[no-untyped-def]
    year = db.scalar(text("SELECT max(year) FROM area_indicators WHERE level = 'district'"))
    args = f"indicator=poverty_rate&level=district&boundaries=legacy&year={year}"
    body = client.get(f"/api/indicators?{args}").get_json()["rows"]
    r = client.get(f"/api/indicators?{args}&format=csv&sort=value&order=desc")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert f"sinhke-poverty_rate-district-legacy-{year}.csv" in r.headers["Content-Disposition"]
    rows = _csv(r.data)
    assert len(rows) == len(body) == 11  # the 11 legacy districts of Lạng Sơn
    values = [float(x["value"]) for x in rows]
    assert values == sorted(values, reverse=True)
    assert {x["name"] for x in rows} == {x["name"] for x in body} and any("Bình Gia" in x["name"] for x in rows)
    x = client.get(f"/api/indicators?{args}&format=xlsx")
    sheet = load_workbook(io.BytesIO(x.data)).active
    table = list(sheet.values)
    assert table[0][:4] == ("code", "name", "year", "value") and len(table) == 12
    change = _csv(client.get("/api/indicators?indicator=mean_income_change&format=csv").data)
    assert change and "prev_year" in change[0]
    bad = client.get("/api/indicators?format=gpkg")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "format"


def test_indicator_page_sorts_and_links_its_downloads(client):  # type: ignore[no-untyped-def]
    page = client.get("/indicators?indicator=mean_income&area=commune:current&sort=value&order=desc&lang=vi")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    values = [float(v) for v in re.findall(r'<td class="num" data-value="([0-9.]+)">', html)]
    assert len(values) > 50 and values == sorted(values, reverse=True)
    assert re.search(r'<td class="num" data-value="[0-9.]+">[0-9.]+\xa0₫</td>', html)  # vi money, as on the map
    assert 'aria-sort="descending"' in html
    csv_link = re.search(r'href="(/api/indicators\?[^"]*format=csv[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "sort=value" in csv_link and "order=desc" in csv_link
    assert float(_csv(client.get(csv_link).data)[0]["value"]) == values[0]


def test_a_year_of_another_indicator_falls_back_to_this_ones_latest(client, db):  # type: ignore[no-untyped-def]
    first = db.scalar(text("SELECT min(year) FROM area_indicators"))
    page = client.get(f"/indicators?indicator=mean_income_change&year={first}&lang=en")
    assert page.status_code == 200 and "Compared with" in page.get_data(as_text=True)


def test_pivot_indicator_by_area_by_year(client, db):  # type: ignore[no-untyped-def]
    years = list(db.scalars(text("SELECT DISTINCT year FROM area_indicators ORDER BY year")))
    r = client.get("/indicators/pivot?indicator=poverty_rate&indicator=households&area=district:legacy&lang=en")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.count('data-indicator="poverty_rate" data-year=') == 11 * len(years)
    one = db.execute(
        text(
            "SELECT u.code, a.year, round(100.0 * a.poor / a.households, 2) FROM area_indicators a "
            "JOIN admin_units u ON u.id = a.unit_id WHERE a.level = 'district' AND a.boundary = 'legacy' "
            "ORDER BY u.code, a.year LIMIT 1"
        )
    ).one()
    row = html.split(f'<tr data-code="{one[0]}">', 1)[1].split("</tr>", 1)[0]
    assert f'data-indicator="poverty_rate" data-year="{one[1]}">{float(one[2]):,.2f} %' in row
    flat = _csv(
        client.get(
            "/api/indicators/pivot?indicators=poverty_rate,households&level=district&boundaries=legacy&format=csv"
        ).data
    )
    assert len(flat) == 11 and f"poverty_rate {years[0]}" in flat[0] and f"households {years[-1]}" in flat[0]
    j = client.get("/api/indicators/pivot?indicators=poverty_rate&level=province&boundaries=current").get_json()
    assert len(j["rows"]) == 1 and set(j["rows"][0]["values"]["poverty_rate"]) == {str(y) for y in years}
    assert client.get("/api/indicators/pivot?indicators=nope").status_code == 400


def test_indicator_pages_are_scoped(app, accounts):  # type: ignore[no-untyped-def]
    planner = client_for(app, accounts, "planner")
    html = planner.get("/indicators?area=commune:current").get_data(as_text=True)
    assert len(re.findall(r"<tr data-code=", html)) == 1  # the test planner sees commune A only
