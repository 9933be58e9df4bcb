"""Accounts: users, roles, area scopes, passwords (argon2), browser sessions, API tokens,
login rate limits. Plain functions over a Session, shared by the CLI and the web app.

Area scope is enforced by PostgreSQL row-level security (migration 0003): a request
runs as the role ``sinhke_app`` with ``sinhke.user_id``/``sinhke.scope_all`` set for
its transaction (``apply_scope``), and every policy reads ``user_visible_units``,
which ``refresh_visible_units`` derives from the areas a user is assigned. Households
are scoped by the commune they are placed in (``household_units``), models, works and
water schemes, their visits and results by theirs on the 2025 boundaries
(``asset_units``, migration 0011): so where a legacy commune was split, a user sees
the things of their part only, though the whole legacy commune stays on their map.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from spatial import NotFound, ParameterError, SinhkeError
from spatial.db import rowcount, session_factory
from spatial.models import (
    ROLES,
    AdminCrosswalk,
    AdminUnit,
    ApiToken,
    LoginAttempt,
    User,
    UserArea,
    UserSession,
)
from spatial.settings import Settings

APP_ROLE = "sinhke_app"
_hasher = PasswordHasher()
MIN_PASSWORD = 10
#: failed logins allowed per name, and per address, within the window
#: failures in FAILURE_WINDOW before a name is refused from one address: a guesser at one
#: address cannot lock the real user (at theirs) out of their own account
MAX_FAILURES_PER_NAME_AND_IP = 5
#: every name from one address
MAX_FAILURES_PER_IP = 20
#: one name from every address together: slows a guesser spread over many addresses
MAX_FAILURES_PER_NAME = 100
FAILURE_WINDOW = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=12)


class AccountError(SinhkeError):
    """A user operation cannot be done (name taken, weak password, unknown area…)."""


class Conflict(AccountError):
    """The request clashes with what exists (HTTP 409)."""


class RateLimited(SinhkeError):
    """Too many attempts (HTTP 429)."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: what scoping, auditing and permission checks need to know."""

    user_id: int
    name: str
    role: str
    display_name: str | None = None

    @property
    def sees_everything(self) -> bool:
        return self.role == "admin"

    @property
    def read_only(self) -> bool:
        return self.role == "evaluator"


SYSTEM = Principal(user_id=0, name="system", role="admin")


# ----------------------------------------------------------------------------- scope
def apply_scope(session: Session, who: Principal | None) -> None:
    """Run the rest of this transaction as the application role, scoped to ``who``.

    Without JIT compilation: a request's queries are short, but the scope policies nested in them
    (a model's participants, ledger and status are scoped through the model) add up to estimates
    over the JIT thresholds, and compiling took seconds where running took milliseconds (the
    livelihood-model layer on 20,000 models: 1.1 s with JIT, 0.1 s without). The analytics run in
    jobs, outside requests, and keep the server's setting."""
    # one round trip: set_config('role', …, true) is SET LOCAL ROLE
    session.execute(
        text(
            "SELECT set_config('role', :role, true), set_config('sinhke.user_id', :uid, true), "
            "set_config('sinhke.scope_all', :all, true), set_config('sinhke.actor', :actor, true), "
            "set_config('jit', 'off', true)"
        ),
        {
            "role": APP_ROLE,
            "uid": str(who.user_id) if who else "",
            "all": "on" if who and who.sees_everything else "off",
            "actor": who.name if who else "anonymous",
        },
    )


#: ``apply_scope(session, None)`` for a whole connection: what its transactions fall back to when
#: their own (local) scope ends, so a request needs no statement of its own to start anonymous
ANONYMOUS_CONNECTION = (
    f"SELECT set_config('role', '{APP_ROLE}', false), set_config('sinhke.user_id', '', false), "
    "set_config('sinhke.scope_all', 'off', false), set_config('sinhke.actor', 'anonymous', false), "
    "set_config('jit', 'off', false)"
)


def request_sessions(settings: Settings) -> sessionmaker[Session]:
    """Sessions for web requests: on connections of their own that run as the application role,
    anonymous (``ANONYMOUS_CONNECTION``) until a request scopes its transaction to its user."""
    return session_factory(settings, on_connect=ANONYMOUS_CONNECTION)


def act_as(session: Session, actor: str) -> None:
    """Attribute this transaction's changes (audit, updated_by) without scoping it."""
    session.execute(text("SELECT set_config('sinhke.actor', :a, true)"), {"a": actor})


def refresh_visible_units(session: Session, user_id: int) -> int:
    """Derive every unit the user may see from the areas assigned (current boundaries).

    A current commune brings the legacy communes linked to it by the crosswalk (their
    polygons and area figures: things in them are scoped by where they lie, see the module
    docstring); a province brings all its units on both versions; a legacy district is
    visible when all its communes are.
    """
    session.execute(text("DELETE FROM user_visible_units WHERE user_id = :u"), {"u": user_id})
    return rowcount(
        session.execute(
            text("""
        INSERT INTO user_visible_units (user_id, unit_id)
        WITH RECURSIVE
        assigned AS (SELECT a.* FROM admin_units a JOIN user_areas ua ON ua.unit_id = a.id
                     WHERE ua.user_id = :u),
        provinces AS (SELECT p.id FROM admin_units p JOIN assigned a
                        ON p.level = 'province' AND a.level = 'province' AND p.code = a.code),
        below AS (SELECT id FROM provinces
                  UNION SELECT c.id FROM admin_units c JOIN below b ON c.parent_id = b.id),
        communes AS (SELECT id FROM assigned WHERE level = 'commune'),
        legacy AS (SELECT x.old_unit_id AS id FROM admin_crosswalk x
                   WHERE x.new_unit_id IN (SELECT id FROM communes)),
        seen AS (SELECT id FROM below UNION SELECT id FROM communes UNION SELECT id FROM legacy),
        districts AS (SELECT d.id FROM admin_units d WHERE d.level = 'district'
                      AND EXISTS (SELECT 1 FROM admin_units c WHERE c.parent_id = d.id)
                      AND NOT EXISTS (SELECT 1 FROM admin_units c WHERE c.parent_id = d.id
                                      AND c.id NOT IN (SELECT id FROM seen)))
        SELECT DISTINCT :u, id FROM (SELECT id FROM seen UNION SELECT id FROM districts) s
    """),
            {"u": user_id},
        )
    )


def resolve_area(session: Session, code: str) -> AdminUnit:
    """An area code on the current boundaries; a legacy-only code resolves to the
    current commune its crosswalk names as default."""
    unit = session.scalar(
        select(AdminUnit).where(
            AdminUnit.code == code, AdminUnit.boundary == "current", AdminUnit.level.in_(("province", "commune"))
        )
    )
    if unit is not None:
        return unit
    old = session.scalar(
        select(AdminUnit).where(AdminUnit.code == code, AdminUnit.boundary == "legacy", AdminUnit.level == "commune")
    )
    if old is not None:
        new_id = session.scalar(
            select(AdminCrosswalk.new_unit_id)
            .where(AdminCrosswalk.old_unit_id == old.id)
            .order_by(AdminCrosswalk.is_default.desc(), AdminCrosswalk.weight_area.desc())
        )
        if new_id is not None:
            return session.get(AdminUnit, new_id)  # type: ignore[return-value]
    raise ParameterError("area", f"no province or commune with code {code!r}")


# ----------------------------------------------------------------------------- users
def check_password_strength(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters, please")
    if password.lower() == name.lower():
        raise AccountError("password: must differ from the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    name: str,
    role: str,
    password: str | None = None,
    areas: list[str] | None = None,
    display_name: str | None = None,
) -> User:
    name = name.strip()
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise AccountError("name: 1–80 characters, no spaces")
    check_role(role)
    if session.scalar(select(User.id).where(func.lower(User.name) == name.lower())) is not None:
        raise Conflict(f"a user named {name!r} exists already")
    if password is not None:
        check_password_strength(password, name)
    user = User(
        name=name, role=role, display_name=display_name, password_hash=hash_password(password) if password else None
    )
    session.add(user)
    session.flush()
    if areas:
        assign_areas(session, user, areas)
    return user


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ParameterError("role", f"unknown role {role!r}", list(ROLES))


def update_user(
    session: Session, user: User, *, role: str, display_name: str | None, areas: list[str] | None = None
) -> None:
    """Change a user's role, name and (when given) areas."""
    check_role(role)
    user.role, user.display_name = role, display_name or None
    if areas is not None:
        assign_areas(session, user, areas)


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.name) == name.lower()))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def assign_areas(session: Session, user: User, codes: list[str], *, replace: bool = True) -> list[AdminUnit]:
    units = [resolve_area(session, c) for c in codes]
    if replace:
        session.execute(delete(UserArea).where(UserArea.user_id == user.id))
    for u in {u.id: u for u in units}.values():
        if session.get(UserArea, (user.id, u.id)) is None:
            session.add(UserArea(user_id=user.id, unit_id=u.id))
    session.flush()
    refresh_visible_units(session, user.id)
    return units


class AreaRef(NamedTuple):
    """An area as a user's assignment names it (not its outline)."""

    code: str
    name: str
    level: str


#: a constant statement: /api/me asks it on every map load, and building the ORM query cost more
#: than running it
_USER_AREAS = text(
    "SELECT a.code, a.name, a.level FROM admin_units a JOIN user_areas ua ON ua.unit_id = a.id "
    "WHERE ua.user_id = :u ORDER BY a.code"
)


def user_areas(session: Session, user_id: int) -> list[AreaRef]:
    """The areas assigned to the user, by code."""
    return [AreaRef(*r) for r in session.execute(_USER_AREAS, {"u": user_id})]


#: the box around each boundary version's communes among the user's visible units: from the
#: user's own rows of user_visible_units (a few), not by testing every commune against the policy
_VISIBLE_EXTENT = text("""
    SELECT a.boundary, ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box)
    FROM (SELECT a.boundary, ST_Extent(a.geom) AS box
          FROM user_visible_units v JOIN admin_units a ON a.id = v.unit_id
          WHERE v.user_id = sinhke_user_id() AND a.level = 'commune' AND a.geom IS NOT NULL
          GROUP BY a.boundary) a""")


def visible_extent(session: Session, who: Principal) -> dict[str, list[float] | None]:
    """The box [west, south, east, north] (WGS 84) around the communes the user may see, on each
    boundary version: a scoped user's map opens on it. None for a user who sees everything (their
    map opens on the province)."""
    out: dict[str, list[float] | None] = {"current": None, "legacy": None}
    if who.sees_everything:
        return out
    for boundary, *box in session.execute(_VISIBLE_EXTENT):
        out[boundary] = [round(float(v), 6) for v in box]
    return out


def users_with_areas(session: Session) -> list[tuple[User, list[AreaRef]]]:
    """Every user by name, with the areas assigned to each."""
    return [(u, user_areas(session, u.id)) for u in session.scalars(select(User).order_by(User.name))]


def assignable_areas(session: Session) -> list[AdminUnit]:
    """What an admin can assign: the province and the 2025 communes (provinces first, then by name)."""
    return list(
        session.scalars(
            select(AdminUnit)
            .where(AdminUnit.boundary == "current", AdminUnit.level.in_(("province", "commune")))
            .order_by(AdminUnit.level.desc(), AdminUnit.name)
        )
    )


def set_password(session: Session, user: User, password: str) -> None:
    """New hash, and every browser session of the user ends."""
    check_password_strength(password, user.name)
    user.password_hash = hash_password(password)
    user.session_version += 1
    end_sessions(session, user.id)


def disable_user(session: Session, user: User) -> None:
    user.disabled_at = datetime.now(UTC)
    end_sessions(session, user.id)
    session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=func.now())
    )


def enable_user(session: Session, user: User) -> None:
    user.disabled_at = None


def verify_password(user: User, password: str) -> bool:
    try:
        return bool(user.password_hash) and _hasher.verify(user.password_hash or "", password)
    except (VerificationError, InvalidHashError):
        return False


def principal(user: User) -> Principal:
    return Principal(user_id=user.id, name=user.name, role=user.role, display_name=user.display_name)


# ----------------------------------------------------------------------------- logins
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_rate_limit(session: Session, username: str, ip: str) -> None:
    # count and record under one lock per name, so concurrent workers cannot both slip in
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('sinhke-login:' || lower(:n)))"), {"n": username})
    since = datetime.now(UTC) - FAILURE_WINDOW
    failed = (
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at > since, LoginAttempt.success.is_(False))
    )
    same_name = func.lower(LoginAttempt.username) == username.lower()
    by_name_and_ip = session.scalar(failed.where(same_name, LoginAttempt.ip == ip)) or 0
    by_ip = session.scalar(failed.where(LoginAttempt.ip == ip)) or 0
    by_name = session.scalar(failed.where(same_name)) or 0
    if (
        by_name_and_ip >= MAX_FAILURES_PER_NAME_AND_IP
        or by_ip >= MAX_FAILURES_PER_IP
        or by_name >= MAX_FAILURES_PER_NAME
    ):
        raise RateLimited("too many failed logins; wait 15 minutes and try again")


def authenticate(session: Session, username: str, password: str, ip: str) -> User | None:
    """The user if name and password match and the account is active; attempts are counted."""
    check_rate_limit(session, username, ip)
    user = session.scalar(select(User).where(func.lower(User.name) == username.strip().lower()))
    ok = False
    if user is not None and user.password_hash and user.disabled_at is None:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    else:
        _hasher.hash(password)  # same work either way: no user-existence timing signal
    session.add(LoginAttempt(username=username[:80], ip=ip[:64], success=ok))
    session.flush()
    return user if ok else None


def start_session(session: Session, user: User, ip: str | None) -> str:
    """A new browser session; returns the secret the cookie carries (stored only hashed)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id, token_hash=_digest(secret), session_version=user.session_version, ip=(ip or "")[:64]
        )
    )
    session.flush()
    return secret


def session_user(session: Session, secret: str) -> User | None:
    """The user behind a live session cookie, else None (ended, stale, old password, disabled)."""
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _digest(secret), UserSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    us, user = row
    now = datetime.now(UTC)
    if (
        user.disabled_at is not None
        or us.session_version != user.session_version
        or now - us.last_seen_at > SESSION_IDLE
    ):
        return None
    if now - us.last_seen_at > timedelta(minutes=1):
        us.last_seen_at = now
    return user


def end_session(session: Session, secret: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(secret), UserSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )


# ----------------------------------------------------------------------------- API tokens
TOKEN_PREFIX = "shk_"


def issue_token(session: Session, user: User) -> str:
    """A new API token for the user; shown once, stored hashed."""
    if user.disabled_at is not None:
        raise AccountError(f"user {user.name!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token), prefix=token[:10]))
    session.flush()
    return token


#: the token's user, looked up and made the transaction's scope in one round trip (``apply_scope``'s
#: settings, as set_config in the row); no row, and nothing set, for an unknown, revoked or disabled one
_TOKEN_SCOPE = text("""
    SELECT t.id, t.last_used_at, u.id, u.name, u.role, u.display_name,
           set_config('sinhke.user_id', u.id::text, true),
           set_config('sinhke.scope_all', CASE WHEN u.role = ANY(:everything) THEN 'on' ELSE 'off' END, true),
           set_config('sinhke.actor', u.name, true), set_config('jit', 'off', true)
    FROM api_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = :digest AND t.revoked_at IS NULL AND u.disabled_at IS NULL""")
#: roles whose scope is everything (``Principal.sees_everything``), for the statement above
_SEES_EVERYTHING = [r for r in ROLES if Principal(0, "", r).sees_everything]


def token_principal(session: Session, token: str) -> Principal | None:
    """Who a live API token belongs to, with the transaction already scoped to them (as
    ``apply_scope(session, who)`` would, JIT off included: call it after the anonymous scope). None, and the
    scope left anonymous, for an unknown, revoked or disabled token. Its ``last_used_at``
    is written at most every 5 minutes."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(_TOKEN_SCOPE, {"digest": _digest(token), "everything": _SEES_EVERYTHING}).first()
    if row is None:
        return None
    token_id, last_used, user_id, name, role, display_name = row[:6]
    now = datetime.now(UTC)
    if last_used is None or now - last_used > timedelta(minutes=5):
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return Principal(user_id=user_id, name=name, role=role, display_name=display_name)


def token_user(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or row[1].disabled_at is not None:
        return None
    tok, user = row
    now = datetime.now(UTC)
    if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=5):
        tok.last_used_at = now
    return user
