"""Test devices for the sensor tests: a scheme meter and a rain gauge in one commune, a second meter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.sensors import add_datastream, add_device, issue_device_token


@dataclass(frozen=True)
class Devices:
    meter: str
    flow: int
    pressure: int
    gauge: str
    rain: int
    other: str
    other_flow: int
    token: str
    other_token: str
    scheme_code: str


def make_devices(session: Session, commune_code: str, prefix: str = "t") -> Devices:
    """Two scheme meters and a gauge in ``commune_code`` (on its first and last schemes without a demo
    meter); tokens for the meters."""
    schemes = (
        session.execute(
            text(
                "SELECT s.code FROM water_schemes s JOIN asset_units au ON au.asset_kind = 'water_scheme' "
                "AND au.asset_id = s.id JOIN admin_units c ON c.id = au.commune_id WHERE c.code = :c "
                "AND NOT EXISTS (SELECT 1 FROM sensor_things t WHERE t.scheme_id = s.id) ORDER BY s.id"
            ),
            {"c": commune_code},
        )
        .scalars()
        .all()
    )
    centre = session.execute(
        text("SELECT ST_X(centroid), ST_Y(centroid) FROM admin_units WHERE code = :c AND boundary = 'current'"),
        {"c": commune_code},
    ).one()
    add_device(session, f"{prefix}-meter", "Test meter", "water_scheme", scheme=schemes[0])
    flow = add_datastream(session, f"{prefix}-meter", "flow", interval_s=900).id
    pressure = add_datastream(session, f"{prefix}-meter", "pressure", interval_s=900).id
    add_device(session, f"{prefix}-gauge", "Test gauge", "station", lon=centre[0], lat=centre[1])
    rain = add_datastream(session, f"{prefix}-gauge", "rainfall", interval_s=3600).id
    add_device(session, f"{prefix}-other", "Other meter", "water_scheme", scheme=schemes[-1])
    other_flow = add_datastream(session, f"{prefix}-other", "flow", interval_s=900).id
    return Devices(
        meter=f"{prefix}-meter",
        flow=flow,
        pressure=pressure,
        gauge=f"{prefix}-gauge",
        rain=rain,
        other=f"{prefix}-other",
        other_flow=other_flow,
        token=issue_device_token(session, f"{prefix}-meter"),
        other_token=issue_device_token(session, f"{prefix}-other"),
        scheme_code=schemes[0],
    )


def without_demo_rain(session: Session) -> None:
    """Remove (in the test's transaction) the demo gauges' readings, so a test's gauge is the only rain."""
    session.execute(
        text(
            "DELETE FROM sensor_observations o USING sensor_datastreams d, sensor_things t "
            "WHERE d.id = o.datastream_id AND t.id = d.thing_id AND t.code LIKE 'DEMO-RAIN-%'"
        )
    )


def remove_devices(session: Session, codes: list[str]) -> None:
    """Delete committed test devices with their streams, readings, corrections and tokens."""
    ids = "SELECT d.id FROM sensor_datastreams d JOIN sensor_things t ON t.id = d.thing_id WHERE t.code = ANY(:c)"
    for table in ("sensor_observations", "sensor_corrections", "sensor_aggregates", "sensor_gaps"):
        session.execute(text(f"DELETE FROM {table} WHERE datastream_id IN ({ids})"), {"c": codes})
    session.execute(text(f"DELETE FROM sensor_datastreams WHERE id IN ({ids})"), {"c": codes})
    session.execute(
        text("DELETE FROM sensor_device_tokens WHERE thing_id IN (SELECT id FROM sensor_things WHERE code = ANY(:c))"),
        {"c": codes},
    )
    session.execute(text("DELETE FROM sensor_things WHERE code = ANY(:c)"), {"c": codes})
