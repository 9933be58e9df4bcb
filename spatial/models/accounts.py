"""Users, their areas, sessions, API tokens, login attempts and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

ROLES = ("admin", "planner", "extension_worker", "evaluator")
#: roles that may only read
READ_ONLY_ROLES = ("evaluator",)


class User(Base, Edited):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin','planner','extension_worker','evaluator')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: raised at every password change: sessions of an older version are dead
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("uq_users_name_lower", func.lower(User.name), unique=True)


class UserArea(Base, Edited):
    """An area a user is assigned: a current commune or a whole province."""

    __tablename__ = "user_areas"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), primary_key=True)


class UserVisibleUnit(Base):
    """Derived from user_areas: every unit (both boundary versions) a user may see."""

    __tablename__ = "user_visible_units"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True)


class UserSession(Base):
    """A browser login; the cookie carries a random id whose hash is stored here."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    session_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base, Edited):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    #: the first characters, so a person can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """Counted in PostgreSQL so the limit holds across worker processes and machines."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_name_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    success: Mapped[bool] = mapped_column(nullable=False)


class AuditEntry(Base):
    """Append-only: written by triggers; the application's role cannot change or delete rows."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("action IN ('insert','update','delete','import')", name="action"),
        Index("ix_audit_log_table_at", "table_name", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    table_name: Mapped[str] = mapped_column(String(60), nullable=False)
    row_id: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    old: Mapped[dict | None] = mapped_column(JSONB)
    new: Mapped[dict | None] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
