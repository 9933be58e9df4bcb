"""Place each household in its commune on each boundary version, once.

Area indicators then group by stored keys instead of joining points to polygons on
every query (a 1M-row ST_Contains join costs several times the GROUP BY itself).

The rules (the point's commune, else the recorded commune, else the crosswalk's heaviest
counterpart) are the definer-rights function ``sinhke_place_households`` of migration 0027, so a
planner's import places its households although the planner cannot see the districts and
provinces a placement names.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def place_households(session: Session, household_ids: list[int] | None = None) -> int:
    """Place households not yet placed and forget deleted ones (the job); or place only
    ``household_ids`` (an import). Returns rows written."""
    return int(
        session.execute(
            text("SELECT sinhke_place_households(CAST(:ids AS int[]))"), {"ids": household_ids}
        ).scalar_one()
    )


def replace_placement(session: Session, household_ids: list[int]) -> None:
    """Forget the placement of households whose point or commune changed."""
    session.execute(text("DELETE FROM household_units WHERE household_id = ANY(:ids)"), {"ids": household_ids})
