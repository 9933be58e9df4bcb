"""pass_on: which owed calves are due to be handed on, and which are overdue.

An obligation is due from the owed calf's birth plus the model's ``due_from_months`` to
its birth plus ``due_by_months`` (both days included) and overdue after that; it stays
owed while the calf is unborn or younger. Idempotent: a second run the same day changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from spatial.ledger import refresh_pass_on_status

#: the programme's days are Vietnam's days, whatever the server's clock zone
PROGRAMME_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def pass_on_status(session: Session, as_of: date) -> int:
    """Set due/overdue as of a day; returns how many obligations changed."""
    return refresh_pass_on_status(session, as_of)


def pass_on(session: Session) -> int:
    return pass_on_status(session, datetime.now(PROGRAMME_TZ).date())
