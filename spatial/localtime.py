"""Times as people in the programme read them: in its zone (``SINHKE_TIMEZONE``, Asia/Ho_Chi_Minh).

The database keeps instants (``timestamptz``); pages and exports turn them into the
programme's wall-clock time here, and exports keep the offset (ISO 8601, ``+07:00``) so a
file read elsewhere still names the instant. Pure: no database, no web.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_local(value: datetime | str, zone: str) -> datetime:
    """An instant (aware datetime or ISO 8601 text) in ``zone``; a naive value is taken as UTC."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(_zone(zone))


def local_iso(value: datetime | str, zone: str) -> str:
    """ISO 8601 in ``zone`` with its offset, to the second: ``2026-12-02T03:10:00+07:00``."""
    return to_local(value, zone).isoformat(timespec="seconds")
