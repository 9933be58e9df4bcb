"""The request path's round trips cut without loosening scope: connections start anonymous as the
application role, and the token lookup scopes the transaction in the same statement."""

from __future__ import annotations

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from spatial.accounts import (
    APP_ROLE,
    Principal,
    apply_scope,
    create_user,
    issue_token,
    request_sessions,
    token_principal,
)
from spatial.models import ApiToken
from spatial.settings import Settings

SCOPE = "SELECT current_user, current_setting('sinhke.user_id'), current_setting('sinhke.scope_all'), " + (
    "current_setting('sinhke.actor')"
)


def test_request_connections_start_every_transaction_anonymous(demo_settings: Settings) -> None:
    with request_sessions(demo_settings)() as s:
        assert tuple(s.execute(text(SCOPE)).one()) == (APP_ROLE, "", "off", "anonymous")
        apply_scope(s, Principal(user_id=7, name="someone", role="admin"))
        assert tuple(s.execute(text(SCOPE)).one()) == (APP_ROLE, "7", "on", "someone")
        s.rollback()
        # the next transaction on the same connection (a later request) is anonymous again
        assert tuple(s.execute(text(SCOPE)).one()) == (APP_ROLE, "", "off", "anonymous")
        apply_scope(s, Principal(user_id=8, name="other", role="planner"))
        s.commit()
        assert tuple(s.execute(text(SCOPE)).one()) == (APP_ROLE, "", "off", "anonymous")


def test_the_token_lookup_scopes_the_transaction_and_writes_last_use_rarely(db: Session) -> None:
    planner = create_user(db, "t_scope_planner", "planner")
    admin = create_user(db, "t_scope_admin", "admin")
    planner_token, admin_token = issue_token(db, planner), issue_token(db, admin)
    db.flush()
    apply_scope(db, None)
    who = token_principal(db, planner_token)
    assert who == Principal(user_id=planner.id, name="t_scope_planner", role="planner")
    assert tuple(db.execute(text(SCOPE)).one()) == (APP_ROLE, str(planner.id), "off", "t_scope_planner")
    stamp = db.execute(text("SELECT last_used_at FROM api_tokens WHERE user_id = :u"), {"u": planner.id}).scalar()
    assert stamp is not None
    token_principal(db, planner_token)  # within 5 minutes: not written again
    again = db.execute(text("SELECT last_used_at FROM api_tokens WHERE user_id = :u"), {"u": planner.id}).scalar()
    assert again == stamp
    assert token_principal(db, admin_token) == Principal(user_id=admin.id, name="t_scope_admin", role="admin")
    assert db.execute(text(SCOPE)).one()[2] == "on"


def test_a_refused_token_leaves_the_scope_anonymous(db: Session) -> None:
    user = create_user(db, "t_scope_revoked", "planner")
    revoked, disabled_user = issue_token(db, user), create_user(db, "t_scope_disabled", "planner")
    disabled = issue_token(db, disabled_user)
    db.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked_at=text("now()")))
    disabled_user.disabled_at = db.execute(text("SELECT now()")).scalar()
    db.flush()
    apply_scope(db, None)
    for token in (revoked, disabled, "shk_unknown", "not-a-token"):
        assert token_principal(db, token) is None
        assert tuple(db.execute(text(SCOPE)).one()) == (APP_ROLE, "", "off", "anonymous")
