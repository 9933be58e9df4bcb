"""Sensor pages: devices and their reading charts, a scheme's status history, rainfall alerts and
their map, readings as CSV, and a logger's file uploaded."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from ingest.sensors import ingest_logger_csv
from spatial.exports import MIME, table_file
from spatial.models import QUANTITIES
from spatial.sensor_views import (
    READING_COLUMNS,
    alerts_geojson,
    device_overview,
    devices_page,
    latest_alerts,
    parse_range,
    readings,
    readings_rows,
    scheme_history,
)
from spatial.sensors import SensorError, get_device
from webapp.db import get_session

bp = Blueprint("sensors", __name__)


@bp.get("/sensors")
def devices() -> ResponseReturnValue:
    return render_template("sensors.html", devices=devices_page(get_session()))


@bp.get("/sensors/devices/<code>")
def device(code: str) -> ResponseReturnValue:
    return render_template("sensor_device.html", d=device_overview(get_session(), code), quantities=QUANTITIES)


@bp.post("/sensors/devices/<code>/upload")
def upload(code: str) -> ResponseReturnValue:
    """A logger's CSV file for this device: its rows may only name the device's own streams."""
    session = get_session()
    thing = get_device(session, code)
    file = request.files.get("file")
    if file is None or not file.filename:
        raise SensorError("choose the logger's CSV file")
    result = ingest_logger_csv(session, file.read(), name=file.filename, device_id=thing.id)
    return render_template("sensor_upload.html", d=device_overview(session, code), result=result, name=file.filename)


@bp.get("/api/sensors/datastreams/<int:stream>/readings")
def stream_readings(stream: int) -> ResponseReturnValue:
    """Readings of one stream in ``from``..``to`` for the chart (hourly means when there are many)."""
    return jsonify(readings(get_session(), stream, parse_range(request.args.to_dict())))


@bp.get("/sensors/datastreams/<int:stream>/readings.csv")
def stream_csv(stream: int) -> ResponseReturnValue:
    session = get_session()
    span = parse_range(request.args.to_dict())
    rows = readings_rows(session, stream, span)
    readings(session, stream, span, max_points=0)  # 404 for a stream the caller may not see
    name = f"datastream-{stream}-readings"
    return Response(
        table_file("csv", READING_COLUMNS, rows, name, zone=current_app.config["SINHKE"].timezone),
        mimetype=MIME["csv"],
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.get("/sensors/schemes/<int:scheme_id>")
def scheme(scheme_id: int) -> ResponseReturnValue:
    return render_template("sensor_scheme.html", s=scheme_history(get_session(), scheme_id))


@bp.get("/sensors/alerts")
def alerts() -> ResponseReturnValue:
    return render_template("sensor_alerts.html", alerts=latest_alerts(get_session()))


@bp.get("/api/sensors/alerts")
def alerts_layer() -> ResponseReturnValue:
    """The latest rainfall risk of each commune, as GeoJSON (the alerts map's layer)."""
    response = jsonify(alerts_geojson(get_session()))
    response.mimetype = "application/geo+json"
    return response
