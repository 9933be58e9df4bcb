"""Visit sync over HTTP: every status rule, edits, batches, scope, roles, concurrency."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from spatial.db import transaction
from tests.conftest import client_for


@pytest.fixture(scope="module")
def targets(demo_settings, accounts):
    """A field worker scoped to a 2025 commune C that holds a cow-bank or buffalo-loan model (the
    small test demo has few models), and targets inside C, outside it, and in the shared commune A."""
    from spatial.accounts import create_user, issue_token

    # committed: the live-server tests below send this worker's token from other threads
    with transaction(demo_settings) as s:
        c = s.execute(
            text("""
            SELECT n.code FROM livelihood_models m JOIN admin_crosswalk x ON x.old_unit_id = m.commune_id
            JOIN admin_units n ON n.id = x.new_unit_id
            WHERE m.model_type IN ('cow_bank','buffalo_loan') GROUP BY n.code ORDER BY count(*) DESC, n.code LIMIT 1
        """)
        ).scalar()
        assert c, "the demo needs a cow-bank or buffalo-loan model"
        worker = create_user(
            s, f"t_field_{uuid.uuid4().hex[:6]}", "extension_worker", password=accounts.password, areas=[c]
        )
        token = issue_token(s, worker)

        def units(code: str) -> list[int]:
            return list(
                s.execute(
                    text("""
                SELECT id FROM admin_units WHERE code = :c AND boundary = 'current' AND level = 'commune'
                UNION SELECT x.old_unit_id FROM admin_crosswalk x JOIN admin_units n ON n.id = x.new_unit_id
                WHERE n.code = :c AND n.boundary = 'current'"""),
                    {"c": code},
                ).scalars()
            )

        def pick(table: str, where: str, ids: list[int], inside: bool = True, n: int = 0) -> str | None:
            """A target recorded in (outside) the communes ``ids`` that lies wholly inside (outside)
            their 2025 communes: scope follows where a thing is, not the legacy commune recorded."""
            op = "= ANY(:ids)" if inside else "<> ALL(:ids)"
            lies = "ST_Covers(u.geom, t.geom)" if inside else "ST_Intersects(u.geom, t.geom)"
            return s.execute(
                text(f"""
                SELECT code FROM {table} t WHERE {where} AND commune_id {op}
                AND {"" if inside else "NOT "}EXISTS (SELECT 1 FROM admin_units u WHERE u.id = ANY(:ids)
                                                      AND u.boundary = 'current' AND {lies})
                ORDER BY code LIMIT 1 OFFSET :n"""),
                {"ids": ids, "n": n},
            ).scalar()

        cow, in_c, in_a = "model_type IN ('cow_bank','buffalo_loan')", units(c), units(accounts.commune_a)
        found = {
            "commune": c,
            "token": token,
            "worker": worker.name,
            # a cow-bank model of C with a household holding a cow old enough to calve (visits update the ledger)
            "cow": s.execute(
                text("""
                SELECT m.code FROM livelihood_models m
                JOIN animal_holdings h ON h.model_id = m.id AND h.held_to IS NULL
                JOIN animals a ON a.id = h.animal_id AND a.sex = 'female' AND a.status = 'alive'
                                AND (a.birth_date IS NULL OR a.birth_date <= now() - interval '15 months')
                WHERE m.model_type IN ('cow_bank','buffalo_loan') AND m.commune_id = ANY(:ids)
                ORDER BY m.code LIMIT 1"""),
                {"ids": in_c},
            ).scalar(),
            "cow2": pick("livelihood_models", "true", in_c, n=1),
            "cow_outside": pick("livelihood_models", cow, in_c + in_a, inside=False),
            "scheme": pick("water_schemes", "true", in_c),
            "work": pick("infrastructure_works", "true", in_c),
            "model_a": pick("livelihood_models", "true", in_a),
            "version": s.execute(
                text("SELECT version FROM form_definitions WHERE form_id = 'cow_bank' ORDER BY id DESC LIMIT 1")
            ).scalar(),
            "general_version": s.execute(
                text("SELECT version FROM form_definitions WHERE form_id = 'general' ORDER BY id DESC LIMIT 1")
            ).scalar(),
        }
        found["cow_household"], found["cow_tags"] = s.execute(
            text("""
            SELECT hh.code, string_agg(a.tag, ' ' ORDER BY a.tag) FROM livelihood_models m
            JOIN animal_holdings h ON h.model_id = m.id AND h.held_to IS NULL
            JOIN animals a ON a.id = h.animal_id AND a.status = 'alive'
            JOIN households hh ON hh.id = h.household_id
            WHERE m.code = :m GROUP BY hh.code
            HAVING bool_or(a.sex = 'female' AND (a.birth_date IS NULL OR a.birth_date <= now() - interval '15 months'))
            ORDER BY hh.code LIMIT 1"""),
            {"m": found["cow"]},
        ).one()
    for key in ("cow", "cow_outside", "scheme", "work", "model_a", "version", "cow_household"):
        assert found[key], f"the test demo has no {key}"
    return found


def worker(app, targets):  # type: ignore[no-untyped-def]
    """A client acting as the field worker of commune C."""
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {targets['token']}"
    return c


def general_body(targets, model: str, **over):
    """A visit to any model with the general form."""
    body = {
        "id": str(uuid.uuid4()),
        "model": model,
        "visited_at": "2025-12-01T09:30:00+07:00",
        "form": "general",
        "form_version": targets["general_version"],
        "location": None,
        "accuracy_m": None,
        "answers": {"participants_present": 3, "progress": "on_track"},
    }
    body.update(over)
    return body


def cow_body(targets, **over):
    body = {
        "id": str(uuid.uuid4()),
        "model": targets["cow"],
        "visited_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "form": "cow_bank",
        "form_version": targets["version"],
        "location": {"type": "Point", "coordinates": [106.3521, 21.8473]},
        "accuracy_m": 6.5,
        "answers": {
            "household_code": targets["cow_household"],
            "animal_tags_present": targets["cow_tags"],
            "births_female": 1,
            "births_male": 0,
            "deaths": 0,
            "vaccinations": ["fmd", "lumpy_skin"],
            "pass_on_done": "no",
            "condition": "good",
        },
    }
    body.update(over)
    return body


def _count(db, sql, **params):
    return db.execute(text(sql), params).scalar()


# ----------------------------------------------------------------------------- the sync rules
def test_first_receipt_201_identical_again_200_and_nothing_changes(app, accounts, targets, db):
    c = worker(app, targets)
    body = cow_body(targets)
    r = c.post("/api/visits", json=body)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert r.headers["Location"].endswith(f"/api/visits/{body['id']}")
    assert (got["id"], got["model"], got["form"], got["form_version"]) == (
        body["id"],
        targets["cow"],
        "cow_bank",
        targets["version"],
    )
    assert got["answers"] == body["answers"] and got["location"] == body["location"]
    assert (got["version"], got["root"], got["current"], got["replaces"]) == (1, body["id"], True, None)
    assert got["submitted_by"] == targets["worker"]
    audit = "SELECT count(*) FROM audit_log WHERE table_name = 'visits' AND row_id = :id"
    assert _count(db, audit, id=body["id"]) == 1

    reordered = json.dumps(dict(reversed(list(body.items()))))  # same body, other key order
    for again in (
        c.post("/api/visits", json=body),
        c.post("/api/visits", data=reordered, content_type="application/json"),
    ):
        assert again.status_code == 200, again.get_json()
        assert again.get_json() == got  # the stored visit, untouched
    assert _count(db, "SELECT count(*) FROM visits WHERE id = :id", id=body["id"]) == 1
    assert _count(db, audit, id=body["id"]) == 1
    row = _count(db, "SELECT ST_SRID(geom) || ' ' || ST_AsText(geom) FROM visits WHERE id = :id", id=body["id"])
    assert row == "4326 POINT(106.3521 21.8473)"
    assert c.get(f"/api/visits/{body['id']}").get_json() == got


def test_the_answer_to_a_new_visit_is_the_stored_visit_as_read_back(app, targets):
    """A new visit's answer is built from its INSERT's RETURNING, not read back: it must be what
    GET /api/visits/{id} gives, to the digit (a location of 9 decimals, a whole accuracy, answers
    in another key order, the phone's time zone), alone and in a batch where a later body edits it."""
    c = worker(app, targets)
    body = general_body(
        targets,
        targets["cow"],
        location={"type": "Point", "coordinates": [106.352123456, 21.847312345]},
        accuracy_m=7,
        answers={"progress": "delayed", "problems": "ốm", "participants_present": 4},
        visited_at="2025-12-02T08:15:00+07:00",
    )
    r = c.post("/api/visits", json=body)
    assert r.status_code == 201, r.get_json()
    assert r.get_data(as_text=True) == c.get(f"/api/visits/{body['id']}").get_data(as_text=True)

    first = general_body(targets, targets["cow"], accuracy_m=3.25)
    edit = general_body(
        targets, targets["cow"], replaces=first["id"], answers={"participants_present": 5, "progress": "on_track"}
    )
    results = c.post("/api/visits/batch", json={"visits": [first, edit]}).get_json()["results"]
    assert [x["status"] for x in results] == [201, 201]
    for result, sent in zip(results, (first, edit), strict=True):
        assert result["visit"] == c.get(f"/api/visits/{sent['id']}").get_json()
    assert (results[0]["visit"]["current"], results[1]["visit"]["current"]) == (False, True)
    assert results[1]["visit"]["version"] == 2 and results[1]["visit"]["root"] == first["id"]


def test_different_body_same_id_409_and_the_original_is_kept(app, accounts, targets):
    c = worker(app, targets)
    body = cow_body(targets)
    assert c.post("/api/visits", json=body).status_code == 201
    changed = cow_body(targets, id=body["id"], answers={**body["answers"], "condition": "poor"})
    r = c.post("/api/visits", json=changed)
    assert r.status_code == 409
    assert r.get_json()["error"]["reason"] == "id_taken"
    assert c.get(f"/api/visits/{body['id']}").get_json()["answers"]["condition"] == "good"


def test_edits_name_the_version_they_replace_and_stale_ones_get_409(app, accounts, targets, db):
    c = worker(app, targets)
    v1 = cow_body(targets)
    assert c.post("/api/visits", json=v1).status_code == 201
    e1 = cow_body(targets, replaces=v1["id"], answers={**v1["answers"], "condition": "fair"})
    r = c.post("/api/visits", json=e1)
    assert r.status_code == 201
    assert (r.get_json()["version"], r.get_json()["root"], r.get_json()["replaces"]) == (2, v1["id"], v1["id"])

    # another device edits the first version, not knowing about e1
    stale = cow_body(targets, replaces=v1["id"], answers={**v1["answers"], "condition": "poor"})
    r = c.post("/api/visits", json=stale)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert (err["reason"], err["current"]) == ("stale_edit", e1["id"])
    assert c.get(f"/api/visits/{stale['id']}").status_code == 404  # nothing stored

    # re-sending e1 is still fine; editing the current version works
    assert c.post("/api/visits", json=e1).status_code == 200
    e2 = cow_body(targets, replaces=e1["id"], answers={**v1["answers"], "condition": "poor"})
    assert c.post("/api/visits", json=e2).get_json()["version"] == 3
    r = c.post("/api/visits", json=cow_body(targets, replaces=v1["id"]))
    assert r.status_code == 409 and r.get_json()["error"]["current"] == e2["id"]  # follows the whole chain

    listed = c.get(f"/api/visits?model={targets['cow']}").get_json()["visits"]
    ids = {v["id"] for v in listed}
    assert e2["id"] in ids and not ids & {v1["id"], e1["id"]}
    history = c.get(f"/api/visits?model={targets['cow']}&history=true").get_json()["visits"]
    chain = sorted((v["version"], v["id"], v["current"]) for v in history if v["root"] == v1["id"])
    assert chain == [(1, v1["id"], False), (2, e1["id"], False), (3, e2["id"], True)]
    assert _count(db, "SELECT count(*) FROM visits WHERE root_id = :r", r=v1["id"]) == 3


def test_an_edit_keeps_its_target_and_needs_a_real_version(app, accounts, targets):
    c = worker(app, targets)
    v1 = cow_body(targets)
    assert c.post("/api/visits", json=v1).status_code == 201
    r = c.post("/api/visits", json=cow_body(targets, replaces=str(uuid.uuid4())))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "replaces"
    if targets["cow2"]:  # another model of the same commune
        r = c.post("/api/visits", json=general_body(targets, targets["cow2"], replaces=v1["id"]))
        assert r.status_code == 422 and r.get_json()["error"]["field"] == "model"
    r = c.post("/api/visits", json=cow_body(targets, id=v1["id"], replaces=v1["id"]))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "replaces"


# ----------------------------------------------------------------------------- concurrency
def _post(url: str, token: str, body: dict) -> int:
    req = urllib.request.Request(
        f"{url}/api/visits",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _race(url: str, token: str, bodies: list[dict]) -> list[int]:
    start = threading.Barrier(len(bodies))
    codes: list[int] = [0] * len(bodies)

    def go(i: int) -> None:
        start.wait()
        codes[i] = _post(url, token, bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return codes


def test_concurrent_identical_posts_make_exactly_one_row(live_server, accounts, targets, db):
    token = targets["token"]
    for _ in range(3):
        body = cow_body(targets)
        codes = _race(live_server, token, [body] * 6)
        assert sorted(codes) == [200] * 5 + [201], codes
        assert _count(db, "SELECT count(*) FROM visits WHERE id = :id", id=body["id"]) == 1


def test_concurrent_edits_of_one_version_one_wins(live_server, accounts, targets):
    token = targets["token"]
    v1 = cow_body(targets)
    assert _post(live_server, token, v1) == 201
    edits = [cow_body(targets, replaces=v1["id"], answers={**v1["answers"], "notes": f"edit {i}"}) for i in range(4)]
    codes = _race(live_server, token, edits)
    assert sorted(codes) == [201, 409, 409, 409], codes


# ----------------------------------------------------------------------------- scope and roles
def test_a_worker_syncs_only_within_their_communes(app, accounts, targets, db):
    # the shared test worker of commune A: its model yes, a model of another commune no
    a = client_for(app, accounts, "extension_worker")
    assert a.post("/api/visits", json=general_body(targets, targets["model_a"])).status_code == 201
    r = a.post("/api/visits", json=general_body(targets, targets["cow"]))
    assert r.status_code == 403 and "outside your communes" in r.get_json()["error"]["message"]

    c = worker(app, targets)
    outside = cow_body(targets, model=targets["cow_outside"])
    r = c.post("/api/visits", json=outside)
    assert r.status_code == 403
    assert _count(db, "SELECT count(*) FROM visits WHERE id = :id", id=outside["id"]) == 0
    assert c.get(f"/api/visits?model={targets['cow_outside']}").status_code == 404
    assert c.post("/api/visits", json=general_body(targets, targets["model_a"])).status_code == 403

    r = c.post("/api/visits", json=cow_body(targets, model="MH-NO-SUCH-MODEL"))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "model"

    # the admin may, and then the worker still cannot see the visit
    admin = client_for(app, accounts, "admin")
    outside = general_body(targets, targets["cow_outside"], id=outside["id"])
    assert admin.post("/api/visits", json=outside).status_code == 201
    assert c.get(f"/api/visits/{outside['id']}").status_code == 404
    assert admin.get(f"/api/visits/{outside['id']}").status_code == 200
    # re-sending someone else's id from outside the scope reveals nothing and changes nothing
    r = c.post("/api/visits", json=cow_body(targets, id=outside["id"]))
    assert r.status_code == 409 and r.get_json()["error"]["reason"] == "id_taken"
    assert admin.get(f"/api/visits/{outside['id']}").get_json()["model"] == targets["cow_outside"]


def test_row_level_security_refuses_a_visit_in_another_commune_even_without_the_api(db, accounts, targets):
    """The policy itself: as the application role, scoped to the worker, an insert outside fails."""
    uid = db.execute(text("SELECT id FROM users WHERE name = :n"), {"n": targets["worker"]}).scalar()
    model, commune = db.execute(
        text("SELECT id, commune_id FROM livelihood_models WHERE code = :c"), {"c": targets["cow_outside"]}
    ).one()
    with pytest.raises(Exception, match="row-level security"), db.begin_nested():
        db.execute(text("SET LOCAL ROLE sinhke_app"))
        db.execute(text("SELECT set_config('sinhke.user_id', :u, true)"), {"u": str(uid)})
        db.execute(
            text("""
            INSERT INTO visits (id, model_id, commune_id, visited_at, form_id, form_version, answers, body_sha256,
                                root_id, version, submitted_by)
            VALUES (gen_random_uuid(), :m, :c, now(), 'cow_bank', :v, '{}', 'x', gen_random_uuid(), 1, 'x')"""),
            {"v": targets["version"], "m": model, "c": commune},
        )


def test_evaluators_read_but_do_not_write(app, accounts, targets):
    c = client_for(app, accounts, "evaluator")
    r = c.post("/api/visits", json=cow_body(targets))
    assert r.status_code == 403 and "read" in r.get_json()["error"]["message"]
    assert c.post("/api/visits/batch", json={"visits": [cow_body(targets)]}).status_code == 403
    assert c.get(f"/api/visits?model={targets['model_a']}").status_code == 200
    assert c.get("/api/forms").status_code == 200


def test_anonymous_and_bad_tokens_get_401(anonymous, targets):
    assert anonymous.get("/api/forms").status_code == 401
    assert anonymous.get(f"/api/visits?model={targets['cow']}").status_code == 401
    bad = {"Authorization": "Bearer shk_revoked_or_made_up"}
    assert anonymous.post("/api/visits", json=cow_body(targets), headers=bad).status_code == 401
    # without a token or a session nobody is signed in: 401 (issue #15; it was the CSRF check's 400)
    assert anonymous.post("/api/visits", json=cow_body(targets)).status_code == 401


def test_a_browser_session_syncs_with_its_csrf_token(app, accounts, targets):
    c = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    r = c.post(
        "/login", data={"username": accounts.name("planner"), "password": accounts.password, "csrf_token": token}
    )
    assert r.status_code == 302
    body = general_body(targets, targets["model_a"])  # the planner's commune A
    assert c.post("/api/visits", json=body).status_code == 400  # no CSRF token
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/map").get_data(as_text=True)).group(1)
    r = c.post("/api/visits", json=body, headers={"X-CSRFToken": csrf})
    assert r.status_code == 201 and r.get_json()["submitted_by"] == accounts.name("planner")


# ----------------------------------------------------------------------------- bad bodies
@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (lambda b: [b], 422, "body"),
        (lambda b: {k: v for k, v in b.items() if k != "id"}, 422, "id"),
        (lambda b: {**b, "id": "not-a-uuid"}, 422, "id"),
        (lambda b: {**b, "device": "x"}, 422, "device"),
        (lambda b: {k: v for k, v in b.items() if k != "model"}, 422, "model"),
        (lambda b: {**b, "work": "CT-1"}, 422, "model"),
        (lambda b: {**b, "visited_at": "2025-12-01T09:30:00"}, 422, "visited_at"),
        (lambda b: {**b, "visited_at": "yesterday"}, 422, "visited_at"),
        (lambda b: {**b, "visited_at": (datetime.now(UTC) + timedelta(days=3)).isoformat()}, 422, "visited_at"),
        (lambda b: {**b, "location": {"type": "Point", "coordinates": [21.8, 106.3, 1, 2]}}, 422, "location"),
        (lambda b: {**b, "location": {"type": "Point", "coordinates": [21.8, 106.3]}}, 422, "location"),
        (lambda b: {**b, "location": "21.8,106.3"}, 422, "location"),
        (lambda b: {**b, "accuracy_m": -3}, 422, "accuracy_m"),
        (lambda b: {**b, "form": "no_such_form"}, 422, "form"),
        (lambda b: {**b, "form_version": "1999"}, 422, "form_version"),
        (lambda b: {**b, "form": "free_range_chicken"}, 422, "form"),
        (lambda b: {**b, "form": "water_scheme"}, 422, "form"),
        (lambda b: {**b, "answers": "all good"}, 422, "answers.answers"),
        (lambda b: {**b, "answers": {**b["answers"], "deaths": -1}}, 422, "answers.deaths"),
    ],
)
def test_bad_bodies_name_the_field(app, accounts, targets, db, change, status, field):
    c = worker(app, targets)
    body = change(cow_body(targets))
    r = c.post("/api/visits", json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["field"] == field
    assert (
        _count(
            db,
            "SELECT count(*) FROM visits WHERE id::text = :id",
            id=str(body.get("id") if isinstance(body, dict) else ""),
        )
        == 0
    )


def test_not_json_is_400(app, targets):
    c = worker(app, targets)
    r = c.post("/api/visits", data="id=1", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "body"
    r = c.post("/api/visits", data="{not json", content_type="application/json")
    assert r.status_code == 400


def test_invalid_answers_list_every_field_and_reason(app, accounts, targets):
    c = worker(app, targets)
    answers = {
        "household_code": "20137-00012",
        "births_female": -1,
        "births_male": 0,
        "deaths": 2,
        "vaccinations": ["fmd"],
        "pass_on_done": "yes",
        "condition": "great",
        "colour": "red",
    }
    r = c.post("/api/visits", json=cow_body(targets, answers=answers))
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert [(e["field"], e["code"]) for e in err["errors"]] == [
        ("answers.births_female", "constraint"),
        ("answers.death_cause", "required"),
        ("answers.pass_on_tag", "required"),
        ("answers.pass_on_to_household", "required"),
        ("answers.condition", "choice"),
        ("answers.colour", "unknown_field"),
    ]
    assert err["field"] == "answers.births_female" and "5 more" in err["message"]


# ----------------------------------------------------------------------------- works, schemes
def test_water_scheme_and_work_visits(app, accounts, targets, db):
    c = worker(app, targets)
    versions = {f["form"]: f["version"] for f in c.get("/api/forms").get_json()["forms"]}
    scheme = {
        "id": str(uuid.uuid4()),
        "water_scheme": targets["scheme"],
        "visited_at": "2025-12-01T09:30:00+07:00",
        "form": "water_scheme",
        "form_version": versions["water_scheme"],
        "location": None,
        "accuracy_m": None,
        "answers": {
            "status": "partially_functional",
            "breakdown_cause": "pipe_damage",
            "days_not_working": 4,
            "hours_per_day": 12,
            "households_using": 60,
            "quality_problem": "no",
            "tariff_collected": "yes",
            "repair_needed": "yes",
        },
    }
    r = c.post("/api/visits", json=scheme)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["water_scheme"] == targets["scheme"] and r.get_json()["location"] is None
    listed = c.get(f"/api/visits?water_scheme={targets['scheme']}").get_json()["visits"]
    assert scheme["id"] in {v["id"] for v in listed}
    work = {
        **scheme,
        "id": str(uuid.uuid4()),
        "work": targets["work"],
        "form": "infrastructure_work",
        "form_version": versions["infrastructure_work"],
        "answers": {
            "construction_stage": "completed",
            "status": "functional",
            "damage": "none",
            "repair_needed": "no",
            "maintained": "yes",
        },
    }
    del work["water_scheme"]
    assert c.post("/api/visits", json=work).status_code == 201
    wrong = {
        **scheme,
        "id": str(uuid.uuid4()),
        "form": "infrastructure_work",
        "form_version": versions["infrastructure_work"],
    }
    assert c.post("/api/visits", json=wrong).get_json()["error"]["field"] == "form"
    assert _count(
        db,
        "SELECT commune_id = (SELECT commune_id FROM water_schemes WHERE code = :c) FROM visits WHERE id = :id",
        c=targets["scheme"],
        id=scheme["id"],
    )


# ----------------------------------------------------------------------------- batch
def test_the_batch_answers_visit_by_visit(app, accounts, targets, db):
    c = worker(app, targets)
    stored = cow_body(targets)
    assert c.post("/api/visits", json=stored).status_code == 201
    fresh = cow_body(targets)
    sent = [
        fresh,
        stored,
        cow_body(targets, id=stored["id"], accuracy_m=99),
        cow_body(targets, answers={"household_code": "x y"}),
        cow_body(targets, model=targets["cow_outside"]),
        "not a visit",
        fresh,
    ]
    r = c.post("/api/visits/batch", json={"visits": sent})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [x["status"] for x in results] == [201, 200, 409, 422, 403, 422, 200]
    assert [x["index"] for x in results] == list(range(len(sent)))
    assert results[0]["visit"]["id"] == fresh["id"] and results[2]["error"]["reason"] == "id_taken"
    assert results[3]["error"]["field"] == "answers.household_code"
    assert results[5]["id"] is None and results[5]["error"]["field"] == "body"
    # what succeeded is stored although others failed
    assert _count(db, "SELECT count(*) FROM visits WHERE id = :id", id=fresh["id"]) == 1

    assert c.post("/api/visits/batch", json={"visits": {"a": 1}}).status_code == 422
    assert c.post("/api/visits/batch", json=[fresh]).status_code == 422
    assert c.post("/api/visits/batch", json={"visits": []}).get_json() == {"results": []}


# ----------------------------------------------------------------------------- forms, docs
def test_forms_for_devices(app, accounts, targets):
    c = worker(app, targets)
    forms = {f["form"]: f for f in c.get("/api/forms").get_json()["forms"]}
    assert set(forms) == {
        "cow_bank",
        "free_range_chicken",
        "medicinal_plant",
        "general",
        "infrastructure_work",
        "water_scheme",
    }
    cow = forms["cow_bank"]
    assert cow["version"] == targets["version"] and cow["target_types"] == ["cow_bank", "buffalo_loan"]
    assert cow["title"]["vi"] and cow["title"]["en"]
    assert [f["name"] for f in cow["definition"]["fields"]][:3] == [
        "household_code",
        "animal_tags_present",
        "births_female",
    ]
    one = c.get(f"/api/forms/cow_bank/{targets['version']}")
    assert one.status_code == 200 and one.get_json()["definition"] == cow["definition"]
    assert c.get("/api/forms/cow_bank/0").status_code == 404
    assert c.get("/api/visits").status_code == 400
    js = c.get("/static/field/validate.js")
    assert js.status_code == 200 and b"export function validateAnswers" in js.data
    js.close()


def test_openapi_documents_the_field_endpoints(anonymous):
    doc = anonymous.get("/api/openapi.json").get_json()
    assert {"/api/forms", "/api/forms/{form}/{version}", "/api/visits", "/api/visits/batch", "/api/visits/{id}"} <= set(
        doc["paths"]
    )
    post = doc["paths"]["/api/visits"]["post"]["responses"]
    assert {"200", "201", "403", "409", "422"} <= set(post)
    assert set(doc["components"]["schemas"]["VisitBody"]["required"]) == {
        "id",
        "visited_at",
        "form",
        "form_version",
        "answers",
    }


# ----------------------------------------------------------------------------- visits update the ledger
def test_a_cow_bank_visit_updates_the_ledger_and_a_bad_one_is_refused_whole(app, targets, db):
    c = worker(app, targets)
    births = """SELECT count(*) FROM animal_events e JOIN ledger_visits v ON v.visit_id = e.visit_id
                WHERE e.visit_id = :id AND e.kind = 'birth'"""
    body = cow_body(targets)
    assert c.post("/api/visits", json=body).status_code == 201
    assert _count(db, births, id=body["id"]) == 1
    # the same visit again: stored once, applied once
    assert c.post("/api/visits", json=body).status_code == 200
    assert _count(db, births, id=body["id"]) == 1

    # a pass-on to a household that does not exist: the visit and the ledger both refuse it
    bad = cow_body(
        targets,
        answers={
            **body["answers"],
            "pass_on_done": "yes",
            "pass_on_tag": "NO-SUCH-TAG",
            "pass_on_to_household": "00000-99999",
        },
    )
    r = c.post("/api/visits", json=bad)
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["field"].startswith("answers.pass_on") and "ledger" in error["message"]
    assert _count(db, "SELECT count(*) FROM visits WHERE id = :id", id=bad["id"]) == 0
    assert _count(db, "SELECT count(*) FROM ledger_visits WHERE visit_id = :id", id=bad["id"]) == 0


# ----------------------------------------------------------------------------- photos
def _jpeg(size: int = 2000) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * (size // 256) + b"\xff\xd9"


def test_a_photo_travels_with_its_visit_and_is_checked(app, accounts, targets, db):
    import base64

    from ingest.visits import PHOTO_MAX_BYTES

    c = worker(app, targets)
    data = _jpeg()
    body = general_body(targets, targets["cow2"], photo={"type": "image/jpeg", "data": base64.b64encode(data).decode()})
    r = c.post("/api/visits", json=body)
    assert r.status_code == 201, r.get_json()
    url = r.get_json()["photo"]
    assert url == f"/api/visits/{body['id']}/photo"
    got = c.get(url)
    assert got.status_code == 200 and got.mimetype == "image/jpeg" and got.data == data
    assert c.post("/api/visits", json=body).status_code == 200  # the same body again: harmless
    # out of scope: the photo is not there for a worker of another commune
    assert client_for(app, accounts, "extension_worker").get(url).status_code == 404
    # no image bytes in the audit trail
    assert _count(db, "SELECT count(*) FROM audit_log WHERE table_name = 'visit_photos'") == 0

    for photo, reason in (
        ({"type": "image/gif", "data": "R0lGOD"}, "type must be one of"),
        ({"type": "image/jpeg", "data": "not base64!"}, "not base64"),
        ({"type": "image/png", "data": base64.b64encode(data).decode()}, "not a image/png image"),
        ({"type": "image/jpeg", "data": base64.b64encode(_jpeg(PHOTO_MAX_BYTES + 10)).decode()}, "larger than"),
        ("a photo", "must be"),
    ):
        bad = general_body(targets, targets["cow2"], photo=photo)
        r = c.post("/api/visits", json=bad)
        assert r.status_code == 422, (photo, r.get_json())
        assert r.get_json()["error"]["field"] == "photo" and reason in r.get_json()["error"]["message"]
        assert _count(db, "SELECT count(*) FROM visits WHERE id = :id", id=bad["id"]) == 0
