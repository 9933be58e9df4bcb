"""Sensors, shaped after OGC SensorThings: things (devices) at a place, their datastreams, and the
observations those send; plus what the sensor jobs make of them.

A Thing is a device at a water scheme, a station or a model site; its Location is its point (one
per thing, so the SensorThings Location of thing n is n). A Datastream says what it measures
(quantity, unit), how often (expected interval) and what is plausible (valid range).
Observations live in a table partitioned by month of ``phenomenon_time``; a new value for a time
already stored is kept in ``sensor_corrections`` beside the value it replaced.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

#: what a device is attached to
THING_KINDS = ("water_scheme", "station", "model_site")
#: quantity -> (unit name, unit symbol, valid range by default)
QUANTITIES: dict[str, tuple[str, str, float, float]] = {
    "flow": ("cubic metre per hour", "m³/h", 0.0, 500.0),
    "pressure": ("bar", "bar", 0.0, 16.0),
    "tank_level": ("percent", "%", 0.0, 100.0),
    "chlorine": ("milligram per litre", "mg/L", 0.0, 5.0),
    "rainfall": ("millimetre", "mm", 0.0, 300.0),
    "river_level": ("metre", "m", -5.0, 50.0),
    "temperature": ("degree Celsius", "°C", -10.0, 60.0),
}
#: how an observation came in
CHANNELS = ("http", "csv", "mqtt", "demo")
#: the scheme functionality vocabulary (water_schemes.status's)
FUNCTIONALITY = ("functional", "partially_functional", "not_functional")


class SensorThing(Base, Edited):
    """A device (SensorThings Thing) at a place; scoped by the commune its point lies in."""

    __tablename__ = "sensor_things"
    __table_args__ = (
        UniqueConstraint("code", name="uq_sensor_things_code"),
        CheckConstraint("kind IN ('water_scheme','station','model_site')", name="kind"),
        CheckConstraint(
            "(kind = 'water_scheme') = (scheme_id IS NOT NULL) AND (kind = 'model_site') = (model_id IS NOT NULL)",
            name="attached",
        ),
        Index("ix_sensor_things_geom", "geom", postgresql_using="gist"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("water_schemes.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("livelihood_models.id"), index=True)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    properties: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SensorModel(Base, Edited):
    """A SensorThings Sensor: the instrument type a datastream is measured with."""

    __tablename__ = "sensor_sensors"
    __table_args__ = (UniqueConstraint("name", name="uq_sensor_sensors_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    encoding_type: Mapped[str] = mapped_column(String(80), nullable=False, server_default="text/plain")
    metadata_: Mapped[str] = mapped_column("metadata", Text, nullable=False, server_default="")


class ObservedProperty(Base):
    """A SensorThings ObservedProperty: one per quantity."""

    __tablename__ = "sensor_observed_properties"
    __table_args__ = (UniqueConstraint("quantity", name="uq_sensor_observed_properties_quantity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    definition: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")


class Datastream(Base, Edited):
    """What one device measures: quantity and unit, how often, and the range a reading must lie in."""

    __tablename__ = "sensor_datastreams"
    __table_args__ = (
        UniqueConstraint("thing_id", "name", name="uq_sensor_datastreams_thing_id"),
        CheckConstraint(
            "quantity IN ('flow','pressure','tank_level','chlorine','rainfall','river_level','temperature')",
            name="quantity",
        ),
        CheckConstraint("valid_min < valid_max", name="valid_range"),
        CheckConstraint("expected_interval_s > 0", name="expected_interval"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensor_things.id"), nullable=False, index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensor_sensors.id"), nullable=False)
    observed_property_id: Mapped[int] = mapped_column(ForeignKey("sensor_observed_properties.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    quantity: Mapped[str] = mapped_column(String(20), nullable=False)
    unit_name: Mapped[str] = mapped_column(String(60), nullable=False)
    unit_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    expected_interval_s: Mapped[int] = mapped_column(Integer, nullable=False)
    valid_min: Mapped[float] = mapped_column(Float, nullable=False)
    valid_max: Mapped[float] = mapped_column(Float, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Observation(Base):
    """One reading. Partitioned by month of phenomenon_time (``sinhke_sensor_partition``); the
    primary key (datastream, time) is the index a time-range read of one stream walks."""

    __tablename__ = "sensor_observations"
    __table_args__ = (
        CheckConstraint("channel IN ('http','csv','mqtt','demo')", name="channel"),
        {"postgresql_partition_by": "RANGE (phenomenon_time)"},
    )
    datastream_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phenomenon_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float] = mapped_column(Double, nullable=False)
    result_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    channel: Mapped[str] = mapped_column(String(4), nullable=False)


class Correction(Base):
    """A later value for a (datastream, time) already stored: the value it replaced, kept."""

    __tablename__ = "sensor_corrections"
    __table_args__ = (Index("ix_sensor_corrections_stream_time", "datastream_id", "phenomenon_time"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    datastream_id: Mapped[int] = mapped_column(ForeignKey("sensor_datastreams.id"), nullable=False)
    phenomenon_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    old_value: Mapped[float] = mapped_column(Double, nullable=False)
    new_value: Mapped[float] = mapped_column(Double, nullable=False)
    channel: Mapped[str] = mapped_column(String(4), nullable=False)
    corrected_by: Mapped[str] = mapped_column(String(80), nullable=False)
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class DeviceToken(Base):
    """A device's ingest token, stored as its SHA-256; shown once when issued."""

    __tablename__ = "sensor_device_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_sensor_device_tokens_token_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensor_things.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SensorAggregate(Base):
    """Hourly and daily count, min, max, mean and sum of one datastream (job sensor_aggregates)."""

    __tablename__ = "sensor_aggregates"
    __table_args__ = (CheckConstraint("period IN ('hour','day')", name="period"),)
    datastream_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    min: Mapped[float] = mapped_column(Double, nullable=False)
    max: Mapped[float] = mapped_column(Double, nullable=False)
    mean: Mapped[float] = mapped_column(Double, nullable=False)
    sum: Mapped[float] = mapped_column(Double, nullable=False)


class SensorGap(Base):
    """A stretch where a datastream sent nothing for more than three expected intervals."""

    __tablename__ = "sensor_gaps"
    datastream_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gap_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    gap_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: the gap is still open (nothing since gap_start, up to the job's run)
    open: Mapped[bool] = mapped_column(Boolean, nullable=False)


class SchemeFunctionality(Base):
    """A water scheme's functionality on a day, from its meters and its visit reports, with why."""

    __tablename__ = "sensor_scheme_status"
    __table_args__ = (
        CheckConstraint("status IN ('functional','partially_functional','not_functional')", name="status"),
    )
    scheme_id: Mapped[int] = mapped_column(ForeignKey("water_schemes.id", ondelete="CASCADE"), primary_key=True)
    assessed_on: Mapped[datetime] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    #: machine-readable reasons, e.g. no_flow_days, pressure_out_of_range, tank_empty, visit_reported
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(40)), nullable=False, server_default="{}")
    #: the reasons in English, "; "-separated (what the API gives)
    detail: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    #: the same reasons as stored messages (``spatial.Message.stored``), so a page words them in its language
    detail_messages: Mapped[list[dict]] = mapped_column(JSONB, nullable=False, server_default="[]")
    households_served: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class RainfallAlert(Base):
    """A commune's 24 h and 72 h rainfall from the gauges, its Decision 18/2021 band and the
    landslide risk level from crossing it with susceptibility; what lies inside."""

    __tablename__ = "sensor_rain_alerts"
    __table_args__ = (CheckConstraint("method IN ('nearest','idw')", name="method"),)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), primary_key=True)
    computed_for: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    rain_24h_mm: Mapped[float] = mapped_column(Double, nullable=False)
    rain_72h_mm: Mapped[float] = mapped_column(Double, nullable=False)
    #: 0 below 100 mm, 1: 100–200, 2: 200–400, 3: > 400 (Decision 18/2021/QĐ-TTg)
    band: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    susceptibility: Mapped[int | None] = mapped_column(SmallInteger)
    #: 0 none .. 5 (Decision 18/2021's risk levels for landslides and flash floods, capped at 5)
    risk_level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    method: Mapped[str] = mapped_column(String(7), nullable=False)
    gauges: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    models: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    schemes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    households: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class NotificationSetting(Base, Edited):
    """Who hears of what: a user's channels for one commune (or, with no commune, all of theirs)."""

    __tablename__ = "notification_settings"
    __table_args__ = (
        UniqueConstraint("user_id", "commune_id", name="uq_notification_settings_user_id"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="reachable"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))
    #: where an e-mail goes (SMTP); the phone the webhook's SMS or Zalo gateway sends to
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    #: the kinds of event wanted: rain_alert, scheme_down
    kinds: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), nullable=False, server_default="{rain_alert,scheme_down}"
    )


class NotificationEvent(Base):
    """One event (a commune's rain alert at a level on a day, a scheme that stopped working), once."""

    __tablename__ = "notification_events"
    __table_args__ = (CheckConstraint("kind IN ('rain_alert','scheme_down')", name="kind"),)
    event_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str] = mapped_column(String(300), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class NotificationDelivery(Base):
    """An event sent (or tried) to one user by one channel; a failed one is tried again next run."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (CheckConstraint("channel IN ('email','webhook')", name="channel"),)
    event_key: Mapped[str] = mapped_column(
        ForeignKey("notification_events.event_key", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(7), primary_key=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
