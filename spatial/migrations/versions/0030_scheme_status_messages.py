"""A water scheme's assessed reasons kept as catalogue messages, so pages and notifications word them in any language

Revision ID: 0030
Revises: 0029

``scheme_functionality`` wrote why a scheme is not (fully) working only as English text
(``sensor_scheme_status.detail``, ``water_schemes.status_reason``: "no flow for 3 days; visit report:
not functional"), which a Vietnamese page could show only in English. Beside those texts (kept as
they are: the API and ``classify_households`` read them) each now keeps its facts:

- ``sensor_scheme_status.detail_messages``: a JSON list of the reasons as stored messages,
  ``{"text", "msgid", "args"}`` (``spatial.Message.stored``), e.g. ``{"msgid": "no flow for {days}
  days", "args": {"days": "3"}, "text": "no flow for 3 days"}``; ``[]`` for a functional day.
- ``water_schemes.status_reason_messages``: the same for the scheme's recorded status reason;
  NULL with ``status_reason`` NULL (a status recorded by hand). ``water_schemes`` keeps its audit
  trigger, which records the column like any other.

The rows written before are given their messages here, read back from their English text (the
four wordings the job wrote); a text that is none of them stays a message of its own, shown as written.
The backfill of ``water_schemes`` is not audited: it adds the structured form of the reason each row
already has, not a change of it.
"""

import json
import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

#: the English wordings ``jobs.sensors.assess`` wrote up to 0028, as their catalogue messages
_WORDINGS = (
    (re.compile(r"no flow for (?P<days>\d+) days"), "no flow for {days} days"),
    (
        re.compile(
            r"pressure outside (?P<low>[\d.]+)–(?P<high>[\d.]+) bar in (?P<outside>\d+) of (?P<readings>\d+) "
            r"readings of the last day"
        ),
        "pressure outside {low}–{high} bar in {outside} of {readings} readings of the last day",
    ),
    (re.compile(r"tank below (?P<level>[\d.]+ %) for (?P<hours>\d+) hours"), "tank below {level} for {hours} hours"),
    (re.compile(r"visit report: (?P<status>(partially )?functional|not functional)"), None),
)


def messages(detail: str) -> list[dict[str, object]]:
    """The stored messages of an English detail written before this revision."""
    out: list[dict[str, object]] = []
    for part in filter(None, (p.strip() for p in detail.split("; "))):
        for pattern, msgid in _WORDINGS:
            found = pattern.fullmatch(part)
            if found:
                args = {} if msgid is None else found.groupdict()
                out.append({"text": part, "msgid": msgid or part, "args": args})
                break
        else:
            out.append({"text": part, "msgid": "", "args": {}})
    return out


def upgrade() -> None:
    op.add_column(
        "sensor_scheme_status",
        sa.Column("detail_messages", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.add_column(
        "water_schemes",
        sa.Column("status_reason_messages", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    backfill(op.get_bind())


def backfill(bind: sa.Connection) -> None:
    """The messages of the rows that have English reasons only (unaudited, see above)."""
    audit = bind.scalar(sa.text("SELECT coalesce(current_setting('sinhke.audit', true), 'on')"))
    bind.execute(sa.text("SELECT set_config('sinhke.audit', 'off', true)"))
    without = "coalesce({target}, '[]') = '[]'"
    for table, column, target in (
        ("sensor_scheme_status", "detail", "detail_messages"),
        ("water_schemes", "status_reason", "status_reason_messages"),
    ):
        texts = bind.execute(
            sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} <> '' AND {without.format(target=target)}")
        ).scalars()
        for detail in list(texts):
            bind.execute(
                sa.text(
                    f"UPDATE {table} SET {target} = CAST(:m AS jsonb) "
                    f"WHERE {column} = :d AND {without.format(target=target)}"
                ),
                {"m": json.dumps(messages(detail), ensure_ascii=False), "d": detail},
            )
    bind.execute(sa.text("SELECT set_config('sinhke.audit', :a, true)"), {"a": audit})


def downgrade() -> None:
    op.drop_column("water_schemes", "status_reason_messages")
    op.drop_column("sensor_scheme_status", "detail_messages")
