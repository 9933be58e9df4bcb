"""What the sensor pages read: a device and its streams, a stream's readings over a time range,
a scheme's status history and the latest rainfall alerts (the jobs' results; nothing recomputed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError
from spatial.sensors import parse_time

#: more raw readings than this in a range: the chart shows hourly means instead
MAX_POINTS = 5000
#: the longest range one request may ask for
MAX_RANGE = timedelta(days=400)


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def device_overview(session: Session, code: str) -> dict[str, Any]:
    """A device the caller may see: where it is, its streams with their last reading and open gaps."""
    rows = _rows(
        session,
        """
        SELECT t.id, t.code, t.name, t.kind, t.scheme_id, s.name AS scheme, s.code AS scheme_code,
               m.code AS model_code, c.name AS commune, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat
        FROM sensor_things t LEFT JOIN water_schemes s ON s.id = t.scheme_id
        LEFT JOIN livelihood_models m ON m.id = t.model_id JOIN admin_units c ON c.id = t.commune_id
        WHERE t.code = :code AND t.deleted_at IS NULL""",
        {"code": code},
    )
    if not rows:
        raise NotFound(f"no device {code!r} in your communes")
    device = rows[0]
    device["streams"] = _rows(
        session,
        """
        SELECT d.id, d.name, d.quantity, d.unit_symbol, d.expected_interval_s, d.valid_min, d.valid_max,
               last.phenomenon_time AS last_time, last.value AS last_value,
               (SELECT count(*) FROM sensor_gaps g WHERE g.datastream_id = d.id AND g.open) AS open_gaps
        FROM sensor_datastreams d
        LEFT JOIN LATERAL (SELECT o.phenomenon_time, o.value FROM sensor_observations o
                           WHERE o.datastream_id = d.id ORDER BY o.phenomenon_time DESC LIMIT 1) last ON true
        WHERE d.thing_id = :t AND d.deleted_at IS NULL ORDER BY d.id""",
        {"t": device["id"]},
    )
    device["gaps"] = _rows(
        session,
        """
        SELECT g.datastream_id, d.quantity, g.gap_start, g.gap_end, g.open FROM sensor_gaps g
        JOIN sensor_datastreams d ON d.id = g.datastream_id WHERE d.thing_id = :t
        ORDER BY g.gap_start DESC LIMIT 20""",
        {"t": device["id"]},
    )
    return device


def devices_page(session: Session) -> list[dict[str, Any]]:
    return _rows(
        session,
        """
        SELECT t.code, t.name, t.kind, c.name AS commune, count(d.id) AS streams,
               (SELECT count(*) FROM sensor_gaps g JOIN sensor_datastreams x ON x.id = g.datastream_id
                WHERE x.thing_id = t.id AND g.open) AS open_gaps
        FROM sensor_things t JOIN admin_units c ON c.id = t.commune_id
        LEFT JOIN sensor_datastreams d ON d.thing_id = t.id AND d.deleted_at IS NULL
        WHERE t.deleted_at IS NULL GROUP BY t.id, c.name ORDER BY c.name, t.code""",
        {},
    )


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime


def parse_range(args: dict[str, str], *, default_days: int = 30, now: datetime | None = None) -> Range:
    """``from``/``to`` (ISO 8601 with zone); by default the last ``default_days`` days."""
    now = now or datetime.now(UTC)
    try:
        end = parse_time(args["to"]) if args.get("to") else now
        start = parse_time(args["from"]) if args.get("from") else end - timedelta(days=default_days)
    except ValueError as exc:
        raise ParameterError("from/to", str(exc)) from None
    if start >= end:
        raise ParameterError("from/to", "from must be before to")
    if end - start > MAX_RANGE:
        raise ParameterError("from/to", f"at most {MAX_RANGE.days} days at once")
    return Range(start, end)


def readings(session: Session, stream: int, span: Range, *, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """A stream's readings in the range; hourly means (from the aggregates) when there are too many."""
    meta = _rows(
        session,
        "SELECT d.id, d.name, d.quantity, d.unit_symbol, d.valid_min, d.valid_max, t.code AS device "
        "FROM sensor_datastreams d JOIN sensor_things t ON t.id = d.thing_id WHERE d.id = :d",
        {"d": stream},
    )
    if not meta:
        raise NotFound(f"no datastream {stream} in your communes")
    params = {"d": stream, "a": span.start, "b": span.end}
    n = session.scalar(
        text(
            "SELECT count(*) FROM sensor_observations WHERE datastream_id = :d "
            "AND phenomenon_time >= :a AND phenomenon_time < :b"
        ),
        params,
    )
    resolution = "raw"
    if (n or 0) > max_points:
        resolution = "hour"
        sql = (
            "SELECT period_start AS t, mean AS v FROM sensor_aggregates WHERE datastream_id = :d AND period = 'hour' "
            "AND period_start >= :a AND period_start < :b ORDER BY period_start"
        )
    else:
        sql = (
            "SELECT phenomenon_time AS t, value AS v FROM sensor_observations WHERE datastream_id = :d "
            "AND phenomenon_time >= :a AND phenomenon_time < :b ORDER BY phenomenon_time"
        )
    points = [[t.isoformat(), v] for t, v in session.execute(text(sql), params)]
    return {
        **meta[0],
        "from": span.start.isoformat(),
        "to": span.end.isoformat(),
        "resolution": resolution,
        "count": n,
        "points": points,
    }


def readings_rows(session: Session, stream: int, span: Range) -> list[dict[str, Any]]:
    """Every raw reading of the range, for a download."""
    return _rows(
        session,
        """
        SELECT o.datastream_id AS datastream, o.phenomenon_time, o.value, o.channel, o.result_time,
               (SELECT count(*) FROM sensor_corrections c WHERE c.datastream_id = o.datastream_id
                AND c.phenomenon_time = o.phenomenon_time) AS corrections
        FROM sensor_observations o WHERE o.datastream_id = :d AND o.phenomenon_time >= :a AND o.phenomenon_time < :b
        ORDER BY o.phenomenon_time""",
        {"d": stream, "a": span.start, "b": span.end},
    )


READING_COLUMNS = ("datastream", "phenomenon_time", "value", "channel", "result_time", "corrections")


def scheme_history(session: Session, scheme_id: int) -> dict[str, Any]:
    rows = _rows(
        session,
        "SELECT w.id, w.code, w.name, w.status AS recorded_status, w.status_reason, w.status_reason_messages, "
        "w.status_reported_on, "
        "c.name AS commune, (SELECT count(DISTINCT sr.household_id) FROM water_scheme_households wh "
        "JOIN survey_rounds sr ON sr.household_id = wh.household_id "
        "JOIN poverty_classifications pc ON pc.survey_round_id = sr.id AND pc.water_reason IS NOT NULL "
        "WHERE wh.scheme_id = w.id) AS households_without_water FROM water_schemes w "
        "JOIN admin_units c ON c.id = w.commune_id WHERE w.id = :s AND w.deleted_at IS NULL",
        {"s": scheme_id},
    )
    if not rows:
        raise NotFound(f"no water scheme {scheme_id} in your communes")
    scheme = rows[0]
    scheme["history"] = _rows(
        session,
        "SELECT assessed_on, status, reasons, detail, detail_messages, households_served FROM sensor_scheme_status "
        "WHERE scheme_id = :s ORDER BY assessed_on DESC LIMIT 400",
        {"s": scheme_id},
    )
    scheme["devices"] = _rows(
        session,
        "SELECT code, name FROM sensor_things WHERE scheme_id = :s AND deleted_at IS NULL ORDER BY code",
        {"s": scheme_id},
    )
    return scheme


_LATEST_ALERTS = """
    SELECT DISTINCT ON (a.commune_id) a.commune_id, c.code, c.name, a.computed_for, a.rain_24h_mm, a.rain_72h_mm,
           a.band, a.susceptibility, a.risk_level, a.method, a.gauges, a.models, a.schemes, a.households
    FROM sensor_rain_alerts a JOIN admin_units c ON c.id = a.commune_id
    ORDER BY a.commune_id, a.computed_for DESC"""


def latest_alerts(session: Session) -> list[dict[str, Any]]:
    """Each commune's latest rainfall assessment, highest risk first."""
    rows = _rows(session, _LATEST_ALERTS, {})
    return sorted(rows, key=lambda r: (-r["risk_level"], -r["rain_24h_mm"], r["name"]))


def alerts_geojson(session: Session) -> dict[str, Any]:
    """The latest assessment of each commune as a GeoJSON FeatureCollection (built by PostGIS)."""
    body = session.scalar(
        text("""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
          'type', 'Feature', 'geometry', ST_AsGeoJSON(c.geom, 5)::json,
          'properties', json_build_object('code', c.code, 'name', c.name, 'risk_level', l.risk_level,
            'band', l.band, 'rain_24h_mm', round(l.rain_24h_mm::numeric, 1),
            'rain_72h_mm', round(l.rain_72h_mm::numeric, 1), 'computed_for', l.computed_for))), '[]'))
        FROM (SELECT DISTINCT ON (a.commune_id) a.* FROM sensor_rain_alerts a
              ORDER BY a.commune_id, a.computed_for DESC) l
        JOIN admin_units c ON c.id = l.commune_id""")
    )
    return body or {"type": "FeatureCollection", "features": []}
