"""The edge refuses what no column can hold: a 400 naming the parameter, never a 500 (issue #15)."""

from __future__ import annotations

import pytest

from tests.webapp.test_visits_api import cow_body, targets, worker  # noqa: F401  (targets is a fixture)

NUL_ROUTES = [
    ("/api/layers/livelihood_models/%00", "code"),
    ("/api/layers/infrastructure_works/a%00b", "code"),
    ("/areas/%00", "code"),
    ("/api/areas/%00", "code"),
    ("/models/%00", "code"),
    ("/api/models/%00/status", "code"),
    ("/api/models/%00/chain", "code"),
    ("/api/exposure/model/%00", "code"),
    ("/admin/audit?table=%00", "table"),
    ("/admin/audit?actor=x%00", "actor"),
    ("/admin/users/%00", "name"),
    ("/api/layers/households?bbox=%00", "bbox"),
    ("/api/indicators?year=%00", "year"),
    ("/api/visits/due?overdue=%1F", "overdue"),
    ("/api/layers/households?x%00=1", "parameter name"),
]


@pytest.mark.parametrize(("url", "parameter"), NUL_ROUTES)
def test_a_control_character_anywhere_is_a_400_naming_the_parameter(client, url, parameter):
    r = client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.data[:200])
    body = r.get_json()
    assert body["error"]["parameter"] == parameter
    assert "U+00" in body["error"]["message"]


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/rasters/2147483648", "raster_id"),
        ("/tiles/rasters/2147483648/3/1/1.png", "raster_id"),
        ("/tiles/rasters/1/99999999999/1/1.png", "z"),
        ("/api/rasters/99999999999999999999999", "raster_id"),
        ("/admin/audit?page=99999999999999999999", "page"),
        ("/admin/audit?page=0", "page"),
        ("/admin/audit?page=two", "page"),
    ],
)
def test_numbers_past_their_column_are_a_400(client, url, parameter):
    r = client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.data[:200])
    assert r.get_json()["error"]["parameter"] == parameter


def test_the_largest_id_a_column_holds_is_still_looked_up(client):
    r = client.get("/api/rasters/2147483647")
    assert r.status_code == 404


def test_tabs_and_new_lines_are_text_people_type(client):
    assert client.get("/admin/audit?actor=a%09b%0Ac").status_code == 200


def test_a_nul_in_a_form_field_is_a_400(app, accounts):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.tokens['admin']}"
    r = c.post("/admin/users", data={"name": "x\x00", "role": "planner"})
    assert r.status_code == 400
    assert r.get_json()["error"]["parameter"] == "name"


def test_a_nul_in_a_visit_answer_refuses_that_visit_and_the_batch_stores_the_rest(app, targets):  # noqa: F811
    c = worker(app, targets)
    bad = cow_body(targets)
    bad["answers"]["condition"] = "go\x00od"
    r = c.post("/api/visits", json=bad)
    assert r.status_code == 422
    assert r.get_json()["error"]["field"] == "answers.condition"

    good = cow_body(targets)
    r = c.post("/api/visits/batch", json={"visits": [bad, good]})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [x["status"] for x in results] == [422, 201]
    assert results[0]["error"]["field"] == "answers.condition"
    assert "U+0000" in results[0]["error"]["message"]
    # the stored one is really there
    assert c.get(f"/api/visits/{good['id']}").status_code == 200
