"""Duplicate candidates for review: reading them and recording an admin's decision (the duplicates job finds them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.db import rowcount

_LIST = text("""
SELECT d.id, d.kind, d.reasons, round(d.distance_m::numeric, 1) AS distance_m, d.pair_key,
       d.decision, d.decided_by, d.decided_at, d.current,
       a.code AS code_a, a.head_name AS name_a, va.name AS village_a, a.id_card_number AS card_a,
       b.code AS code_b, b.head_name AS name_b, vb.name AS village_b, b.id_card_number AS card_b
FROM duplicate_candidates d
JOIN households a ON a.id = d.household_a
JOIN households b ON b.id = d.household_b
LEFT JOIN villages va ON va.id = a.village_id
LEFT JOIN villages vb ON vb.id = b.village_id
WHERE (:show = 'all' OR (:show = 'open' AND d.decision IS NULL AND d.current)
       OR (:show = 'decided' AND d.decision IS NOT NULL))
ORDER BY d.decision IS NOT NULL, d.kind, d.id
LIMIT 500
""")

SHOW = ("open", "decided", "all")
DECISIONS = ("duplicate", "distinct")


def candidates(session: Session, show: str = "open") -> list[dict[str, Any]]:
    if show not in SHOW:
        raise ParameterError("show", f"unknown filter {show!r}", list(SHOW))
    return [dict(r._mapping) for r in session.execute(_LIST, {"show": show})]


def review_decision(session: Session, candidate_id: int, decision: str, actor: str) -> None:
    """Record an admin's decision on a candidate; the duplicates job keeps it across runs."""
    if decision not in DECISIONS:
        raise ParameterError("decision", f"unknown decision {decision!r}", list(DECISIONS))
    done = rowcount(
        session.execute(
            text("UPDATE duplicate_candidates SET decision = :d, decided_by = :a, decided_at = now() WHERE id = :id"),
            {"d": decision, "a": actor, "id": candidate_id},
        )
    )
    if not done:
        raise NotFound(f"no duplicate candidate {candidate_id}")
