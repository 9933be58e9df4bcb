"""Reading the audit trail (written by triggers, migration 0003)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.models import AuditEntry

AUDIT_PAGE = 100
#: pages beyond this are refused (a page number past it is a typo or a probe, not a search)
MAX_AUDIT_PAGES = 1_000_000
ACTIONS = ("insert", "update", "delete", "import")
#: columns every edited table carries, stamped by triggers: not a change anyone made
STAMPS = frozenset({"created_at", "updated_at", "created_by", "updated_by"})
#: columns the database derives from others (a household's coordinates from its point): not a change either
DERIVED = frozenset({"geom_lon", "geom_lat", "tile_key"})
#: English texts kept beside their catalogue messages (migration 0030): an entry holding the messages
#: shows those (a page words them in its reader's language), not the text again
WORDED = {"status_reason": "status_reason_messages"}
#: columns whose values say nothing to a reader (hashes, geometries, whole definitions): "changed" only
OPAQUE = frozenset(
    {
        "password_hash",
        "token_hash",
        "checksum",
        "body_sha256",
        "definition",
        "definition_sha256",
        "source_sha256",
        "geom",
        "bounds",
        "service_area",
        "answers",
        "path",
    }
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    #: the values are not shown (a hash, a geometry, a whole document), only that they changed
    opaque: bool = False


def audit_changes(entry: AuditEntry) -> list[FieldChange]:
    """What an entry did, field by field: the fields an update changed (old → new), the values an
    insert wrote or a delete removed; without the timestamps and who-stamps triggers set."""
    old, new = entry.old or {}, entry.new or {}
    if entry.action == "update":
        names = [k for k in new if old.get(k) != new.get(k)] + [k for k in old if k not in new]
    else:
        names = list(new or old)
    out = []
    for name in names:
        if name in STAMPS or name in DERIVED or WORDED.get(name) in (new or old):
            continue
        before = old.get(name) if entry.action != "insert" else None
        after = new.get(name) if entry.action != "delete" else None
        if entry.action == "insert" and after is None:
            continue  # an empty field of a new row says nothing
        out.append(FieldChange(name, before, after, name in OPAQUE))
    return out


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
