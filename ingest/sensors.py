"""The one path every sensor reading comes in by: HTTP batches, loggers' CSV files and MQTT messages.

``ingest_observations`` (``ingest_json`` for a body as it came) checks each row (known datastream,
of the sending device, numeric, in the datastream's valid range, a time with its zone and not in
the future) in the one SQL statement that writes the good rows, and answers every other row with
its reason. Writing is idempotent on
(datastream, phenomenon_time): the same value again changes nothing, a different value replaces
the stored one and the database keeps the replaced value in ``sensor_corrections`` (a trigger,
so no way in can overwrite silently).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
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
    try:
        body = json.dumps(rows, allow_nan=False, default=str)
    except ValueError:  # NaN or infinity in a value: sent as text, so the row is answered "not finite"
        body = json.dumps([_finite_or_text(row) for row in rows], default=str)
    return ingest_json(
        session, body, channel=channel, device_id=device_id, now=now, row_numbers=row_numbers, limit=limit
    )


def ingest_json(
    session: Session,
    body: str | bytes,
    *,
    channel: str,
    device_id: int | None = None,
    now: datetime | None = None,
    row_numbers: Sequence[int] | None = None,
    limit: int = BATCH_LIMIT,
) -> IngestResult:
    """``ingest_observations`` for a batch as JSON text (a list, or ``{"observations": [...]}``), as
    it came over HTTP: PostgreSQL parses and checks every row in the one statement that writes the
    good ones (Python looks only at the rejected rows, to word their reasons)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SensorError(f"the body is not UTF-8 text (byte {exc.start})") from None
    params = {
        "body": body,
        "now": (now or datetime.now(UTC)) + CLOCK_SKEW,
        "device": device_id,
        "limit": limit,
        "ch": channel,
        "rownums": None if row_numbers is None else "{" + ",".join(map(str, row_numbers)) + "}",
    }
    for attempt in (1, 2):
        try:
            # a savepoint: a body PostgreSQL cannot read, or a month without its partition, fails
            # the statement and must leave the caller's transaction usable
            with session.begin_nested():
                outcome = session.execute(_INGEST, params).one()
            break
        except DataError as exc:
            if getattr(exc.orig, "sqlstate", None) in ("22P02", "22032"):  # invalid JSON text
                detail = str(exc.orig).strip().splitlines()[0]
                raise SensorError(f"the body is not JSON ({detail})") from None
            raise
        except IntegrityError as exc:
            if attempt == 2 or getattr(exc.orig, "sqlstate", None) != "23514":  # no partition for a row
                raise
            ensure_partitions(session, list(session.scalars(_MONTHS, params)))
    if not outcome.is_list:
        raise SensorError('the body must be a JSON list of observations, or {"observations": [...]}')
    if outcome.n > limit:
        raise BatchTooLarge(f"{outcome.n} observations in one batch; the limit is {limit}")
    if outcome.foreign:
        names = ", ".join(map(str, outcome.foreign))
        many = len(outcome.foreign) > 1
        which = f"datastreams {names} belong" if many else f"datastream {names} belongs"
        raise DeviceForbidden(f"{which} to another device; nothing of this batch was written")
    result = IngestResult(inserted=outcome.inserted, corrected=outcome.corrected, unchanged=outcome.unchanged)
    result.rejected = [Rejection(r[0], *_reason(*r[1:])) for r in outcome.rejected or []]
    return result


def _finite_or_text(row: Any) -> Any:
    if isinstance(row, Mapping) and isinstance(row.get("value"), float) and not math.isfinite(row["value"]):
        return dict(row, value=str(row["value"]))
    return row


def _reason(
    code: str, row: Any, ds: str | None, value: float | None, lo: float, hi: float, first: int
) -> tuple[Any, str]:
    """(datastream, reason) of a row the statement rejected with ``code``: the wording of the checks
    in Python (``parse_stream``, ``parse_time``, ``parse_value``), run on that row alone."""
    if code == "object":
        return None, "each observation must be an object"
    stream = row.get("datastream")
    checks: dict[str, tuple[Callable[[Any], Any], str, str]] = {
        "stream": (parse_stream, "datastream", "is not a datastream's @iot.id (a whole number)"),
        "time": (
            parse_time,
            "phenomenon_time",
            "is not an ISO 8601 time with its zone, such as 2026-07-01T10:00:00+07:00",
        ),
        "value": (parse_value, "value", "is not a number"),
    }
    if code == "missing":
        return stream, f"missing {', '.join(k for k in CSV_COLUMNS if row.get(k) in (None, ''))}"
    if code in checks:
        check, key, otherwise = checks[code]
        try:
            check(row[key])
        except ValueError as exc:
            return stream, str(exc)
        return stream, f"{key} {row[key]!r} {otherwise}"  # a form Python reads and the statement does not
    number = int(ds or 0)
    if code == "future":
        return number, f"phenomenon_time {row['phenomenon_time']} is in the future"
    if code == "unknown":
        return number, f"unknown datastream {number}"
    if code == "range":
        return number, f"value {value:g} is outside the valid range {lo:g} to {hi:g}"
    return number, f"row {first} of this batch gives another value for the same time"


#: every row of the batch parsed and checked, in the order of the Python checks: ``code`` is why a
#: row is refused (NULL: it is good); a time is read only when it has the ISO 8601 form and its
#: fields are in range, a string value only when it has a number's form, so no row makes the
#: statement fail
_CHECKED = """
    WITH doc AS (
      SELECT CASE jsonb_typeof(b) WHEN 'array' THEN b WHEN 'object' THEN b->'observations' END AS a
      FROM (SELECT CAST(:body AS jsonb) AS b) x),
    batch AS (
      SELECT coalesce(jsonb_typeof(a) = 'array', false) AS is_list,
             CASE WHEN jsonb_typeof(a) = 'array' THEN jsonb_array_length(a) ELSE 0 END AS n, a FROM doc),
    elems AS (
      SELECT e.ord, coalesce((CAST(:rownums AS int[]))[e.ord], e.ord - 1) AS rn, e.j,
             jsonb_typeof(e.j) = 'object' AS is_object,
             CASE WHEN jsonb_typeof(e.j) = 'object' THEN e.j->'datastream' END AS jds,
             CASE WHEN jsonb_typeof(e.j) = 'object' THEN e.j->'phenomenon_time' END AS jt,
             CASE WHEN jsonb_typeof(e.j) = 'object' THEN e.j->'value' END AS jv
      FROM batch, jsonb_array_elements(CASE WHEN batch.n <= :limit THEN batch.a ELSE '[]' END)
        WITH ORDINALITY e(j, ord)),
    forms AS (
      SELECT elems.*,
             CASE jsonb_typeof(jds)
               WHEN 'number' THEN substring(jds #>> '{}' FROM '^(-?[0-9]+)$')
               WHEN 'string' THEN substring(jds #>> '{}' FROM '^\\s*([0-9]+)\\s*$') END AS ds_text,
             CASE WHEN jsonb_typeof(jt) = 'string' THEN regexp_match(upper(btrim(jt #>> '{}')),
               '^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]+)?)?'
               '(Z|[+-]([0-9]{2})(?::?([0-9]{2}))?)$') END AS tm,
             CASE jsonb_typeof(jv)
               WHEN 'number' THEN CAST(jv #>> '{}' AS numeric)
               WHEN 'string' THEN CAST(substring(jv #>> '{}'
                 FROM '^\\s*([+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?)\\s*$') AS numeric)
             END AS num
      FROM elems),
    readable AS (
      SELECT forms.*,
             CASE WHEN tm IS NOT NULL AND tm[1] > '0000' AND tm[2] BETWEEN '01' AND '12' AND tm[4] <= '23'
               AND tm[5] <= '59' AND coalesce(tm[6], '00') <= '59' AND coalesce(tm[8], '00') <= '23'
               AND coalesce(tm[9], '00') <= '59' AND tm[3] >= '01'
               THEN CAST(tm[3] AS int) <= extract(day FROM
                 make_date(CAST(tm[1] AS int), CAST(tm[2] AS int), 1) + interval '1 month' - interval '1 day')
               ELSE false END AS time_ok,
             ds_text IS NOT NULL AND length(ltrim(ltrim(ds_text, '-'), '0')) <= 9 AS ds_fits
      FROM forms),
    parsed AS (
      SELECT readable.*,
             CASE WHEN ds_fits THEN CAST(ds_text AS int) END AS ds,
             CASE WHEN time_ok THEN CAST(replace(upper(btrim(jt #>> '{}')), ',', '.') AS timestamptz) END AS t,
             CASE WHEN abs(num) <= 1.7976931348623157e308
               THEN CASE WHEN abs(num) < 1e-300 THEN 0 ELSE CAST(num AS float8) END END AS v
      FROM readable),
    first_checks AS (
      SELECT p.*, CASE
        WHEN NOT is_object THEN 'object'
        WHEN jds IS NULL OR jds IN ('null', '""') OR jt IS NULL OR jt IN ('null', '""')
          OR jv IS NULL OR jv IN ('null', '""') THEN 'missing'
        WHEN ds_text IS NULL THEN 'stream'
        WHEN t IS NULL THEN 'time'
        WHEN v IS NULL THEN 'value'
        WHEN t > :now THEN 'future' END AS early
      FROM parsed p),
    streams AS (
      SELECT d.id, d.thing_id, d.valid_min, d.valid_max FROM sensor_datastreams d
      JOIN sensor_things th ON th.id = d.thing_id
      WHERE d.id IN (SELECT ds FROM first_checks WHERE early IS NULL)
        AND d.deleted_at IS NULL AND th.deleted_at IS NULL),
    foreign_streams AS (
      SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM streams
      WHERE CAST(:device AS int) IS NOT NULL AND thing_id <> CAST(:device AS int)),
    ranged AS (
      SELECT f.*, s.valid_min AS lo, s.valid_max AS hi, coalesce(f.early, CASE
        WHEN s.id IS NULL THEN 'unknown'
        WHEN NOT f.v BETWEEN s.valid_min AND s.valid_max THEN 'range' END) AS late
      FROM first_checks f LEFT JOIN streams s ON s.id = f.ds),
    checked AS (
      SELECT r.*, first_value(rn) OVER w AS first_row, first_value(v) OVER w AS first_v,
             coalesce(late, CASE WHEN ord <> first_value(ord) OVER w
               THEN CASE WHEN v = first_value(v) OVER w THEN 'again' ELSE 'duplicate' END END) AS code
      FROM ranged r
      WINDOW w AS (PARTITION BY CASE WHEN late IS NULL THEN ds END, CASE WHEN late IS NULL THEN t END ORDER BY ord))"""

#: insert new times; for a stored time with another value, update it (the corrections trigger keeps
#: the old one); a stored time with the same value is left alone. Nothing is written for a batch
#: over the limit or naming another device's datastream
_INGEST = text(
    _CHECKED  # noqa: S608 - two constants joined, nothing from outside
    + """,
    good AS (
      SELECT ds, t, v FROM checked
      WHERE code IS NULL AND (SELECT ids FROM foreign_streams) = '{}'),
    stored AS (
      SELECT count(*) AS n FROM sensor_observations o
      JOIN good g ON o.datastream_id = g.ds AND o.phenomenon_time = g.t),
    written AS (
      INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
      SELECT ds, t, v, CAST(:ch AS varchar) FROM good
      ON CONFLICT (datastream_id, phenomenon_time) DO UPDATE
        SET value = EXCLUDED.value, channel = EXCLUDED.channel, result_time = now()
        WHERE sensor_observations.value IS DISTINCT FROM EXCLUDED.value
      RETURNING 1)
    SELECT b.is_list, b.n, (SELECT ids FROM foreign_streams) AS foreign,
           (SELECT count(*) FROM good) - (SELECT n FROM stored) AS inserted,
           (SELECT count(*) FROM written) - (SELECT count(*) FROM good) + (SELECT n FROM stored) AS corrected,
           (SELECT count(*) FROM good) - (SELECT count(*) FROM written)
             + (SELECT count(*) FROM checked WHERE code = 'again') AS unchanged,
           (SELECT jsonb_agg(jsonb_build_array(rn, code, j, ds_text, v, lo, hi, first_row) ORDER BY rn)
            FROM checked WHERE code NOT IN ('again')) AS rejected
    FROM batch b"""
)

#: the months (UTC) of the good rows, for their partitions
_MONTHS = text(
    _CHECKED  # noqa: S608 - two constants joined, nothing from outside
    + """
    SELECT DISTINCT CAST(date_trunc('month', t AT TIME ZONE 'UTC') AS date) FROM checked WHERE code IS NULL"""
)


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
