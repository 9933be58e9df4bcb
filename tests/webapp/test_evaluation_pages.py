"""The evaluator page and the downloads (CSV, XLSX, GeoPackage) with diacritics intact."""

import io

import pytest

from tests.conftest import client_for


def test_evaluation_page(client):
    page = client.get("/evaluation?lang=en").get_data(as_text=True)
    assert "Effect of participation on income" in page
    assert "Any model" in page and "<svg" in page  # event-study chart drawn server-side
    assert "biased" in page


def test_json(client):
    body = client.get("/api/evaluations?level=province").get_json()
    types = {r["model_type"] for r in body["rows"]}
    assert "all" in types and body["unit"].startswith("VND")
    ok = [r for r in body["rows"] if r["model_type"] == "all" and r["estimator"] == "cs_did"]
    assert ok and ok[0]["status"] == "ok" and ok[0]["ci_low"] < ok[0]["att"] < ok[0]["ci_high"]
    assert client.get("/api/evaluations?format=pdf").status_code == 400
    assert client.get("/api/evaluations?level=hamlet").status_code == 400


def test_csv_keeps_diacritics(client):
    r = client.get("/api/evaluations?level=province&format=csv")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("code,name,level,model_type")
    assert "Tỉnh Lạng Sơn" in text


def test_xlsx(client):
    from openpyxl import load_workbook

    r = client.get("/api/evaluations?level=commune&format=xlsx")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.values)
    assert rows[0][:3] == ("code", "name", "level")
    assert any(isinstance(row[1], str) and row[1].startswith(("Xã", "Phường")) for row in rows[1:])


def test_geopackage(client, tmp_path):
    from pyogrio import read_info
    from pyogrio.raw import read

    r = client.get("/api/evaluations?level=commune&format=gpkg")
    path = tmp_path / "e.gpkg"
    path.write_bytes(r.data)
    info = read_info(path)
    assert info["crs"] == "EPSG:4326" and info["features"] > 65
    meta, _fids, geometry, fields = read(path)
    names = fields[list(meta["fields"]).index("name")]
    assert any("ạ" in n or "ơ" in n or "ư" in n for n in names)
    assert all(g is not None for g in geometry)


@pytest.mark.parametrize("role", ["extension_worker", "evaluator"])
def test_scoped(app, accounts, role):
    c = client_for(app, accounts, role)
    rows = c.get("/api/evaluations?level=commune").get_json()["rows"]
    assert {r["code"] for r in rows} <= {accounts.commune_a}
    assert c.get("/api/evaluations?level=province").get_json()["rows"] == []
