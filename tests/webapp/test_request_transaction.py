"""A request's transaction: committed before the response leaves, so a failed commit is the client's 500;
an error response writes nothing; each request runs in its caller's scope only."""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from tests.conftest import client_for, request_sessions
from tests.webapp.test_access import _csrf

#: a check PostgreSQL runs at COMMIT, after every statement of the request has succeeded
DEFERRED_REFUSAL = """
CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER UPDATE ON users
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
"""


def test_a_failed_commit_is_a_json_500_and_writes_nothing(demo_settings, connection, db, accounts):
    from webapp import create_app

    db.execute(text(DEFERRED_REFUSAL))  # on the test's connection: rolled back with it
    sessions = request_sessions(connection)

    def deferred_checks_at_commit() -> Session:
        # the test's commit releases a savepoint, which runs no deferred check: run them as COMMIT would
        session = sessions()
        event.listen(session, "before_commit", lambda s: s.execute(text("SET CONSTRAINTS ALL IMMEDIATE")))
        return session

    app = create_app(demo_settings, session_factory=deferred_checks_at_commit)
    admin = client_for(app, accounts, "admin")
    target = accounts.name("planner")
    r = admin.post(f"/admin/users/{target}", data={"role": "planner", "display_name": "Không lưu được"})
    assert r.status_code == 500, r.get_data(as_text=True)
    assert r.get_json() == {
        "error": {"code": 500, "message": "internal error; the administrators have the details in the server log"}
    }
    assert r.headers["X-Content-Type-Options"] == "nosniff"  # the other hooks still dress the 500
    name = db.scalar(text("SELECT display_name FROM users WHERE name = :n"), {"n": target})
    assert name != "Không lưu được"
    assert admin.get("/api/me").status_code == 200  # the next request has a working session


def test_an_error_response_writes_nothing_and_commit_on_error_keeps_its_writes(app, db, accounts):
    attempts = "SELECT count(*) FROM login_attempts"
    before = db.scalar(text(attempts))
    person = app.test_client()
    token = _csrf(person.get("/login").get_data(as_text=True))
    r = person.post("/login", data={"username": accounts.name("planner"), "password": "wrong", "csrf_token": token})
    assert r.status_code == 401
    assert db.scalar(text(attempts)) == before + 1  # the login view sets g.commit_on_error
    admin = client_for(app, accounts, "admin")
    r = admin.post(f"/admin/users/{accounts.name('planner')}", data={"role": "king", "display_name": "X"})
    assert r.status_code == 400
    assert db.scalar(text("SELECT display_name FROM users WHERE name = :n"), {"n": accounts.name("planner")}) != "X"


def test_each_request_of_a_test_runs_in_its_callers_scope(app, db, accounts):
    """On the rolled-back connection a request's SET LOCAL outlives its savepoint: it must not reach the next."""
    worker = client_for(app, accounts, "extension_worker")
    admin = client_for(app, accounts, "admin")
    communes = "/api/layers/admin_units?level=commune&boundaries=current&limit=10000"
    for _ in range(2):
        assert {f["properties"]["code"] for f in worker.get(communes).get_json()["features"]} == {accounts.commune_a}
        assert len(admin.get(communes).get_json()["features"]) > 2
    assert db.scalar(text("SELECT current_user")) == db.scalar(text("SELECT session_user"))
    assert db.scalar(text("SELECT current_setting('sinhke.user_id', true)")) in ("", None)
