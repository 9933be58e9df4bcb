"""What the sensor jobs make of the readings: partitions ahead and retention, hourly and daily
aggregates, data gaps, water-scheme functionality, and rainfall risk alerts per commune.

Each is a plain function over a Session (``now`` may be given, for tests and re-runs) whose body is
idempotent: it rewrites the results of the period it covers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.progress import report
from spatial import N_, Message
from spatial.db import rowcount

#: months of partitions kept ahead of the current one, and months of raw readings kept
#: (older partitions are dropped once their aggregates are written; the aggregates stay)
MONTHS_AHEAD = 2
RETENTION_MONTHS = 36
#: re-aggregate readings received this recently (late logger files and corrections land in old hours)
AGGREGATE_LOOKBACK = timedelta(days=3)
#: a datastream is in a gap after this many expected intervals without a reading
GAP_INTERVALS = 3
GAP_WINDOW = timedelta(days=30)
LOCAL_ZONE = "Asia/Ho_Chi_Minh"
#: a local midnight: the origin of the hourly and daily bins (date_bin is arithmetic, date_trunc with a zone is not)
LOCAL_MIDNIGHT = datetime(2000, 1, 1, tzinfo=ZoneInfo(LOCAL_ZONE))


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _month(d: date, add: int) -> date:
    index = d.year * 12 + d.month - 1 + add
    return date(index // 12, index % 12 + 1, 1)


# ----------------------------------------------------------------------------- storage
def sensor_partitions(session: Session, *, now: datetime | None = None) -> int:
    """Partitions for this month and MONTHS_AHEAD after it; drop those wholly older than the
    retention (their hours and days were aggregated when the readings came: ``sensor_aggregates``
    keeps them). How many partitions were created or dropped."""
    today = _now(now).date()
    before = set(_partitions(session))
    for ahead in range(MONTHS_AHEAD + 1):
        session.execute(text("SELECT sinhke_sensor_partition(:m)"), {"m": _month(today, ahead)})
    created = len(set(_partitions(session)) - before)
    oldest_kept = _month(today, -RETENTION_MONTHS)
    dropped = 0
    for name in sorted(_partitions(session)):
        year, month = int(name[-7:-3]), int(name[-2:])
        if date(year, month, 1) < oldest_kept:
            session.execute(text(f'DROP TABLE "{name}"'))
            dropped += 1
    report(f"{created} partitions created, {dropped} dropped (retention {RETENTION_MONTHS} months)")
    return created + dropped


def _partitions(session: Session) -> list[str]:
    return list(
        session.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'sensor_observations'::regclass"
            )
        )
    )


_HOURLY = text("""
    WITH touched AS (
      SELECT DISTINCT datastream_id, date_bin('1 hour', phenomenon_time, :origin) AS h
      FROM sensor_observations WHERE result_time >= :since)
    INSERT INTO sensor_aggregates (datastream_id, period, period_start, n, min, max, mean, sum)
    SELECT o.datastream_id, 'hour', date_bin('1 hour', o.phenomenon_time, :origin), count(*),
           min(o.value), max(o.value), avg(o.value), sum(o.value)
    FROM sensor_observations o
    WHERE o.phenomenon_time >= (SELECT min(h) FROM touched)
      AND (o.datastream_id, date_bin('1 hour', o.phenomenon_time, :origin)) IN (SELECT datastream_id, h FROM touched)
    GROUP BY 1, 3
    ON CONFLICT (datastream_id, period, period_start) DO UPDATE
      SET n = EXCLUDED.n, min = EXCLUDED.min, max = EXCLUDED.max, mean = EXCLUDED.mean, sum = EXCLUDED.sum""")
#: a local day from its hours (Vietnam keeps UTC+7 all year, so local days and hours are bins from one origin)
_DAILY = text("""
    WITH touched AS (
      SELECT DISTINCT datastream_id, date_bin('1 day', phenomenon_time, :origin) AS d
      FROM sensor_observations WHERE result_time >= :since)
    INSERT INTO sensor_aggregates (datastream_id, period, period_start, n, min, max, mean, sum)
    SELECT a.datastream_id, 'day', date_bin('1 day', a.period_start, :origin), sum(a.n), min(a.min), max(a.max),
           sum(a.sum) / sum(a.n), sum(a.sum)
    FROM sensor_aggregates a
    WHERE a.period = 'hour' AND a.period_start >= (SELECT min(d) FROM touched)
      AND (a.datastream_id, date_bin('1 day', a.period_start, :origin)) IN (SELECT datastream_id, d FROM touched)
    GROUP BY 1, 3
    ON CONFLICT (datastream_id, period, period_start) DO UPDATE
      SET n = EXCLUDED.n, min = EXCLUDED.min, max = EXCLUDED.max, mean = EXCLUDED.mean, sum = EXCLUDED.sum""")


def sensor_aggregates(session: Session, *, now: datetime | None = None) -> int:
    """Hourly and daily (local days) count, min, max, mean and sum of every period holding a
    reading received in the last AGGREGATE_LOOKBACK (late files and corrections included); a day
    is made from its hours."""
    params = {"since": _now(now) - AGGREGATE_LOOKBACK, "origin": LOCAL_MIDNIGHT}
    hours = int(session.execute(_HOURLY, params).rowcount or 0)  # type: ignore[attr-defined]
    days = int(session.execute(_DAILY, params).rowcount or 0)  # type: ignore[attr-defined]
    report(f"{hours} hourly and {days} daily aggregates written")
    return hours + days


def sensor_gaps(session: Session, *, now: datetime | None = None) -> int:
    """Stretches of the last GAP_WINDOW in which a datastream sent nothing for more than
    GAP_INTERVALS expected intervals; a gap still running at ``now`` is open."""
    at = _now(now)
    session.execute(text("DELETE FROM sensor_gaps WHERE gap_end >= :since OR open"), {"since": at - GAP_WINDOW})
    n = session.execute(
        text("""
        WITH readings AS (
          SELECT o.datastream_id, o.phenomenon_time AS t,
                 lead(o.phenomenon_time) OVER (PARTITION BY o.datastream_id ORDER BY o.phenomenon_time) AS next_t
          FROM sensor_observations o
          WHERE o.phenomenon_time >= :since AND o.phenomenon_time <= :now)
        INSERT INTO sensor_gaps (datastream_id, gap_start, gap_end, open)
        SELECT r.datastream_id, r.t, coalesce(r.next_t, :now), r.next_t IS NULL
        FROM readings r JOIN sensor_datastreams d ON d.id = r.datastream_id AND d.deleted_at IS NULL
        WHERE coalesce(r.next_t, :now) - r.t > make_interval(secs => d.expected_interval_s * :k)
        ON CONFLICT (datastream_id, gap_start) DO UPDATE SET gap_end = EXCLUDED.gap_end, open = EXCLUDED.open
        """),
        {"since": at - GAP_WINDOW, "now": at, "k": GAP_INTERVALS},
    ).rowcount  # type: ignore[attr-defined]
    report(f"{n} data gaps")
    return int(n or 0)


# ----------------------------------------------------------------------------- water schemes
@dataclass(frozen=True)
class FunctionalityRules:
    """When the meters say a scheme is not (fully) working: data, not code, so a province can tune it."""

    no_flow_days: int = 3
    pressure_min_bar: float = 0.5
    pressure_max_bar: float = 8.0
    #: share of the last day's pressure readings outside the range that makes it partially functional
    pressure_share: float = 0.5
    tank_empty_pct: float = 5.0
    tank_empty_hours: int = 6
    #: a visit report counts for this many days
    visit_days: int = 30


RULES = FunctionalityRules()
_RANK = {"functional": 0, "partially_functional": 1, "not_functional": 2}
#: a visit report's status as the detail says it
VISIT_REPORTS = {
    "functional": N_("visit report: functional"),
    "partially_functional": N_("visit report: partially functional"),
    "not_functional": N_("visit report: not functional"),
}


def scheme_functionality(session: Session, *, now: datetime | None = None, rules: FunctionalityRules = RULES) -> int:
    """Each metered scheme's functionality today, from its readings and its latest visit report,
    with the reasons: no flow for ``no_flow_days`` (not functional), pressure out of range for
    most of the last day or the tank empty for ``tank_empty_hours`` (partially functional); a
    visit report within ``visit_days`` that is worse counts too. The worse of the two is the status,
    kept per day in ``sensor_scheme_status`` and written to ``water_schemes.status`` with its reason,
    which ``classify_households`` reads: households served only by schemes that are not functional
    are deprived of domestic water at its next run. ``households_served`` says whose water it is."""
    at = _now(now)
    rows = session.execute(
        text("""
        WITH streams AS (
          SELECT t.scheme_id, d.id, d.quantity FROM sensor_things t
          JOIN sensor_datastreams d ON d.thing_id = t.id AND d.deleted_at IS NULL
          WHERE t.kind = 'water_scheme' AND t.deleted_at IS NULL),
        flow AS (
          SELECT s.scheme_id, count(o.value) AS n, max(o.value) AS peak
          FROM streams s LEFT JOIN sensor_observations o ON o.datastream_id = s.id
           AND o.phenomenon_time > :now - make_interval(days => :no_flow_days) AND o.phenomenon_time <= :now
          WHERE s.quantity = 'flow' GROUP BY s.scheme_id),
        pressure AS (
          SELECT s.scheme_id, count(o.value) AS n,
                 count(*) FILTER (WHERE o.value < :pmin OR o.value > :pmax) AS outside
          FROM streams s JOIN sensor_observations o ON o.datastream_id = s.id
           AND o.phenomenon_time > :now - interval '1 day' AND o.phenomenon_time <= :now
          WHERE s.quantity = 'pressure' GROUP BY s.scheme_id),
        tank AS (
          SELECT s.scheme_id, count(o.value) AS n, max(o.value) AS highest
          FROM streams s JOIN sensor_observations o ON o.datastream_id = s.id
           AND o.phenomenon_time > :now - make_interval(hours => :tank_hours) AND o.phenomenon_time <= :now
          WHERE s.quantity = 'tank_level' GROUP BY s.scheme_id),
        visit AS (
          SELECT DISTINCT ON (v.scheme_id) v.scheme_id, v.answers ->> 'status' AS status, v.visited_at
          FROM visits v WHERE v.scheme_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM visits r WHERE r.replaces_id = v.id)
           AND v.visited_at > :now - make_interval(days => :visit_days) AND v.visited_at <= :now
          ORDER BY v.scheme_id, v.visited_at DESC)
        SELECT ws.id, f.n AS flow_n, f.peak, p.n AS pressure_n, p.outside, k.n AS tank_n, k.highest,
               v.status AS visit_status, v.visited_at,
               (SELECT count(*) FROM water_scheme_households h WHERE h.scheme_id = ws.id) AS households
        FROM water_schemes ws
        LEFT JOIN flow f ON f.scheme_id = ws.id LEFT JOIN pressure p ON p.scheme_id = ws.id
        LEFT JOIN tank k ON k.scheme_id = ws.id LEFT JOIN visit v ON v.scheme_id = ws.id
        WHERE ws.deleted_at IS NULL AND ws.id IN (SELECT scheme_id FROM streams)
        """),
        {
            "now": at,
            "no_flow_days": rules.no_flow_days,
            "pmin": rules.pressure_min_bar,
            "pmax": rules.pressure_max_bar,
            "tank_hours": rules.tank_empty_hours,
            "visit_days": rules.visit_days,
        },
    ).all()
    today = at.astimezone(ZoneInfo(LOCAL_ZONE)).date()
    written = changed = 0
    for r in rows:
        status, reasons, detail = assess(r, rules)
        english = "; ".join(detail)
        facts = json.dumps([m.stored() for m in detail], ensure_ascii=False)
        session.execute(
            text("""
            INSERT INTO sensor_scheme_status (scheme_id, assessed_on, status, reasons, detail, detail_messages,
                                              households_served)
            VALUES (:s, :d, :status, :reasons, :detail, CAST(:facts AS jsonb), :hh)
            ON CONFLICT (scheme_id, assessed_on) DO UPDATE SET status = EXCLUDED.status,
              reasons = EXCLUDED.reasons, detail = EXCLUDED.detail, detail_messages = EXCLUDED.detail_messages,
              households_served = EXCLUDED.households_served
            """),
            {
                "s": r.id,
                "d": today,
                "status": status,
                "reasons": reasons,
                "detail": english,
                "facts": facts,
                "hh": r.households,
            },
        )
        # the scheme's own status (what classify_households reads for its households' domestic
        # water), changed only when the status or its reason (text or messages) changes: the audit
        # trail keeps the history
        changed += rowcount(
            session.execute(
                text("""
                UPDATE water_schemes SET status = :status, status_reason = :reason,
                  status_reason_messages = CAST(:facts AS jsonb), status_reported_on = :d
                WHERE id = :s AND (status, status_reason, status_reason_messages)
                      IS DISTINCT FROM (:status, :reason, CAST(:facts AS jsonb))
                """),
                {
                    "s": r.id,
                    "d": today,
                    "status": status,
                    "reason": english or None,
                    "facts": facts if detail else None,
                },
            )
        )
        written += 1
    report(f"{written} metered schemes assessed, {changed} changed status")
    return written


def assess(r: object, rules: FunctionalityRules = RULES) -> tuple[str, list[str], list[Message]]:
    """(status, reasons, detail) of one scheme's readings and visit (see scheme_functionality): the
    detail is a catalogue message per reason, with its numbers, so it can be worded in any language
    (``"; ".join(detail)`` is the English text)."""
    status, reasons, detail = "functional", [], []
    flow_n, peak = getattr(r, "flow_n", None), getattr(r, "peak", None)
    if flow_n and peak is not None and peak <= 0:
        status = "not_functional"
        reasons.append("no_flow")
        detail.append(Message(N_("no flow for {days} days"), days=rules.no_flow_days))
    pressure_n, outside = getattr(r, "pressure_n", None) or 0, getattr(r, "outside", None) or 0
    if pressure_n and outside / pressure_n > rules.pressure_share:
        status = max(status, "partially_functional", key=_RANK.__getitem__)
        reasons.append("pressure_out_of_range")
        detail.append(
            Message(
                N_("pressure outside {low}–{high} bar in {outside} of {readings} readings of the last day"),
                low=f"{rules.pressure_min_bar:g}",
                high=f"{rules.pressure_max_bar:g}",
                outside=outside,
                readings=pressure_n,
            )
        )
    tank_n, highest = getattr(r, "tank_n", None), getattr(r, "highest", None)
    if tank_n and highest is not None and highest < rules.tank_empty_pct:
        status = max(status, "partially_functional", key=_RANK.__getitem__)
        reasons.append("tank_empty")
        detail.append(
            Message(
                N_("tank below {level} for {hours} hours"),
                level=f"{rules.tank_empty_pct:g} %",  # the sign in the value: "% f" would read as a %-format
                hours=rules.tank_empty_hours,
            )
        )
    visit = getattr(r, "visit_status", None)
    if visit in _RANK:
        reasons.append(f"visit_{visit}")
        detail.append(Message(VISIT_REPORTS[visit]))
        status = max(status, visit, key=_RANK.__getitem__)
    return status, reasons, detail


# ----------------------------------------------------------------------------- rainfall
#: Decision 18/2021/QĐ-TTg's 24-hour rainfall bands (Art. 46): (band, lowest mm, lowest included,
#: highest mm or None); "from 100 to 200", "above 200 to 400", "above 400"; below 100 no band
RAIN_BANDS: tuple[tuple[int, float, bool, float | None], ...] = (
    (1, 100.0, True, 200.0),
    (2, 200.0, False, 400.0),
    (3, 400.0, False, None),
)
#: the landslide raster's classes 0–5 (NASA global susceptibility) as the decision's zone susceptibility
SUSCEPTIBILITY_ZONES = ("low", "low", "low", "medium", "high", "very_high")
#: the risk matrix: rain band x zone susceptibility -> risk level (1 low, 2 medium, 3 large: the
#: decision's colours; 0 no level). Art. 46 also weighs the days of rain before and the province's
#: region (Appendix XII puts Lạng Sơn in region 2); this table is for region 2 with rain the days
#: before. Art. 46 cl. 1 (level 1) names, for region 2, 100–200 mm in a medium zone and 200–400 mm
#: in a low zone, and no band-1 case in a low zone (region 1's clause names low zones, region 2's
#: does not): band 1 in a low zone is no level. The other cells (levels 2 and 3, clauses 2 and 3,
#: whose text was not at hand) are G: to be checked by the province before the levels are published.
#: README "Rainfall risk matrix" prints it.
RISK_MATRIX: dict[int, dict[str, int]] = {
    1: {"low": 0, "medium": 1, "high": 2, "very_high": 2},
    2: {"low": 1, "medium": 2, "high": 2, "very_high": 3},
    3: {"low": 2, "medium": 3, "high": 3, "very_high": 3},
}
#: gauges within this distance of a commune count for it; one: nearest, several: inverse distance
NEAR_M = 10_000.0
FALLBACK_M = 30_000.0


def rain_band(mm: float) -> int:
    """The RAIN_BANDS band of a 24-hour total: 0 below 100 mm; 1 for 100–200 (both included); 2 above
    200 up to 400; 3 above 400."""
    for band, low, low_included, high in RAIN_BANDS:
        if (mm >= low if low_included else mm > low) and (high is None or mm <= high):
            return band
    return 0


def risk_level(band: int, susceptibility: int | None) -> int:
    """RISK_MATRIX's level; 0 without a band; a commune of unknown susceptibility gets its band."""
    if band == 0:
        return 0
    if susceptibility is None:
        return band
    return RISK_MATRIX[band][SUSCEPTIBILITY_ZONES[max(0, min(susceptibility, 5))]]


def idw(values: list[tuple[float, float]], power: float = 2.0) -> float:
    """Inverse-distance weighted mean of (value, distance in metres); gauges at the point (under 1 m)
    are the answer (their mean)."""
    here = [value for value, distance in values if distance < 1.0]
    if here:
        return sum(here) / len(here)
    weights = [(value, 1.0 / distance**power) for value, distance in values]
    return sum(v * w for v, w in weights) / sum(w for _, w in weights)


def rainfall_alerts(session: Session, *, now: datetime | None = None) -> int:
    """Each 2025 commune's 24 h and 72 h rainfall from the rain gauges near it, its band, the
    landslide susceptibility of its slopes (p90 of the baseline landslide raster over the commune)
    and the risk level, with the models, schemes and households inside; a row per commune with a
    gauge near it, at the hour ``now`` falls in."""
    at = _now(now).replace(minute=0, second=0, microsecond=0)
    gauges = session.execute(
        text("""
        SELECT c.id AS commune, d.id AS stream,
               ST_Distance(c.centroid::geography, t.geom::geography) AS distance,
               coalesce((SELECT sum(o.value) FROM sensor_observations o WHERE o.datastream_id = d.id
                          AND o.phenomenon_time > :at - interval '24 hours' AND o.phenomenon_time <= :at), 0) AS r24,
               coalesce((SELECT sum(o.value) FROM sensor_observations o WHERE o.datastream_id = d.id
                          AND o.phenomenon_time > :at - interval '72 hours' AND o.phenomenon_time <= :at), 0) AS r72
        FROM admin_units c
        JOIN sensor_things t ON t.deleted_at IS NULL
         AND ST_DWithin(c.centroid::geography, t.geom::geography, :fallback)
        JOIN sensor_datastreams d ON d.thing_id = t.id AND d.quantity = 'rainfall' AND d.deleted_at IS NULL
        WHERE c.level = 'commune' AND c.boundary = 'current'
          -- a gauge that sent nothing for three days is in a gap, not a dry gauge
          AND EXISTS (SELECT 1 FROM sensor_observations o WHERE o.datastream_id = d.id
                       AND o.phenomenon_time > :at - interval '72 hours' AND o.phenomenon_time <= :at)
        ORDER BY c.id, distance
        """),
        {"at": at, "fallback": FALLBACK_M},
    ).all()
    by_commune: dict[int, list] = {}
    for g in gauges:
        by_commune.setdefault(g.commune, []).append(g)
    susceptibility: dict[int, int] = {
        unit: level
        for unit, level in session.execute(
            text("""
            SELECT a.unit_id, round(max(a.p90))::int FROM area_exposure a
            JOIN rasters r ON r.id = a.raster_id AND r.hazard = 'landslide' AND r.epoch = 'baseline'
            GROUP BY a.unit_id""")
        )
    }
    session.execute(text("DELETE FROM sensor_rain_alerts WHERE computed_for = :at"), {"at": at})
    written = 0
    for commune, near in by_commune.items():
        close = [g for g in near if g.distance <= NEAR_M] or near[:1]
        method = "idw" if len(close) > 1 else "nearest"
        r24 = idw([(g.r24, g.distance) for g in close]) if method == "idw" else close[0].r24
        r72 = idw([(g.r72, g.distance) for g in close]) if method == "idw" else close[0].r72
        band = rain_band(round(r24, 3))
        level = risk_level(band, susceptibility.get(commune))
        session.execute(
            text("""
            INSERT INTO sensor_rain_alerts (commune_id, computed_for, rain_24h_mm, rain_72h_mm, band, susceptibility,
                                            risk_level, method, gauges, models, schemes, households)
            VALUES (:c, :at, :r24, :r72, :band, :sus, :level, :method, :gauges,
              (SELECT count(*) FROM asset_units WHERE asset_kind = 'model' AND commune_id = :c),
              (SELECT count(*) FROM asset_units WHERE asset_kind = 'water_scheme' AND commune_id = :c),
              (SELECT count(*) FROM household_units WHERE boundary = 'current' AND commune_id = :c))
            """),
            {
                "c": commune,
                "at": at,
                "r24": r24,
                "r72": r72,
                "band": band,
                "sus": susceptibility.get(commune),
                "level": level,
                "method": method,
                "gauges": len(close),
            },
        )
        written += 1
    report(f"{written} communes with rain gauges near them")
    return written
