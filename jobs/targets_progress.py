"""Targets against progress, and the share of allocated capital disbursed (the ``targets_progress`` job).

Per target (area x year x indicator [x project]) the achieved value is read from results already
computed, over the target's period (the year after ``baseline_year``, default the target's year,
to the target's year):

- ``poverty_rate_reduction``: points of poverty rate lost, the rate of the baseline year minus the
  rate of the target year (or of the latest year reviewed so far), from ``area_indicators``
  (2025 boundaries); negative when the rate rose;
- ``households_supported``: distinct households joining a livelihood model placed in the area
  during the period (a project's target: models funded by that project or sub-project);
- ``works_completed``: infrastructure works placed in the area completed during the period;
- ``households_with_water``: households of the area connected to a functional water scheme now.

The expected value is the target times the share of the period gone at the run's date (a straight
path from nothing at the period's start to the target at its end). Status: met (achieved >= target),
on track (>= expected), lagging, no data (nothing to read yet), and, for every 2025 commune and
indicator of the current year without a target, no target. ``gap`` is how far achieved falls short
of the expected value (>= 0 when lagging).

Disbursement per programme part, area and year sums every source: the rate is disbursed over
allocated; nothing allocated is ``no_allocation`` (no rate, not an error); a rate below
``LOW_DISBURSEMENT`` of the share of the year gone (a past year: of the whole) is ``low``.

Idempotent: each run replaces both result tables in its one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.progress import report
from spatial.db import rowcount
from spatial.models import TARGET_INDICATORS

#: (G) a part disbursing under 80 % of the share of its year gone is flagged as low
LOW_DISBURSEMENT = 0.8
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def period_share(start_year: int, end_year: int, as_of: date) -> float:
    """Share of 1 Jan start_year .. 31 Dec end_year gone at ``as_of`` (0..1)."""
    start, end = date(start_year, 1, 1), date(end_year, 12, 31)
    if as_of <= start:
        return 0.0
    if as_of >= end:
        return 1.0
    return (as_of - start).days / (end - start).days


def status_of(target: float | None, achieved: float | None, expected: float | None) -> str:
    if target is None:
        return "no_target"
    if achieved is None:
        return "no_data"
    if achieved >= target:
        return "met"
    if expected is not None and achieved >= expected:
        return "on_track"
    return "lagging"


#: the units a target may name, and where their households and assets are placed
_MEMBERS = """
units AS (SELECT u.id, u.level FROM admin_units u WHERE u.boundary = 'current' AND u.level IN ('commune', 'province')),
served_in AS (
    -- households connected to a functional scheme, by the commune and the province holding them: read
    -- from the (few) connections, not from every household placed
    SELECT x.household_id, x.unit_id
    FROM water_scheme_households wsh
    JOIN water_schemes s ON s.id = wsh.scheme_id AND s.status = 'functional' AND s.deleted_at IS NULL
    JOIN household_units hu ON hu.household_id = wsh.household_id AND hu.boundary = 'current'
    CROSS JOIN LATERAL (VALUES (hu.household_id, hu.commune_id), (hu.household_id, hu.province_id))
        AS x(household_id, unit_id)),
assets_in AS (
    SELECT au.asset_kind, au.asset_id, au.commune_id AS unit_id FROM asset_units au
    UNION ALL
    SELECT au.asset_kind, au.asset_id, c.parent_id FROM asset_units au JOIN admin_units c ON c.id = au.commune_id
    WHERE c.parent_id IS NOT NULL)
"""

#: the achieved value of every target (one statement: each indicator is a grouped join)
_ACHIEVED_SQL = """
WITH MEMBERS,
t AS (
    SELECT t.id, t.unit_id, t.year, t.indicator, t.part_id, t.value,
           coalesce(t.baseline_year, t.year - 1) AS baseline_year, p.code AS part_code
    FROM targets t LEFT JOIN programme_parts p ON p.id = t.part_id),
rate AS (
    SELECT t.id, (SELECT 100.0 * a.poor / nullif(a.households, 0) FROM area_indicators a
                  WHERE a.unit_id = t.unit_id AND a.boundary = 'current' AND a.year = t.baseline_year) AS base,
                 (SELECT 100.0 * a.poor / nullif(a.households, 0) FROM area_indicators a
                  WHERE a.unit_id = t.unit_id AND a.boundary = 'current'
                    AND a.year > t.baseline_year AND a.year <= t.year
                  ORDER BY a.year DESC LIMIT 1) AS now
    FROM t WHERE t.indicator = 'poverty_rate_reduction'),
supported AS (
    SELECT t.id, count(DISTINCT mp.household_id) AS n
    FROM t
    JOIN assets_in ai ON ai.unit_id = t.unit_id AND ai.asset_kind = 'model'
    JOIN livelihood_models m ON m.id = ai.asset_id AND m.deleted_at IS NULL
    JOIN model_participants mp ON mp.model_id = m.id
    WHERE t.indicator = 'households_supported'
      AND mp.joined_on >= make_date(t.baseline_year + 1, 1, 1) AND mp.joined_on <= make_date(t.year, 12, 31)
      AND (t.part_code IS NULL
           OR (m.funding_project LIKE 'Dự án ' || split_part(t.part_code, '.', 1) || ':%'
               AND (t.part_code NOT LIKE '%.%'
                    OR m.funding_subproject LIKE 'Tiểu dự án ' || split_part(t.part_code, '.', 2) || ':%')))
    GROUP BY t.id),
works AS (
    SELECT t.id, count(*) AS n
    FROM t
    JOIN assets_in ai ON ai.unit_id = t.unit_id AND ai.asset_kind = 'work'
    JOIN infrastructure_works w ON w.id = ai.asset_id AND w.deleted_at IS NULL
    WHERE t.indicator = 'works_completed' AND w.status = 'completed'
      AND w.completion_date >= make_date(t.baseline_year + 1, 1, 1) AND w.completion_date <= make_date(t.year, 12, 31)
    GROUP BY t.id),
water AS (
    SELECT t.id, count(DISTINCT si.household_id) AS n
    FROM t JOIN served_in si ON si.unit_id = t.unit_id
    WHERE t.indicator = 'households_with_water'
    GROUP BY t.id),
has_data AS (
    -- an area with households reviewed (or assets placed) has data: zero is then an answer
    SELECT t.id,
           EXISTS (SELECT 1 FROM household_units hu WHERE hu.commune_id = t.unit_id AND hu.boundary = 'current')
           OR EXISTS (SELECT 1 FROM household_units hu WHERE hu.province_id = t.unit_id AND hu.boundary = 'current')
           AS households,
           EXISTS (SELECT 1 FROM assets_in ai WHERE ai.unit_id = t.unit_id) AS assets
    FROM t)
SELECT t.id, t.unit_id, t.year, t.indicator, t.part_id, t.value, t.baseline_year,
       CASE t.indicator
         WHEN 'poverty_rate_reduction' THEN r.base - r.now
         WHEN 'households_supported' THEN CASE WHEN d.assets THEN coalesce(s.n, 0) END
         WHEN 'works_completed' THEN CASE WHEN d.assets THEN coalesce(w.n, 0) END
         WHEN 'households_with_water' THEN CASE WHEN d.households THEN coalesce(wa.n, 0) END
       END AS achieved
FROM t JOIN units u ON u.id = t.unit_id
JOIN has_data d ON d.id = t.id
LEFT JOIN rate r ON r.id = t.id
LEFT JOIN supported s ON s.id = t.id
LEFT JOIN works w ON w.id = t.id
LEFT JOIN water wa ON wa.id = t.id
ORDER BY t.id
"""
_ACHIEVED = text(_ACHIEVED_SQL.replace("MEMBERS", _MEMBERS.strip()))

_INSERT = text("""
INSERT INTO target_progress (unit_id, year, indicator, part_id, as_of, target, achieved, expected, gap, status)
VALUES (:unit_id, :year, :indicator, :part_id, :as_of, :target, :achieved, :expected, :gap, :status)
""")

_NO_TARGET = text("""
INSERT INTO target_progress (unit_id, year, indicator, part_id, as_of, status)
SELECT u.id, :year, i.indicator, NULL, :as_of, 'no_target'
FROM admin_units u CROSS JOIN unnest(CAST(:indicators AS text[])) AS i(indicator)
WHERE u.boundary = 'current' AND u.level = 'commune'
  AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.unit_id = u.id AND t.year = :year
                  AND t.indicator = i.indicator AND t.part_id IS NULL)
""")

_DISBURSEMENT = text("""
INSERT INTO disbursement_progress (part_id, unit_id, year, allocated_vnd, disbursed_vnd, rate, status)
SELECT part_id, unit_id, year, sum(allocated_vnd), sum(disbursed_vnd),
       CASE WHEN sum(allocated_vnd) > 0 THEN sum(disbursed_vnd)::float8 / sum(allocated_vnd) END,
       CASE WHEN sum(allocated_vnd) = 0 THEN 'no_allocation'
            WHEN sum(disbursed_vnd)::float8 / sum(allocated_vnd)
                 < :low * CASE WHEN year < :this_year THEN 1.0 WHEN year > :this_year THEN 0.0 ELSE :year_share END
            THEN 'low' ELSE 'on_track' END
FROM allocations
GROUP BY part_id, unit_id, year
""")


def targets_progress(session: Session, as_of: date | None = None) -> int:
    """Recompute ``target_progress`` and ``disbursement_progress`` (see the module); rows written."""
    today = as_of or datetime.now(ZONE).date()
    session.execute(text("DELETE FROM target_progress"))
    session.execute(text("DELETE FROM disbursement_progress"))
    report("targets: achieved values")
    rows = session.execute(_ACHIEVED).all()
    params = []
    for r in rows:
        achieved = None if r.achieved is None else float(r.achieved)
        expected = r.value * period_share(r.baseline_year + 1, r.year, today)
        status = status_of(r.value, achieved, expected)
        params.append(
            {
                "unit_id": r.unit_id,
                "year": r.year,
                "indicator": r.indicator,
                "part_id": r.part_id,
                "as_of": today,
                "target": r.value,
                "achieved": achieved,
                "expected": expected,
                "gap": None if achieved is None else max(0.0, expected - achieved),
                "status": status,
            }
        )
    if params:
        session.execute(_INSERT, params)
    written = len(params)
    written += rowcount(
        session.execute(_NO_TARGET, {"year": today.year, "as_of": today, "indicators": list(TARGET_INDICATORS)})
    )
    report("disbursement by part and area")
    written += rowcount(
        session.execute(
            _DISBURSEMENT,
            {
                "low": LOW_DISBURSEMENT,
                "this_year": today.year,
                "year_share": period_share(today.year, today.year, today),
            },
        )
    )
    return written
