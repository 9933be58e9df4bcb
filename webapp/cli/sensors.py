"""``sinhke sensors``: devices, datastreams, device tokens, logger files and the MQTT subscriber."""

from __future__ import annotations

from pathlib import Path

import click

from spatial.models import QUANTITIES, THING_KINDS
from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user


@click.group(cls=SinhkeGroup, help="Sensor devices, datastreams, tokens and readings.")
def sensors() -> None:
    pass


@sensors.command("devices", help="Devices and their datastreams (the datastream @iot.id to send readings to).")
@click.pass_obj
def sensors_devices(settings: Settings) -> None:
    from spatial.db import transaction
    from spatial.sensors import devices

    with transaction(settings) as s:
        rows = devices(s)
    if not rows:
        click.echo("no devices yet (add one with `sinhke sensors add-device`)")
    for d in rows:
        at = f" at {d.attached_to}" if d.attached_to else ""
        click.echo(f"{d.code}\t{d.kind}{at}\t{d.name}\t{d.commune}\t{d.lon:.5f},{d.lat:.5f}")
        for ds in d.datastreams:
            click.echo(
                f"  datastream {ds['id']}\t{ds['quantity']} ({ds['unit']})\tevery {ds['interval_s']} s\t"
                f"valid {ds['valid_min']:g}..{ds['valid_max']:g}\t{ds['name']}"
            )


@sensors.command("add-device", help="Add a device at a water scheme, a model site or a station.")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(THING_KINDS), required=True)
@click.option("--scheme", help="the water scheme's code (kind water_scheme)")
@click.option("--model", help="the livelihood model's code (kind model_site)")
@click.option("--lon", type=float)
@click.option("--lat", type=float)
@click.option("--commune", help="2025 commune code (default: where the point lies)")
@click.pass_obj
def sensors_add_device(
    settings: Settings,
    code: str,
    name: str,
    kind: str,
    scheme: str | None,
    model: str | None,
    lon: float | None,
    lat: float | None,
    commune: str | None,
) -> None:
    from spatial.sensors import add_device

    with as_cli_user(settings) as s:
        thing = add_device(s, code, name, kind, lon=lon, lat=lat, scheme=scheme, model=model, commune=commune)
        click.echo(f"added device {thing.code} (Thing {thing.id})")


@sensors.command("add-datastream", help="Add a datastream to a device; prints its @iot.id.")
@click.argument("device")
@click.option("--quantity", type=click.Choice(list(QUANTITIES)), required=True)
@click.option("--interval", "interval_s", type=int, default=900, show_default=True, help="expected seconds apart")
@click.option("--min", "valid_min", type=float, help="lowest valid value (default: the quantity's)")
@click.option("--max", "valid_max", type=float, help="highest valid value (default: the quantity's)")
@click.option("--name")
@click.option("--sensor", help="the instrument's name (a SensorThings Sensor)")
@click.pass_obj
def sensors_add_datastream(
    settings: Settings,
    device: str,
    quantity: str,
    interval_s: int,
    valid_min: float | None,
    valid_max: float | None,
    name: str | None,
    sensor: str | None,
) -> None:
    from spatial.sensors import add_datastream

    with as_cli_user(settings) as s:
        ds = add_datastream(
            s,
            device,
            quantity,
            interval_s=interval_s,
            valid_min=valid_min,
            valid_max=valid_max,
            name=name,
            sensor=sensor,
        )
        click.echo(f"added datastream {ds.id} ({ds.quantity}, {ds.unit_symbol}) to {device}")
        click.echo(str(ds.id))


@sensors.command("token", help="Issue an ingest token for the device; printed once, on the last line.")
@click.argument("device")
@click.pass_obj
def sensors_token(settings: Settings, device: str) -> None:
    from spatial.sensors import issue_device_token

    with as_cli_user(settings) as s:
        token = issue_device_token(s, device)
    click.echo(f"token for {device} (shown once; send it as Authorization: Bearer …):")
    click.echo(token)


@sensors.command("revoke", help="Revoke every token of the device.")
@click.argument("device")
@click.pass_obj
def sensors_revoke(settings: Settings, device: str) -> None:
    from spatial.sensors import revoke_device_tokens

    with as_cli_user(settings) as s:
        n = revoke_device_tokens(s, device)
    click.echo(f"revoked {n} token{'s' if n != 1 else ''} of {device}")


@sensors.command("import", help="Load a logger's CSV file (datastream,phenomenon_time,value).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--device", help="the logger's device code: its rows may only name its own datastreams")
@click.pass_obj
def sensors_import(settings: Settings, path: Path, device: str | None) -> None:
    from ingest.sensors import ingest_logger_csv
    from spatial.sensors import get_device

    with as_cli_user(settings) as s:
        device_id = get_device(s, device).id if device else None
        result = ingest_logger_csv(s, path.read_bytes(), name=path.name, device_id=device_id)
    for r in result.rejected:
        click.echo(f"{path.name}, line {r.row}: {r.reason}", err=True)
    click.echo(
        f"{path.name}: {result.accepted} accepted ({result.inserted} new, {result.corrected} corrected, "
        f"{result.unchanged} unchanged), {len(result.rejected)} rejected"
    )


@sensors.command("mqtt", help="Subscribe to the broker and ingest what devices publish (QoS 1).")
@click.option("--broker", required=True, help="HOST:PORT of the MQTT broker")
@click.option("--topic", default="sinhke/observations/+", show_default=True)
@click.option("--client-id", default="sinhke-ingest", show_default=True, help="a persistent session's name")
@click.pass_obj
def sensors_mqtt(settings: Settings, broker: str, topic: str, client_id: str) -> None:
    from ingest.sensor_mqtt import parse_broker, run_subscriber

    host, port = parse_broker(broker)
    run_subscriber(settings, host, port, topic=topic, client_id=client_id, echo=click.echo)
