"""The one path every sensor reading comes in by: HTTP batches, loggers' CSV files and MQTT messages.

``ingest_observations`` checks each row (known datastream, of the sending device, numeric, in the
datastream's valid range, a time with its zone and not in the future), writes the good rows in one
statement (a second one only when some of their times are stored already) and answers every other
row with its reason. Writing is idempotent on
(datastream, phenomenon_time): the same value again changes nothing, a different value replaces
the stored one and the database keeps the replaced value in ``sensor_corrections`` (a trigger,
so no way in can overwrite silently).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.db import rowcount
from spatial.sensors import BatchTooLarge, DeviceForbidden, SensorError, ensure_partitions, parse_time

#: the most rows one batch may carry (HTTP answers 413 above it)
BATCH_LIMIT = 10_000
#: how far ahead of the server's clock a device's clock may run before its readings are "future"
CLOCK_SKEW = timedelta(minutes=5)
#: the columns a logger's CSV file has, in this order
CSV_COLUMNS = ("datastream", "phenomenon_time", "value")


@dataclass(frozen=True)
class Rejection:
    #: the row's position in the batch (0-based), or its line in a CSV file
    row: int
    datastream: Any
    reason: str


@dataclass
class IngestResult:
    inserted: int = 0
    corrected: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.corrected + self.unchanged

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "inserted": self.inserted,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "rejected": [{"row": r.row, "datastream": r.datastream, "reason": r.reason} for r in self.rejected],
        }


def parse_value(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("value must be a number, not true/false")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"value {value!r} is not a number") from None
    else:
        raise ValueError("value must be a number")
    if not math.isfinite(number):
        raise ValueError(f"value {value!r} is not a finite number")
    return number


def parse_stream(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("datastream must be a datastream's @iot.id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"datastream {value!r} is not a datastream's @iot.id (a whole number)")


def ingest_observations(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    *,
    channel: str,
    device_id: int | None = None,
    now: datetime | None = None,
    row_numbers: Sequence[int] | None = None,
    limit: int = BATCH_LIMIT,
    digest: str | None = None,
) -> IngestResult:
    """Write the good rows of the batch, answer the others (see the module).

    ``device_id``: the sending device (HTTP, MQTT); a row naming another device's datastream
    refuses the whole batch (DeviceForbidden). ``row_numbers`` names the rows in the rejections
    (a CSV file's lines; default: the position in the batch). ``digest``: the sending device's
    token digest (``DeviceIdentity.digest``); its batch is then read and written by the token's
    definer functions (migration 0028), not under a person's scope. Runs in the caller's
    transaction and commits nothing.

    A row as devices send it (an integer datastream, an ISO time with its zone, a JSON number) is
    checked inline with one ``fromisoformat``; any other row goes through the parsers that name
    the reason. The times travel as epoch seconds (PostgreSQL rounds them to the microsecond)."""
    if len(rows) > limit:
        raise BatchTooLarge(f"{len(rows)} observations in one batch; the limit is {limit}")
    now = now or datetime.now(UTC)
    horizon = (now + CLOCK_SKEW).timestamp()
    result = IngestResult()
    rejected = result.rejected
    numbers = row_numbers if row_numbers is not None else range(len(rows))
    streams = _streams(session, _stream_ids(rows), digest)
    foreign: set[int] = set()
    good: dict[tuple[int, float], tuple[int, float]] = {}
    fromiso = datetime.fromisoformat
    for i, row in zip(numbers, rows, strict=True):
        try:  # the common case, without a call per field
            ds, t, v = row["datastream"], row["phenomenon_time"], row["value"]
            when = fromiso(t)
            if type(ds) is not int or when.tzinfo is None or (type(v) is not float and type(v) is not int):
                raise ValueError
            epoch, value = when.timestamp(), float(v)
            if not math.isfinite(value):
                raise ValueError
        except (KeyError, TypeError, ValueError, OverflowError):
            checked = _check_row(i, row)
            if isinstance(checked, Rejection):
                rejected.append(checked)
                continue
            ds, epoch, value = checked
        if epoch > horizon:
            rejected.append(Rejection(i, ds, f"phenomenon_time {row['phenomenon_time']} is in the future"))
            continue
        stream = streams.get(ds)
        if stream is None:
            rejected.append(Rejection(i, ds, f"unknown datastream {ds}"))
            continue
        owner, lo, hi = stream
        if device_id is not None and owner != device_id:
            foreign.add(ds)
            continue
        if not lo <= value <= hi:
            rejected.append(Rejection(i, ds, f"value {value:g} is outside the valid range {lo:g} to {hi:g}"))
            continue
        key = (ds, epoch)
        earlier = good.get(key)
        if earlier is None:
            good[key] = (i, value)
        elif earlier[1] == value:
            result.unchanged += 1
        else:
            rejected.append(Rejection(i, ds, f"row {earlier[0]} of this batch gives another value for the same time"))
    if foreign:
        names = ", ".join(map(str, sorted(foreign)))
        which = f"datastreams {names} belong" if len(foreign) > 1 else f"datastream {names} belongs"
        raise DeviceForbidden(f"{which} to another device; nothing of this batch was written")
    if good:
        if digest is None:  # the device's write makes its partitions itself
            days = {int(epoch // 86400) for _, epoch in good}
            ensure_partitions(session, [_EPOCH_DAY + timedelta(days=d) for d in days])
        # the columns as array literals made by joins (PostgreSQL parses them in C): the driver's
        # own list adaptation quotes element by element in Python, a third of a batch's time
        ds_list, t_list = zip(*good, strict=True)
        values = {
            "ds": "{" + ",".join(map(str, ds_list)) + "}",
            "t": "{" + ",".join(map(repr, t_list)) + "}",
            "v": "{" + ",".join([repr(v) for _, v in good.values()]) + "}",
            "ch": channel,
        }
        if digest is not None:
            inserted, corrected = session.execute(_DEVICE_WRITE, {**values, "digest": digest}).one()
        else:
            inserted = rowcount(session.execute(_INSERT, values))
            # only when some times were stored already: those with another value are corrected
            # (the trigger keeps the old value); the rest are unchanged
            corrected = rowcount(session.execute(_CORRECT, values)) if inserted < len(good) else 0
        result.inserted += inserted
        result.corrected += corrected
        result.unchanged += len(good) - inserted - corrected
    rejected.sort(key=lambda r: r.row)
    return result


_EPOCH_DAY = date(1970, 1, 1)


def _stream_ids(rows: Sequence[Any]) -> set[int]:
    """The datastream ids a batch names (as devices send them, or as digits)."""
    ids: set[int] = set()
    for row in rows:
        ds = row.get("datastream") if type(row) is dict or isinstance(row, Mapping) else None
        if type(ds) is int:
            ids.add(ds)
        elif isinstance(ds, str) and ds.strip().isdigit():
            ids.add(int(ds.strip()))
    return ids


def _check_row(i: int, row: Any) -> tuple[int, float, float] | Rejection:
    """One row that is not in the devices' usual form: (datastream, epoch seconds, value), or why not."""
    if not isinstance(row, Mapping):
        return Rejection(i, None, "each observation must be an object")
    stream = row.get("datastream")
    try:
        missing = [k for k in CSV_COLUMNS if row.get(k) in (None, "")]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return parse_stream(stream), parse_time(row["phenomenon_time"]).timestamp(), parse_value(row["value"])
    except ValueError as exc:
        return Rejection(i, stream, str(exc))


def _streams(session: Session, ids: Iterable[int], digest: str | None) -> dict[int, tuple[int, float, float]]:
    """datastream id -> (device, valid min, valid max), for the live ones among ``ids``."""
    ids = sorted(ids)
    if not ids:
        return {}
    if digest is not None:
        found = session.execute(_DEVICE_STREAMS, {"digest": digest, "ids": "{" + ",".join(map(str, ids)) + "}"})
        return {r.id: (r.thing_id, r.valid_min, r.valid_max) for r in found}
    return {
        r.id: (r.thing_id, r.valid_min, r.valid_max)
        for r in session.execute(
            text(
                "SELECT d.id, d.thing_id, d.valid_min, d.valid_max FROM sensor_datastreams d "
                "JOIN sensor_things t ON t.id = d.thing_id "
                "WHERE d.id = ANY(:ids) AND d.deleted_at IS NULL AND t.deleted_at IS NULL"
            ),
            {"ids": ids},
        )
    }


_DEVICE_STREAMS = text("SELECT * FROM sinhke_device_streams(:digest, CAST(:ids AS int[]))")
_DEVICE_WRITE = text(
    "SELECT inserted, corrected FROM "
    "sinhke_device_write(:digest, CAST(:ds AS int[]), CAST(:t AS float8[]), CAST(:v AS float8[]), :ch)"
)
#: new times in; a time stored already is left to _CORRECT
_INSERT = text("""
    INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
    SELECT ds, to_timestamp(t), v, CAST(:ch AS varchar)
    FROM unnest(CAST(:ds AS int[]), CAST(:t AS float8[]), CAST(:v AS float8[])) AS i(ds, t, v)
    ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING""")
#: a stored time sent with another value gets it (the corrections trigger keeps the old one); run
#: after _INSERT, so every row conflicts and the count is of the corrected ones (each found by the
#: primary key, as a join of the batch with a partitioned table is not planned to be)
_CORRECT = text("""
    INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
    SELECT ds, to_timestamp(t), v, CAST(:ch AS varchar)
    FROM unnest(CAST(:ds AS int[]), CAST(:t AS float8[]), CAST(:v AS float8[])) AS i(ds, t, v)
    ON CONFLICT (datastream_id, phenomenon_time) DO UPDATE
      SET value = EXCLUDED.value, channel = EXCLUDED.channel, result_time = now()
      WHERE sensor_observations.value IS DISTINCT FROM EXCLUDED.value""")


def read_logger_csv(data: bytes | str, *, name: str = "file") -> tuple[list[dict[str, str]], list[int]]:
    """The rows of a logger's CSV file (``datastream,phenomenon_time,value``, a header line, UTF-8)
    and the line number of each. A file with other columns is refused as a whole, naming what it
    has and what it needs."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SensorError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(data))
    header = next(reader, None)
    if header is None:
        raise SensorError(f"{name}: the file is empty; expected a header line {','.join(CSV_COLUMNS)}")
    found = [h.strip().lower() for h in header]
    if found != list(CSV_COLUMNS):
        raise SensorError(
            f"{name}, line 1: the columns are {', '.join(found) or '(none)'}; "
            f"a logger file has exactly {', '.join(CSV_COLUMNS)}"
        )
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    for line in reader:
        if not any(cell.strip() for cell in line):
            continue
        cells = [cell.strip() for cell in line] + [""] * (len(CSV_COLUMNS) - len(line))
        rows.append(dict(zip(CSV_COLUMNS, cells[: len(CSV_COLUMNS)], strict=True)))
        lines.append(reader.line_num)
    return rows, lines


def ingest_logger_csv(
    session: Session, data: bytes | str, *, name: str = "file", device_id: int | None = None
) -> IngestResult:
    """A logger's file through ``ingest_observations``, a batch per BATCH_LIMIT rows in the caller's
    one transaction; rejections name the file's line (the header is line 1)."""
    rows, lines = read_logger_csv(data, name=name)
    result = IngestResult()
    for start in range(0, len(rows), BATCH_LIMIT):
        part = ingest_observations(
            session,
            rows[start : start + BATCH_LIMIT],
            channel="csv",
            device_id=device_id,
            row_numbers=lines[start : start + BATCH_LIMIT],
        )
        result.inserted += part.inserted
        result.corrected += part.corrected
        result.unchanged += part.unchanged
        result.rejected += part.rejected
    return result
