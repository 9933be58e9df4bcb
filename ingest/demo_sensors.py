"""Simulated sensors for the demo: meters on a few dozen water schemes and about 20 rain gauges over
one rainy season (the 150 days up to now), hourly, with realistic gaps, one scheme that stops
working five days ago and a storm over the last day that raises rainfall alerts.

Written with one COPY, each reading received when it was measured (so the aggregates job, which
looks at what arrived in its last days, has only those days to do); the jobs (``sinhke jobs run
all``) then make aggregates, gaps, scheme
functionality and alerts of it like of real readings.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.db import driver_connection
from spatial.models import QUANTITIES
from spatial.sensors import ensure_partitions

SCHEMES = 30
GAUGES = 20
SEASON = timedelta(days=150)
#: the demo scheme that stops: no flow and no pressure for its last days
FAILING_DAYS = 5


def seed_sensors(session: Session, seed: int, now: datetime | None = None) -> dict[str, int]:
    rng = np.random.default_rng(seed + 13)
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = int(SEASON / timedelta(hours=1))
    start = end - timedelta(hours=hours - 1)
    session.execute(
        text("""
        INSERT INTO sensor_sensors (name, description, metadata) VALUES
          ('Electromagnetic flow meter', 'Flow meter on the outlet main', 'DN50, pulse output'),
          ('Pressure transmitter', 'Pressure at the end of the network', '0-10 bar, 4-20 mA'),
          ('Ultrasonic level sensor', 'Level of the storage tank', '0-5 m'),
          ('Tipping-bucket rain gauge', 'Hourly rainfall', '0.2 mm per tip')
        ON CONFLICT (name) DO NOTHING""")
    )
    schemes = session.execute(
        text("SELECT id, code FROM water_schemes WHERE deleted_at IS NULL ORDER BY id LIMIT :n"), {"n": SCHEMES}
    ).all()
    session.execute(
        text("""
        INSERT INTO sensor_things (code, name, kind, scheme_id, geom, commune_id, description)
        SELECT 'DEMO-' || w.code, 'Meter at ' || w.name, 'water_scheme', w.id, w.geom, w.commune_id,
               'Simulated flow, pressure and tank meter'
        FROM water_schemes w WHERE w.id = ANY(:ids)"""),
        {"ids": [s.id for s in schemes]},
    )
    # gauges at the centres of communes spread over the province (every k-th by code)
    communes = session.execute(
        text("SELECT id, code, name FROM admin_units WHERE level = 'commune' AND boundary = 'current' ORDER BY code")
    ).all()
    step = max(1, len(communes) // GAUGES)
    chosen = communes[::step][:GAUGES]
    session.execute(
        text("""
        INSERT INTO sensor_things (code, name, kind, geom, commune_id, description)
        SELECT 'DEMO-RAIN-' || c.code, 'Rain gauge ' || c.name, 'station', c.centroid, c.id, 'Simulated rain gauge'
        FROM admin_units c WHERE c.id = ANY(:ids)"""),
        {"ids": [c.id for c in chosen]},
    )
    sensor_of = {
        "flow": "Electromagnetic flow meter",
        "pressure": "Pressure transmitter",
        "tank_level": "Ultrasonic level sensor",
        "rainfall": "Tipping-bucket rain gauge",
    }
    for quantity, sensor in sensor_of.items():
        unit_name, symbol, lo, hi = QUANTITIES[quantity]
        session.execute(
            text("""
            INSERT INTO sensor_datastreams (thing_id, sensor_id, observed_property_id, name, description, quantity,
                                            unit_name, unit_symbol, expected_interval_s, valid_min, valid_max)
            SELECT t.id, s.id, p.id, t.code || ' ' || :q, p.name || ' at ' || t.name, :q, :un, :us, 3600, :lo, :hi
            FROM sensor_things t, sensor_sensors s, sensor_observed_properties p
            WHERE t.code LIKE 'DEMO-%' AND (t.kind = 'station') = (:q = 'rainfall') AND s.name = :sensor
              AND p.quantity = :q"""),
            {"q": quantity, "un": unit_name, "us": symbol, "lo": lo, "hi": hi, "sensor": sensor},
        )
    streams = session.execute(
        text("""
        SELECT d.id, d.quantity, t.code, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat FROM sensor_datastreams d
        JOIN sensor_things t ON t.id = d.thing_id WHERE t.code LIKE 'DEMO-%' ORDER BY d.id""")
    ).all()
    failing = f"DEMO-{schemes[0].code}" if schemes else None

    t = np.arange(hours)
    hour_of_day = (t + start.hour + 7) % 24  # local time drives the demand
    demand = 0.6 + 0.4 * np.sin((hour_of_day - 6) / 24 * 2 * np.pi).clip(0) + 0.15 * (hour_of_day == 18)
    # the season's weather: wet spells shared by every gauge, showers of their own
    wet = (rng.random(hours // 24 + 1) < 0.45).repeat(24)[:hours]
    gauge_pos = {s.code: (s.lon, s.lat) for s in streams if s.quantity == "rainfall"}
    centre = gauge_pos.get(f"DEMO-RAIN-{chosen[len(chosen) // 2].code}") if chosen else None

    out = io.StringIO()
    times = [(start + timedelta(hours=int(h))).strftime("%Y-%m-%d %H:00:00+00") for h in t]
    written = 0
    for s in streams:
        if s.quantity == "rainfall":
            showers = rng.random(hours) < np.where(wet, 0.18, 0.03)
            values = np.where(showers, rng.exponential(2.5, hours), 0.0)
            if centre is not None:  # the storm: the last 24 h, heaviest at the centre, fading over ~25 km
                km = np.hypot((s.lon - centre[0]) * 103.0, (s.lat - centre[1]) * 111.0)
                total = 430.0 * np.exp(-km / 25.0)
                values[-24:] = total / 24 * rng.uniform(0.6, 1.4, 24)
                values[-24:] *= total / max(values[-24:].sum(), 1e-9)
            values = np.round(values.clip(0, 299), 1)
        elif s.quantity == "flow":
            values = np.round(8 * demand * rng.uniform(0.85, 1.15, hours), 2)
        elif s.quantity == "pressure":
            values = np.round(2.6 - 0.8 * (demand - 0.6) + rng.normal(0, 0.08, hours), 2).clip(0.1, 9)
        else:
            values = np.round(70 + 20 * np.sin(t / 24 * 2 * np.pi) + rng.normal(0, 3, hours), 1).clip(1, 100)
        keep = np.ones(hours, dtype=bool)
        for _ in range(int(rng.integers(0, 3))):  # outages of the logger or the link: 6 h to 3 days
            a = int(rng.integers(0, hours - 80))
            keep[a : a + int(rng.integers(6, 72))] = False
        if s.code == failing:
            if s.quantity in ("flow", "pressure"):
                values[-FAILING_DAYS * 24 :] = 0.0
            keep[-FAILING_DAYS * 24 :] = True
        keep[-30:] = keep[-30:] | (s.quantity == "rainfall")  # the storm is reported in full
        for h in np.flatnonzero(keep):
            out.write(f"{s.id}\t{times[h]}\t{values[h]}\t{times[h]}\tdemo\n")
        written += int(keep.sum())
    ensure_partitions(session, [(start + timedelta(days=d)).date() for d in range(SEASON.days + 1)] + [end.date()])
    with driver_connection(session).cursor() as cur:
        with cur.copy(
            "COPY sensor_observations (datastream_id, phenomenon_time, value, result_time, channel) FROM STDIN"
        ) as cp:
            cp.write(out.getvalue())
    session.execute(text("ANALYZE sensor_observations"))
    return {"sensor_things": len(schemes) + len(chosen), "datastreams": len(streams), "observations": written}
