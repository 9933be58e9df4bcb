"""The one path every sensor reading comes in by: HTTP batches, loggers' CSV files and MQTT messages.

``ingest_observations`` checks each row (known datastream, of the sending device, numeric, in the
datastream's valid range, a time with its zone and not in the future), writes the good rows in one
statement and answers every other row with its reason. Writing is idempotent on
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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

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
) -> IngestResult:
    """Write the good rows of the batch, answer the others (see the module).

    ``device_id``: the sending device (HTTP, MQTT); a row naming another device's datastream
    refuses the whole batch (DeviceForbidden). ``row_numbers`` names the rows in the rejections
    (a CSV file's lines; default: the position in the batch). Runs in the caller's transaction and
    commits nothing."""
    if len(rows) > limit:
        raise BatchTooLarge(f"{len(rows)} observations in one batch; the limit is {limit}")
    now = now or datetime.now(UTC)
    result = IngestResult()
    parsed: list[tuple[int, int, datetime, float]] = []
    numbers = row_numbers if row_numbers is not None else range(len(rows))
    for i, row in zip(numbers, rows, strict=True):
        if not isinstance(row, Mapping):
            result.rejected.append(Rejection(i, None, "each observation must be an object"))
            continue
        stream = row.get("datastream")
        try:
            missing = [k for k in CSV_COLUMNS if row.get(k) in (None, "")]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            ds = parse_stream(stream)
            when = parse_time(row["phenomenon_time"])
            value = parse_value(row["value"])
        except ValueError as exc:
            result.rejected.append(Rejection(i, stream, str(exc)))
            continue
        if when > now + CLOCK_SKEW:
            result.rejected.append(Rejection(i, ds, f"phenomenon_time {row['phenomenon_time']} is in the future"))
            continue
        parsed.append((i, ds, when, value))

    streams = _streams(session, {p[1] for p in parsed})
    if device_id is not None:
        foreign = sorted({ds for _, ds, _, _ in parsed if ds in streams and streams[ds][0] != device_id})
        if foreign:
            names = ", ".join(map(str, foreign))
            which = f"datastreams {names} belong" if len(foreign) > 1 else f"datastream {names} belongs"
            raise DeviceForbidden(f"{which} to another device; nothing of this batch was written")
    good: dict[tuple[int, datetime], tuple[int, float]] = {}
    for i, ds, when, value in parsed:
        if ds not in streams:
            result.rejected.append(Rejection(i, ds, f"unknown datastream {ds}"))
            continue
        _, lo, hi = streams[ds]
        if not lo <= value <= hi:
            result.rejected.append(Rejection(i, ds, f"value {value:g} is outside the valid range {lo:g} to {hi:g}"))
            continue
        earlier = good.get((ds, when))
        if earlier is not None and earlier[1] != value:
            result.rejected.append(
                Rejection(i, ds, f"row {earlier[0]} of this batch gives another value for the same time")
            )
            continue
        if earlier is not None:
            result.unchanged += 1
            continue
        good[(ds, when)] = (i, value)
    if good:
        ensure_partitions(session, [when.date() for _, when in good])
        # the columns as array literals made by joins (PostgreSQL parses them in C): the driver's
        # own list adaptation quotes element by element in Python, a third of a batch's time
        written = session.execute(
            _UPSERT,
            {
                "ds": "{" + ",".join(str(k[0]) for k in good) + "}",
                "t": "{" + ",".join(k[1].isoformat() for k in good) + "}",
                "v": "{" + ",".join(repr(v[1]) for v in good.values()) + "}",
                "ch": channel,
            },
        ).one()
        result.inserted += written.inserted
        result.corrected += written.corrected
        result.unchanged += len(good) - written.inserted - written.corrected
    result.rejected.sort(key=lambda r: r.row)
    return result


def _streams(session: Session, ids: Iterable[int]) -> dict[int, tuple[int, float, float]]:
    """datastream id -> (device, valid min, valid max), for the live ones among ``ids``."""
    ids = sorted(ids)
    if not ids:
        return {}
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


#: insert new times; for a stored time with another value, update it (the corrections trigger keeps
#: the old one); a stored time with the same value is left alone
_UPSERT = text("""
    WITH input AS (
      SELECT * FROM unnest(CAST(:ds AS int[]), CAST(:t AS timestamptz[]), CAST(:v AS float8[])) AS i(ds, t, v)),
    stored AS (
      SELECT count(*) AS n FROM sensor_observations o
      JOIN input i ON o.datastream_id = i.ds AND o.phenomenon_time = i.t),
    written AS (
      INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
      SELECT ds, t, v, CAST(:ch AS varchar) FROM input
      ON CONFLICT (datastream_id, phenomenon_time) DO UPDATE
        SET value = EXCLUDED.value, channel = EXCLUDED.channel, result_time = now()
        WHERE sensor_observations.value IS DISTINCT FROM EXCLUDED.value
      RETURNING 1)
    SELECT (SELECT count(*) FROM input) - (SELECT n FROM stored) AS inserted,
           (SELECT count(*) FROM written) - (SELECT count(*) FROM input) + (SELECT n FROM stored) AS corrected""")


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
