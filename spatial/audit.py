"""Reading the audit trail (written by triggers, migration 0003)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.models import AuditEntry

AUDIT_PAGE = 100
#: pages beyond this are refused (a page number past it is a typo or a probe, not a search)
MAX_AUDIT_PAGES = 1_000_000
ACTIONS = ("insert", "update", "delete", "import")


def audit_entries(
    session: Session,
    *,
    table: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    row_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    page: int = 1,
) -> list[AuditEntry]:
    """Newest first, filtered; one page of AUDIT_PAGE entries."""
    q = select(AuditEntry)
    if table:
        q = q.where(AuditEntry.table_name == table)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        if action not in ACTIONS:
            raise ParameterError("action", f"unknown action {action!r}", list(ACTIONS))
        q = q.where(AuditEntry.action == action)
    if row_id:
        q = q.where(AuditEntry.row_id == row_id)
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until + timedelta(days=1))
    q = q.order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE).offset((page - 1) * AUDIT_PAGE)
    return list(session.scalars(q))
