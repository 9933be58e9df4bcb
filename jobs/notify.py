"""Notifications of sensor events, once per event: a commune's rainfall risk level on a day, and a
water scheme that stopped working. Sent to the users responsible for the commune who asked for that
kind of event (``notification_settings``), by e-mail (SMTP) and by a signed webhook (HMAC-SHA256 of
the body in ``X-Sinhke-Signature``) that an SMS or Zalo OA gateway receives.

A notification says its subject and text in Vietnamese and then in English (users have no language
setting): the catalogue's wording of the rainfall figures and of the scheme's stored reasons
(``sensor_scheme_status.detail_messages``).

An event is a row with a key (``rain_alert:<commune>:<local day>:<level>``,
``scheme_down:<scheme>:<first day down>``): made once however many readings or job runs see it.
A delivery is a row per event, user and channel; one that failed is tried again on the next run.
"""

from __future__ import annotations

import gettext
import hashlib
import hmac
import json
import smtplib
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import text
from sqlalchemy.orm import Session

from jobs.progress import report
from spatial import N_, Message, word_message
from spatial.settings import Settings

SIGNATURE_HEADER = "X-Sinhke-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


#: the events of now: each commune's latest rainfall assessment at level 1 or more, each scheme whose
#: latest assessment is not functional (since the first day of that run), with what words them;
#: those already made are left out
_CANDIDATES = text("""
    WITH latest AS (
      SELECT DISTINCT ON (a.commune_id) a.* FROM sensor_rain_alerts a ORDER BY a.commune_id, a.computed_for DESC),
    down AS (
      SELECT s.scheme_id, w.name, au.commune_id,
             (SELECT min(x.assessed_on) FROM sensor_scheme_status x WHERE x.scheme_id = s.scheme_id
               AND x.assessed_on > coalesce((SELECT max(y.assessed_on) FROM sensor_scheme_status y
                                              WHERE y.scheme_id = s.scheme_id AND y.status <> 'not_functional'),
                                             '-infinity')) AS since,
             s.detail, s.detail_messages
      FROM (SELECT DISTINCT ON (scheme_id) * FROM sensor_scheme_status ORDER BY scheme_id, assessed_on DESC) s
      JOIN water_schemes w ON w.id = s.scheme_id
      JOIN asset_units au ON au.asset_kind = 'water_scheme' AND au.asset_id = s.scheme_id
      WHERE s.status = 'not_functional'),
    candidates AS (
      SELECT 'rain_alert:' || l.commune_id || ':' || to_char(l.computed_for AT TIME ZONE :zone, 'YYYY-MM-DD')
               || ':' || l.risk_level AS event_key,
             'rain_alert' AS kind, l.commune_id, c.name, :base || '/sensors/alerts' AS link,
             l.risk_level, l.rain_24h_mm, l.rain_72h_mm, l.band, l.susceptibility, l.models, l.schemes, l.households,
             NULL AS detail, NULL::jsonb AS detail_messages
      FROM latest l JOIN admin_units c ON c.id = l.commune_id WHERE l.risk_level >= 1
      UNION ALL
      SELECT 'scheme_down:' || d.scheme_id || ':' || d.since, 'scheme_down', d.commune_id, d.name,
             :base || '/sensors/schemes/' || d.scheme_id,
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, d.detail, d.detail_messages
      FROM down d)
    SELECT * FROM candidates n
    WHERE NOT EXISTS (SELECT 1 FROM notification_events e WHERE e.event_key = n.event_key)""")

_NEW_EVENT = text("""
    INSERT INTO notification_events (event_key, kind, commune_id, subject, body, link)
    VALUES (:event_key, :kind, :commune_id, :subject, :body, :link)
    ON CONFLICT (event_key) DO NOTHING
    RETURNING event_key""")

#: the web app's compiled catalogue (``make translations``): users have no language of their own,
#: so a notification says it in Vietnamese, the interface's default, and then in English
CATALOGUE = Path(__file__).resolve().parents[1] / "webapp" / "translations"


@cache
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation("messages", CATALOGUE, languages=[language], fallback=True)


def languages() -> tuple[str, ...]:
    """Vietnamese and English; English alone where the catalogue was not compiled (rather than the
    English twice)."""
    return ("vi", "en") if isinstance(_catalogue("vi"), gettext.GNUTranslations) else ("en",)


def worded(messages: Sequence[Mapping[str, Any]], language: str) -> str:
    """Stored messages (``spatial.Message.stored``) in ``language``, joined with "; "; a message the
    catalogue lacks, or whose translation does not take its values, as its English text."""
    translate = _catalogue(language).gettext if language != "en" else str

    def decimal(value: float, digits: int) -> str:  # English as written ("1250.5"), Vietnamese 1.250,5
        if language == "en":
            return f"{value:.{digits}f}"
        return format_decimal(value, format="#,##0." + "0" * digits, locale=language)

    return "; ".join(word_message(m, translate, decimal) for m in messages)


def _stored(*messages: Message | str) -> list[Mapping[str, Any]]:
    return [m.stored() if isinstance(m, Message) else Message(m).stored() for m in messages]


def _wording(row: Any) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """An event's subject and its body's one or two sentences, as stored messages (a sentence's
    messages are joined with "; ")."""
    if row.kind == "rain_alert":
        rain = Message(
            N_("{rain_24h} mm in 24 h, {rain_72h} mm in 72 h (band {band} of Decision 18/2021/QĐ-TTg)"),
            rain_24h=f"{row.rain_24h_mm:.1f}",
            rain_72h=f"{row.rain_72h_mm:.1f}",
            band=row.band,
        )
        slopes = (
            N_("landslide susceptibility unknown")
            if row.susceptibility is None
            else Message(N_("landslide susceptibility {susceptibility}"), susceptibility=row.susceptibility)
        )
        inside = Message(
            N_("Inside: {models} models, {schemes} water schemes, {households} households."),
            models=row.models,
            schemes=row.schemes,
            households=row.households,
        )
        subject = Message(N_("Rainfall risk level {level}"), level=row.risk_level)
        return _stored(subject), _stored(rain, slopes), _stored(inside)
    # a status written before its messages were kept (migration 0030) has its English text only
    detail = row.detail_messages or [{"text": row.detail, "msgid": "", "args": {}}]
    return _stored(N_("Water scheme not working")), detail, []


def event_texts(row: Any) -> tuple[str, str]:
    """(subject, body) of an event, in Vietnamese and then in English: "<vi> / <en>: <name>", and the
    body's Vietnamese paragraph, a blank line, its English one."""
    subject, first, second = _wording(row)
    heading = " / ".join(worded(subject, language) for language in languages())
    paragraphs = [
        worded(first, language) + (". " + worded(second, language) if second else "") for language in languages()
    ]
    return f"{heading}: {row.name}", "\n\n".join(paragraphs)


_PENDING = text("""
    SELECT e.event_key, e.kind, e.subject, e.body, e.link, c.name AS commune, ns.user_id, u.name AS user_name,
           ns.email, ns.phone
    FROM notification_events e
    JOIN admin_units c ON c.id = e.commune_id
    JOIN user_visible_units v ON v.unit_id = e.commune_id
    JOIN users u ON u.id = v.user_id AND u.disabled_at IS NULL
    JOIN LATERAL (SELECT * FROM notification_settings s WHERE s.user_id = u.id
                  AND (s.commune_id = e.commune_id OR s.commune_id IS NULL) AND e.kind = ANY(s.kinds)
                  ORDER BY s.commune_id NULLS LAST LIMIT 1) ns ON true
    WHERE e.created_at > now() - interval '7 days'
    ORDER BY e.created_at, e.event_key, ns.user_id""")


@dataclass(frozen=True)
class Outcome:
    events: int
    sent: int
    failed: int


def notify(session: Session, *, settings: Settings | None = None) -> int:
    """Make the new events, send what has not been sent yet; how many deliveries went out."""
    return notify_events(session, settings or Settings.from_env()).sent


def notify_events(session: Session, settings: Settings) -> Outcome:
    base = settings.public_url.rstrip("/")
    new = []
    for candidate in session.execute(_CANDIDATES, {"zone": settings.timezone, "base": base}).all():
        subject, body = event_texts(candidate)
        made = session.execute(
            _NEW_EVENT,
            {
                "event_key": candidate.event_key,
                "kind": candidate.kind,
                "commune_id": candidate.commune_id,
                "subject": subject,
                "body": body,
                "link": candidate.link,
            },
        ).scalar()
        if made:
            new.append(made)
    done = {
        (r.event_key, r.user_id, r.channel)
        for r in session.execute(
            text("SELECT event_key, user_id, channel FROM notification_deliveries WHERE sent_at IS NOT NULL")
        )
    }
    sent = failed = 0
    for row in session.execute(_PENDING).all():
        channels = []
        if row.email and settings.smtp_host:
            channels.append("email")
        if settings.webhook_url:
            channels.append("webhook")
        for channel in channels:
            if (row.event_key, row.user_id, channel) in done:
                continue
            try:
                if channel == "email":
                    _email(settings, row)
                else:
                    _webhook(settings, row)
                error = None
                sent += 1
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                failed += 1
            session.execute(
                text("""
                INSERT INTO notification_deliveries (event_key, user_id, channel, sent_at, error)
                VALUES (:k, :u, :c, CASE WHEN CAST(:e AS text) IS NULL THEN now() END, :e)
                ON CONFLICT (event_key, user_id, channel)
                DO UPDATE SET sent_at = EXCLUDED.sent_at, error = EXCLUDED.error
                """),
                {"k": row.event_key, "u": row.user_id, "c": channel, "e": error},
            )
    report(f"{len(new)} new events; {sent} notifications sent, {failed} failed")
    return Outcome(len(new), sent, failed)


def _email(settings: Settings, row: Any) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.email
    message["Subject"] = f"[sinhke] {row.subject}"
    message.set_content(f"{row.commune}\n\n{row.body}\n\n{row.link}\n")
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def _webhook(settings: Settings, row: Any) -> None:
    body = json.dumps(
        {
            "event": row.event_key,
            "kind": row.kind,
            "commune": row.commune,
            "subject": row.subject,
            "text": row.body,
            "link": row.link,
            "recipient": {"user": row.user_name, "phone": row.phone, "email": row.email},
        },
        ensure_ascii=False,
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the administrator's configured gateway URL
        settings.webhook_url or "",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(settings.webhook_secret or "", body)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status >= 300:
            raise ValueError(f"the webhook answered {response.status}")
