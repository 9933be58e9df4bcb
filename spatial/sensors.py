"""Sensor devices (SensorThings Things), their datastreams and ingest tokens: plain functions over a Session.

A device is placed in a 2025 commune like any asset (migration 0014), so what a user may see of
devices, datastreams and observations is decided by PostgreSQL's policies, not here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from spatial import NotFound, ParameterError, SinhkeError
from spatial.models import (
    QUANTITIES,
    THING_KINDS,
    AdminUnit,
    Datastream,
    LivelihoodModel,
    ObservedProperty,
    SensorModel,
    SensorThing,
    WaterScheme,
)

DEVICE_TOKEN_PREFIX = "shd_"


class SensorError(SinhkeError):
    """A sensor request that cannot be done as asked (HTTP 400)."""


class DeviceUnauthorized(SensorError):
    """No device token, an unknown one or a revoked one (HTTP 401)."""


class DeviceForbidden(SensorError):
    """A device writing to a datastream of another device (HTTP 403)."""


class BatchTooLarge(SensorError):
    """More observations in one batch than the limit (HTTP 413)."""


@dataclass(frozen=True)
class DeviceRow:
    id: int
    code: str
    name: str
    kind: str
    attached_to: str | None
    commune: str
    lon: float
    lat: float
    datastreams: list[dict]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_device(
    session: Session,
    code: str,
    name: str,
    kind: str,
    *,
    lon: float | None = None,
    lat: float | None = None,
    scheme: str | None = None,
    model: str | None = None,
    commune: str | None = None,
    description: str = "",
) -> SensorThing:
    """A device at a water scheme (its point unless lon/lat given), a model site, or a station."""
    if kind not in THING_KINDS:
        raise ParameterError("kind", f"unknown device kind {kind!r}", list(THING_KINDS))
    scheme_row = model_row = None
    if kind == "water_scheme":
        if not scheme:
            raise ParameterError("scheme", "a water-scheme device needs the scheme's code")
        scheme_row = session.scalars(select(WaterScheme).where(WaterScheme.code == scheme)).first()
        if scheme_row is None:
            raise NotFound(f"no water scheme {scheme!r}")
    if kind == "model_site":
        if not model:
            raise ParameterError("model", "a model-site device needs the model's code")
        model_row = session.scalars(select(LivelihoodModel).where(LivelihoodModel.code == model)).first()
        if model_row is None:
            raise NotFound(f"no livelihood model {model!r}")
    attached = scheme_row or model_row
    if lon is not None and lat is not None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ParameterError("lon/lat", f"({lon}, {lat}) is not a longitude and latitude")
        geom = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    elif attached is not None:
        geom = func.ST_PointOnSurface(attached.geom)
    else:
        raise ParameterError("lon/lat", "a station needs its longitude and latitude")
    if commune is not None:
        unit = session.scalars(select(AdminUnit).where(AdminUnit.code == commune, AdminUnit.level == "commune")).first()
        if unit is None:
            raise NotFound(f"no commune {commune!r}")
        commune_id = unit.id
    elif attached is not None:
        commune_id = attached.commune_id
    else:
        found = session.scalar(
            select(AdminUnit.id).where(
                AdminUnit.level == "commune",
                AdminUnit.boundary == "current",
                func.ST_Intersects(AdminUnit.geom, geom),
            )
        )
        if found is None:
            raise ParameterError("lon/lat", f"({lon}, {lat}) lies in no 2025 commune; give --commune")
        commune_id = found
    if session.scalar(select(SensorThing.id).where(SensorThing.code == code)) is not None:
        raise SensorError(f"a device {code!r} exists already")
    thing = SensorThing(
        code=code,
        name=name,
        kind=kind,
        description=description,
        scheme_id=scheme_row.id if scheme_row else None,
        model_id=model_row.id if model_row else None,
        geom=geom,
        commune_id=commune_id,
    )
    session.add(thing)
    session.flush()
    return thing


def get_device(session: Session, code: str) -> SensorThing:
    thing = session.scalars(select(SensorThing).where(SensorThing.code == code)).first()
    if thing is None:
        raise NotFound(f"no device {code!r} (or not in your communes)")
    return thing


def sensor_model(session: Session, name: str) -> SensorModel:
    """The Sensor (instrument type) of that name, made on first use."""
    row = session.scalars(select(SensorModel).where(SensorModel.name == name)).first()
    if row is None:
        row = SensorModel(name=name, description=name)
        session.add(row)
        session.flush()
    return row


def add_datastream(
    session: Session,
    device: str,
    quantity: str,
    *,
    interval_s: int,
    valid_min: float | None = None,
    valid_max: float | None = None,
    name: str | None = None,
    sensor: str | None = None,
) -> Datastream:
    """A datastream of ``quantity`` on the device; the unit is the quantity's, the valid range
    its default unless given."""
    if quantity not in QUANTITIES:
        raise ParameterError("quantity", f"unknown quantity {quantity!r}", list(QUANTITIES))
    if interval_s <= 0:
        raise ParameterError("interval", "the expected interval must be a positive number of seconds")
    unit_name, symbol, lo, hi = QUANTITIES[quantity]
    lo = lo if valid_min is None else valid_min
    hi = hi if valid_max is None else valid_max
    if lo >= hi:
        raise ParameterError("valid range", f"minimum {lo} is not below maximum {hi}")
    thing = get_device(session, device)
    prop = session.scalars(select(ObservedProperty).where(ObservedProperty.quantity == quantity)).one()
    name = name or f"{thing.code} {quantity}"
    if session.scalar(select(Datastream.id).where(Datastream.thing_id == thing.id, Datastream.name == name)):
        raise SensorError(f"device {device!r} has a datastream {name!r} already")
    stream = Datastream(
        thing_id=thing.id,
        sensor_id=sensor_model(session, sensor or f"generic {quantity} sensor").id,
        observed_property_id=prop.id,
        name=name,
        description=f"{prop.name} at {thing.name}",
        quantity=quantity,
        unit_name=unit_name,
        unit_symbol=symbol,
        expected_interval_s=interval_s,
        valid_min=lo,
        valid_max=hi,
    )
    session.add(stream)
    session.flush()
    return stream


def update_device(
    session: Session,
    code: str,
    *,
    name: str,
    description: str = "",
    lon: float | None = None,
    lat: float | None = None,
) -> SensorThing:
    """A device's name, description and (when both given) its point; the point must stay in the
    caller's communes (the placement trigger re-places the device, the policy checks it)."""
    thing = get_device(session, code)
    if thing.deleted_at is not None:
        raise SensorError(f"device {code!r} is retired")
    if not name.strip():
        raise ParameterError("name", "a device needs a name")
    thing.name, thing.description = name.strip(), description
    if lon is not None and lat is not None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ParameterError("lon/lat", f"({lon}, {lat}) is not a longitude and latitude")
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        commune_id = session.scalar(
            select(AdminUnit.id).where(
                AdminUnit.level == "commune", AdminUnit.boundary == "current", func.ST_Intersects(AdminUnit.geom, point)
            )
        )
        if commune_id is None:
            raise ParameterError("lon/lat", f"({lon}, {lat}) lies in none of your 2025 communes")
        thing.geom, thing.commune_id = point, commune_id
    session.flush()
    return thing


def retire_device(session: Session, code: str) -> int:
    """Retire a device: it and its datastreams are hidden (their readings stay), its tokens revoked.
    How many tokens were live."""
    thing = get_device(session, code)
    if thing.deleted_at is not None:
        raise SensorError(f"device {code!r} is retired already")
    revoked = revoke_device_tokens(session, code)
    session.execute(
        update(Datastream)
        .where(Datastream.thing_id == thing.id, Datastream.deleted_at.is_(None))
        .values(deleted_at=func.now())
    )
    thing.deleted_at = func.now()
    session.flush()
    return revoked


def get_datastream(session: Session, stream_id: int) -> Datastream:
    stream = session.get(Datastream, stream_id)
    if stream is None or stream.deleted_at is not None:
        raise NotFound(f"no datastream {stream_id} (or not in your communes)")
    return stream


def update_datastream(
    session: Session,
    stream_id: int,
    *,
    name: str,
    interval_s: int,
    valid_min: float,
    valid_max: float,
) -> Datastream:
    """A datastream's name, expected interval and valid range (readings already stored stay)."""
    stream = get_datastream(session, stream_id)
    if not name.strip():
        raise ParameterError("name", "a datastream needs a name")
    if interval_s <= 0:
        raise ParameterError("interval", "the expected interval must be a positive number of seconds")
    if valid_min >= valid_max:
        raise ParameterError("valid range", f"minimum {valid_min} is not below maximum {valid_max}")
    clash = session.scalar(
        select(Datastream.id).where(
            Datastream.thing_id == stream.thing_id, Datastream.name == name.strip(), Datastream.id != stream.id
        )
    )
    if clash:
        raise ParameterError("name", f"the device has a datastream {name.strip()!r} already")
    stream.name, stream.expected_interval_s = name.strip(), interval_s
    stream.valid_min, stream.valid_max = valid_min, valid_max
    session.flush()
    return stream


def retire_datastream(session: Session, stream_id: int) -> Datastream:
    """Retire a datastream: no more readings are accepted for it; those stored stay."""
    stream = get_datastream(session, stream_id)
    stream.deleted_at = func.now()
    session.flush()
    return stream


def devices(session: Session) -> list[DeviceRow]:
    """Every device the caller may see, with its datastreams (id, quantity, unit, interval, range)."""
    rows = session.execute(
        text("""
        SELECT t.id, t.code, t.name, t.kind, coalesce(s.code, m.code) AS attached, c.name AS commune,
               ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
               coalesce((SELECT json_agg(json_build_object(
                   'id', d.id, 'name', d.name, 'quantity', d.quantity, 'unit', d.unit_symbol,
                   'interval_s', d.expected_interval_s, 'valid_min', d.valid_min, 'valid_max', d.valid_max)
                 ORDER BY d.id) FROM sensor_datastreams d WHERE d.thing_id = t.id AND d.deleted_at IS NULL),
                 '[]') AS streams
        FROM sensor_things t
        LEFT JOIN water_schemes s ON s.id = t.scheme_id
        LEFT JOIN livelihood_models m ON m.id = t.model_id
        JOIN admin_units c ON c.id = t.commune_id
        WHERE t.deleted_at IS NULL
        ORDER BY t.code""")
    ).all()
    return [DeviceRow(*row) for row in rows]


def issue_device_token(session: Session, device: str) -> str:
    """A new ingest token for the device; shown once, stored as its SHA-256."""
    thing = get_device(session, device)
    if thing.deleted_at is not None:
        raise SensorError(f"device {device!r} is retired")
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    # a definer function: the application role never reads the tokens table (migration 0023)
    session.execute(
        text("SELECT sinhke_issue_device_token(:t, :d, :p)"), {"t": thing.id, "d": _digest(token), "p": token[:12]}
    )
    return token


def revoke_device_tokens(session: Session, device: str) -> int:
    """Revoke every live token of the device; how many were live."""
    thing = get_device(session, device)
    return int(session.scalar(text("SELECT sinhke_revoke_device_tokens(:t)"), {"t": thing.id}) or 0)


@dataclass(frozen=True)
class DeviceIdentity:
    thing_id: int
    code: str
    #: the token's digest, which the device's writes present again (``sinhke_device_write``)
    digest: str


def device_for_token(session: Session, token: str | None, *, act: bool = False) -> DeviceIdentity:
    """The device a live token belongs to; DeviceUnauthorized for none, an unknown or a revoked one.
    ``act``: the transaction's changes are the device's (``act_as``), in the same statement."""
    if not token:
        raise DeviceUnauthorized("send the device's token: Authorization: Bearer shd_…")
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        raise DeviceUnauthorized("not a device token (they start with shd_)")
    digest = _digest(token)
    row = session.execute(_TOKEN_ACTING if act else _TOKEN, {"d": digest}).first()
    if row is None or row.thing_id is None:
        raise DeviceUnauthorized("unknown device token")
    if row.revoked:
        raise DeviceUnauthorized(f"the token of device {row.code} was revoked")
    return DeviceIdentity(row.thing_id, row.code, digest)


_TOKEN = text("SELECT thing_id, code, revoked FROM sinhke_device_token(:d)")
_TOKEN_ACTING = text(
    "SELECT thing_id, code, revoked, set_config('sinhke.actor', 'device:' || code, true) FROM sinhke_device_token(:d)"
)


def ensure_partitions(session: Session, months: list[date]) -> list[str]:
    """The observation partitions of these months, created where missing."""
    return [
        session.scalar(text("SELECT sinhke_sensor_partition(:m)"), {"m": m}) or ""
        for m in sorted({d.replace(day=1) for d in months})
    ]


def parse_time(value: Any) -> datetime:
    """An ISO 8601 instant with its zone (``Z`` or an offset); ValueError saying why not."""
    if not isinstance(value, str):
        raise ValueError("phenomenon_time must be an ISO 8601 string")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"phenomenon_time {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"phenomenon_time {value!r} has no time zone (add Z or +07:00)")
    return when.astimezone(UTC)
