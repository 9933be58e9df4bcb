"""``/api/search``: places by name or code, diacritics ignored, scoped like the map, bad input a 400."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import text

from spatial.place_search import fold
from tests.conftest import client_for


def test_finds_a_commune_by_its_name_without_diacritics_and_a_model_by_its_code(client, db):
    name, code = db.execute(
        text("SELECT name, code FROM admin_units WHERE level = 'commune' AND boundary = 'current' ORDER BY id LIMIT 1")
    ).one()
    bare = name.split(" ", 1)[1].replace("đ", "d").replace("Đ", "D")  # đ has no decomposition
    bare = unicodedata.normalize("NFD", bare).encode("ascii", "ignore").decode().lower()
    assert bare.isascii()
    body = client.get("/api/search", query_string={"q": bare}).json
    assert body["results"][0] == {
        "kind": "commune",
        "code": code,
        "name": name,
        "context": None,
        "bbox": body["results"][0]["bbox"],
    }
    west, south, east, north = body["results"][0]["bbox"]
    assert west < east and south < north

    model_code, model_name = db.execute(
        text("SELECT code, name FROM livelihood_models WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
    ).one()
    first = client.get("/api/search", query_string={"q": model_code.lower()}).json["results"][0]
    assert (first["kind"], first["code"], first["name"]) == ("livelihood_model", model_code, model_name)
    assert first["bbox"][0] == first["bbox"][2], "a point's box is the point"


def test_a_legacy_commune_names_its_district(client, db):
    name, district = db.execute(
        text("""SELECT c.name, d.name FROM admin_units c JOIN admin_units d ON d.id = c.parent_id
                WHERE c.level = 'commune' AND c.boundary = 'legacy' ORDER BY c.id LIMIT 1""")
    ).one()
    results = client.get("/api/search", query_string={"q": name, "limit": 50}).json["results"]
    assert any(r["kind"] == "legacy_commune" and r["name"] == name and r["context"] == district for r in results)


def test_limit_and_wildcards_are_literal(client, db):
    results = client.get("/api/search", query_string={"q": "thôn", "limit": 3}).json["results"]
    assert len(results) == 3
    assert all("thon" in fold(r["name"]) for r in results)
    # % and _ are characters to look for, not patterns: no name holds them
    assert client.get("/api/search", query_string={"q": "%%"}).json["results"] == []
    assert client.get("/api/search", query_string={"q": "__"}).json["results"] == []


def test_a_scoped_user_finds_only_the_models_of_their_communes(app, accounts, client, db):
    other = db.execute(
        text("""SELECT m.code FROM livelihood_models m JOIN admin_units u ON u.id = m.commune_id
                WHERE m.deleted_at IS NULL AND u.code <> :a ORDER BY m.id LIMIT 1"""),
        {"a": accounts.commune_a},
    ).scalar_one()
    assert client.get("/api/search", query_string={"q": other}).json["results"]
    planner = client_for(app, accounts, "extension_worker")
    assert [
        r for r in planner.get("/api/search", query_string={"q": other}).json["results"] if r["code"] == other
    ] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({}, "q"),
        ({"q": " a "}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "ab\x00"}, "q"),
        ({"q": "thon", "limit": "0"}, "limit"),
        ({"q": "thon", "limit": "51"}, "limit"),
        ({"q": "thon", "limit": "many"}, "limit"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, query, parameter):
    response = client.get("/api/search", query_string=query)
    assert response.status_code == 400
    assert response.json["error"]["parameter"] == parameter


def test_documented_in_openapi(client):
    doc = client.get("/api/openapi.json").json
    params = {p["name"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert params == {"q", "limit"}
