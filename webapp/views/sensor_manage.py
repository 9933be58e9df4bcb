"""Managing devices and datastreams on pages: add, edit and retire them, issue and revoke a device's
ingest token (shown once). Any role that may write does it within its communes: PostgreSQL's
policies decide which schemes, models, communes and devices the caller reaches, and the audit
trigger records who changed what. A form that cannot be saved comes back (422) with each field
and the reason, and nothing written."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from spatial import NotFound, ParameterError, SinhkeError
from spatial.models import QUANTITIES, THING_KINDS
from spatial.sensor_views import device_overview
from spatial.sensors import (
    add_datastream,
    add_device,
    get_datastream,
    get_device,
    issue_device_token,
    retire_datastream,
    retire_device,
    revoke_device_tokens,
    update_datastream,
    update_device,
)
from webapp.auth import signed_in
from webapp.db import get_session

bp = Blueprint("sensor_manage", __name__)

#: the CLI's names of the fields a domain error names, as the page's fields
_FIELD_OF = {"lon/lat": "lon", "valid range": "valid_min", "interval": "interval_s"}


class FormErrors(Exception):
    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))
        self.errors = errors


def _writer() -> None:
    if signed_in().read_only:
        abort(403, f"the {signed_in().role} role can read but not change data")


def _number(form: Any, field: str, errors: list[tuple[str, str]], *, integer: bool = False) -> Any:
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    try:
        return int(raw) if integer else float(raw.replace(",", "."))
    except ValueError:
        errors.append(
            (
                field,
                _("%(value)s is not a whole number", value=raw)
                if integer
                else _("%(value)s is not a number", value=raw),
            )
        )
        return None


def _required(form: Any, field: str, errors: list[tuple[str, str]]) -> str:
    value = (form.get(field) or "").strip()
    if not value:
        errors.append((field, _("required")))
    return value


def _attempt(action: Any) -> Any:
    """Run ``action`` in a savepoint: a domain error or a refused row undoes it and names the field."""
    session = get_session()
    savepoint = session.begin_nested()
    try:
        result = action()
        savepoint.commit()
        return result
    except ParameterError as exc:
        savepoint.rollback()
        raise FormErrors([(_FIELD_OF.get(exc.parameter, exc.parameter), str(exc))]) from exc
    except NotFound as exc:
        savepoint.rollback()
        raise FormErrors([("attached", str(exc))]) from exc
    except SinhkeError as exc:
        savepoint.rollback()
        raise FormErrors([("code", str(exc))]) from exc
    except DBAPIError as exc:
        savepoint.rollback()
        if "row-level security" not in str(exc.orig):
            raise
        raise FormErrors([("lon", _("the device would lie outside your communes"))]) from exc


def _device_form(
    values: dict[str, str], errors: list[tuple[str, str]], *, edit: str | None = None
) -> ResponseReturnValue:
    return (
        render_template("sensor_device_form.html", values=values, errors=errors, kinds=THING_KINDS, edit=edit),
        422 if errors else 200,
    )


@bp.get("/sensors/devices/new")
def new_device() -> ResponseReturnValue:
    _writer()
    return _device_form({"kind": "station"}, [])


@bp.post("/sensors/devices")
def create_device() -> ResponseReturnValue:
    _writer()
    form = request.form
    errors: list[tuple[str, str]] = []
    code = _required(form, "code", errors)
    name = _required(form, "name", errors)
    kind = form.get("kind", "")
    if kind not in THING_KINDS:
        errors.append(("kind", _("choose one of: %(kinds)s", kinds=", ".join(THING_KINDS))))
    if len(code) > 40:
        errors.append(("code", _("at most %(n)d characters", n=40)))
    lon, lat = _number(form, "lon", errors), _number(form, "lat", errors)
    if (lon is None) != (lat is None) and not any(f in ("lon", "lat") for f, _r in errors):
        errors.append(("lon", _("give both longitude and latitude, or neither")))
    attached = (form.get("attached") or "").strip() or None
    if not errors:
        try:
            _attempt(
                lambda: add_device(
                    get_session(),
                    code,
                    name,
                    kind,
                    lon=lon,
                    lat=lat,
                    scheme=attached if kind == "water_scheme" else None,
                    model=attached if kind == "model_site" else None,
                    description=(form.get("description") or "").strip(),
                )
            )
        except FormErrors as exc:
            errors = exc.errors
    if errors:
        return _device_form(form.to_dict(), errors)
    return redirect(url_for("sensors.device", code=code), 303)


@bp.get("/sensors/devices/<code>/edit")
def edit_device(code: str) -> ResponseReturnValue:
    _writer()
    d = device_overview(get_session(), code)
    thing = get_device(get_session(), code)
    values = {"code": d["code"], "name": d["name"], "description": thing.description, "kind": d["kind"]}
    values |= {"lon": f"{d['lon']:.6f}", "lat": f"{d['lat']:.6f}"}
    return _device_form(values, [], edit=code)


@bp.post("/sensors/devices/<code>/edit")
def save_device(code: str) -> ResponseReturnValue:
    _writer()
    get_device(get_session(), code)  # 404 outside the caller's communes
    form = request.form
    errors: list[tuple[str, str]] = []
    name = _required(form, "name", errors)
    lon, lat = _number(form, "lon", errors), _number(form, "lat", errors)
    if not errors:
        try:
            _attempt(
                lambda: update_device(
                    get_session(),
                    code,
                    name=name,
                    description=(form.get("description") or "").strip(),
                    lon=lon,
                    lat=lat,
                )
            )
        except FormErrors as exc:
            errors = exc.errors
    if errors:
        return _device_form(form.to_dict() | {"code": code}, errors, edit=code)
    return redirect(url_for("sensors.device", code=code), 303)


@bp.post("/sensors/devices/<code>/retire")
def retire(code: str) -> ResponseReturnValue:
    _writer()
    retire_device(get_session(), code)
    return redirect(url_for("sensors.devices"), 303)


def _device_page(code: str, **extra: Any) -> ResponseReturnValue:
    errors = extra.get("errors") or []
    page = render_template("sensor_device.html", d=device_overview(get_session(), code), quantities=QUANTITIES, **extra)
    return page, 422 if errors else 200


def _stream_values(form: Any, errors: list[tuple[str, str]]) -> dict[str, Any]:
    interval = _number(form, "interval_s", errors, integer=True)
    if interval is None and not any(f == "interval_s" for f, _r in errors):
        errors.append(("interval_s", _("required")))
    return {
        "interval_s": interval,
        "valid_min": _number(form, "valid_min", errors),
        "valid_max": _number(form, "valid_max", errors),
        "name": (form.get("name") or "").strip() or None,
    }


@bp.post("/sensors/devices/<code>/datastreams")
def create_datastream(code: str) -> ResponseReturnValue:
    _writer()
    get_device(get_session(), code)
    form = request.form
    errors: list[tuple[str, str]] = []
    quantity = form.get("quantity", "")
    if quantity not in QUANTITIES:
        errors.append(("quantity", _("choose one of: %(kinds)s", kinds=", ".join(QUANTITIES))))
    v = _stream_values(form, errors)
    if not errors:
        try:
            _attempt(
                lambda: add_datastream(
                    get_session(),
                    code,
                    quantity,
                    interval_s=v["interval_s"],
                    valid_min=v["valid_min"],
                    valid_max=v["valid_max"],
                    name=v["name"],
                    sensor=(form.get("sensor") or "").strip() or None,
                )
            )
        except FormErrors as exc:
            errors = exc.errors
    if errors:
        return _device_page(code, errors=errors, stream_form=form.to_dict())
    return redirect(url_for("sensors.device", code=code), 303)


@bp.post("/sensors/datastreams/<int:stream>/edit")
def save_datastream(stream: int) -> ResponseReturnValue:
    _writer()
    session = get_session()
    row = get_datastream(session, stream)
    code = get_device_code(row.thing_id)
    form = request.form
    errors: list[tuple[str, str]] = []
    v = _stream_values(form, errors)
    name = v["name"] or row.name
    for field in ("valid_min", "valid_max"):
        if v[field] is None and not any(f == field for f, _r in errors):
            errors.append((field, _("required")))
    if not errors:
        try:
            _attempt(
                lambda: update_datastream(
                    session,
                    stream,
                    name=name,
                    interval_s=v["interval_s"],
                    valid_min=v["valid_min"],
                    valid_max=v["valid_max"],
                )
            )
        except FormErrors as exc:
            errors = exc.errors
    if errors:
        return _device_page(code, errors=errors, edited_stream=stream)
    return redirect(url_for("sensors.device", code=code), 303)


def get_device_code(thing_id: int) -> str:
    from spatial.models import SensorThing

    thing = get_session().get(SensorThing, thing_id)
    if thing is None:
        raise NotFound(f"no device {thing_id}")
    return thing.code


@bp.post("/sensors/datastreams/<int:stream>/retire")
def retire_stream(stream: int) -> ResponseReturnValue:
    _writer()
    row = retire_datastream(get_session(), stream)
    return redirect(url_for("sensors.device", code=get_device_code(row.thing_id)), 303)


@bp.post("/sensors/devices/<code>/token")
def token(code: str) -> ResponseReturnValue:
    """A new ingest token, shown on this answer only (stored as its SHA-256)."""
    _writer()
    new = issue_device_token(get_session(), code)
    response = render_template(
        "sensor_device.html", d=device_overview(get_session(), code), quantities=QUANTITIES, token=new
    )
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/sensors/devices/<code>/revoke")
def revoke(code: str) -> ResponseReturnValue:
    _writer()
    n = revoke_device_tokens(get_session(), code)
    return _device_page(code, revoked=n)
