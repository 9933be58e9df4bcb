"""The area page: exposure per raster and what is exposed inside the area, scoped."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import client_for


def test_area_page_lists_exposure_and_exposed_things(app, client, accounts, db):
    # the current commune with most exposed households (to the 100-year flood)
    code, exposed = db.execute(
        text("""
        SELECT u.code, a.households_exposed FROM area_exposure a
        JOIN admin_units u ON u.id = a.unit_id JOIN rasters r ON r.id = a.raster_id
        WHERE u.level = 'commune' AND u.boundary = 'current' AND r.hazard = 'flood_depth'
          AND r.return_period = 100
        ORDER BY a.households_exposed DESC, u.code LIMIT 1""")
    ).one()
    rasters = db.scalar(text("SELECT count(*) FROM rasters"))
    assert exposed > 0
    body = client.get(f"/api/areas/{code}").get_json()
    assert body["unit"]["code"] == code and body["unit"]["boundary"] == "current"
    assert len(body["rasters"]) == rasters
    flood = next(r for r in body["rasters"] if r["hazard"] == "flood_depth" and r["return_period"] == 100)
    assert flood["households_exposed"] == exposed
    listed = body["households"][str(flood["id"])]
    assert listed["total"] == exposed and len(listed["rows"]) == min(exposed, 200)
    assert all(h["value"] > 0.15 for h in listed["rows"])
    for asset in body["assets"]:
        assert asset["exposures"] and all(e["share_above"] > 0 for e in asset["exposures"])

    page = client.get(f"/areas/{code}?lang=en", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="area-exposure"' in html and "Exposed households" in html
    assert client.get(f"/areas/{code}?lang=vi").get_data(as_text=True).count("Hộ chịu rủi ro") >= 1

    # legacy boundaries, and bad parameters
    legacy = db.scalar(text("SELECT code FROM admin_units WHERE level = 'district' AND boundary = 'legacy' LIMIT 1"))
    assert client.get(f"/api/areas/{legacy}?boundaries=legacy").get_json()["unit"]["level"] == "district"
    assert client.get(f"/api/areas/{code}?boundaries=old").status_code == 400
    assert client.get("/api/areas/99999").status_code == 404


def test_area_page_is_scoped(app, accounts):
    worker = client_for(app, accounts, "extension_worker")
    assert worker.get(f"/api/areas/{accounts.commune_a}").status_code == 200
    assert worker.get(f"/api/areas/{accounts.commune_b}").status_code == 404
