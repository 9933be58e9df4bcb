"""model_status: each livelihood model's status from its field visits, as of a day.

Per model: visits (the current version of each edit chain only; visits after the day do
not count), the last one and who made it, the visit interval its type is owed
(``visit_schedules``, data), the next visit's due date and the days it is overdue (active
models only; a model never visited is due one interval after its start). Cow banks and
buffalo loans: herd size (live animals held that day) and 12-month mortality (deaths per
animal-year) from the pass-on ledger, pass-ons due and overdue from its obligations (as the
``pass_on`` job left them). Chickens: the latest flock, deaths per bird-year over 12 months
(the mean reported flock stands in for the birds at risk), birds sold and sales. Medicinal
plants: the latest area and stage, harvest and its value over 12 months. Figures from answers
are null when no visit of the model's own form fell in the 12 months (unknown, not zero). Idempotent: the
table is rebuilt in one statement (``spatial.model_status.refresh_model_status``, which visit
sync runs for the visited model too).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from spatial.model_status import PROGRAMME_TZ, programme_today, refresh_model_status

__all__ = ["PROGRAMME_TZ", "model_status", "model_status_as_of"]


def model_status_as_of(session: Session, as_of: date) -> int:
    """Rebuild ``model_status`` for every model as of a day; returns the number of models."""
    return refresh_model_status(session, as_of)


def model_status(session: Session) -> int:
    return model_status_as_of(session, programme_today())
