"""Visit sync: devices send filled forms; each body is taken once, whatever the network does.

Rules (the API's status codes in brackets):

- a body is keyed by the device's UUID ``id``; the first receipt stores it [201];
- the identical body again changes nothing [200]; a different body under a stored id is
  refused and the stored one kept [409, ``id_taken``];
- an edit is a new body with its own ``id`` that names the version it replaces in
  ``replaces`` (ODK Central's deprecatedID rule: an edit must name the *current* version);
  naming a version that something already replaced is refused [409, ``stale_edit``, with
  the current version's id]. A version has at most one successor (a unique key), so two
  devices editing the same version concurrently get one 201 and one 409;
- the target must exist [422] and lie in the caller's communes [403]; the form version must
  be loaded and made for the target [422]; the answers must pass the form's validator, the
  same that runs on the device [422, naming each field and the reason].
- a stored visit to a model recomputes that model's status (last visit, next due, days
  overdue) in the same transaction, so it counts at once, not after the nightly job.

Concurrent identical posts make exactly one row: the insert is ``ON CONFLICT DO NOTHING``
and a loser compares its body hash with the row that won.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Float, Select, Table, bindparam, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ingest import IngestError
from spatial import N_, Message
from spatial.accounts import Principal
from spatial.field import (
    NEW_VISIT_RETURNING,
    TARGETS,
    new_visit_json,
    stored_visit,
    stored_visit_json,
    visit_json,
    visits_json,
)
from spatial.forms import validate_answers
from spatial.model_status import programme_today, refresh_model_status
from spatial.models import FormDefinition, InfrastructureWork, LivelihoodModel, Visit, VisitPhoto
from spatial.params import first_control_character

FIELDS = (
    "id",
    "model",
    "work",
    "water_scheme",
    "visited_at",
    "form",
    "form_version",
    "location",
    "accuracy_m",
    "answers",
    "replaces",
    "photo",
)
#: a visit's photo, base64 in the body: resized on the phone; larger ones are refused
PHOTO_MAX_BYTES = int(os.environ.get("SINHKE_FIELD_PHOTO_MAX_KB", "300")) * 1024
PHOTO_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "image/webp": b"RIFF"}
REQUIRED = ("id", "visited_at", "form", "form_version", "answers")
#: device clocks drift; a visit more than this far in the future is a wrong clock, not a visit
CLOCK_SKEW = timedelta(hours=26)
MAX_BATCH = 500
#: a visit's target code that names nothing, per kind of target (a noun of its own in Vietnamese)
_NO_TARGET = {
    "livelihood_model": N_("no livelihood model with code {code}"),
    "infrastructure_work": N_("no infrastructure work with code {code}"),
    "water_scheme": N_("no water scheme with code {code}"),
}


class InvalidVisit(IngestError):
    """The body cannot be taken as it is (HTTP 422); names the field(s) and why."""

    def __init__(self, field: str, message: str, errors: list[dict[str, str]] | None = None):
        self.field = field
        self.errors = errors or [{"field": field, "code": "invalid", "message": message}]
        super().__init__(f"{field}: {message}")


class VisitForbidden(IngestError):
    """The caller may not record this visit (HTTP 403): target outside their communes, or a read-only role."""


class VisitConflict(IngestError):
    """The body clashes with what is stored (HTTP 409); ``reason`` is id_taken or stale_edit."""

    def __init__(self, reason: str, message: str, current: str | None = None):
        self.reason, self.current = reason, current
        super().__init__(message)


@dataclass(frozen=True)
class SyncOutcome:
    status: str  # created | unchanged
    visit: dict[str, Any]


def body_sha256(body: dict[str, Any]) -> str:
    """Hash of the body's canonical JSON (keys sorted, no spaces): key order does not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _uuid(body: dict[str, Any], key: str) -> uuid.UUID:
    value = body.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidVisit(key, "must be a UUID, e.g. 3f1c0b6e-5d2a-4c8e-9b1f-2a7d4e6c8b10") from exc


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _location(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    coords = value.get("coordinates") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or value.get("type") != "Point"
        or not isinstance(coords, list)
        or len(coords) not in (2, 3)
        or not all(_number(c) for c in coords)
    ):
        raise InvalidVisit("location", 'must be a GeoJSON point {"type": "Point", "coordinates": [lon, lat]} or null')
    lon, lat = coords[0], coords[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidVisit("location", "coordinates are [longitude, latitude] in degrees (WGS 84)")
    return float(lon), float(lat)


def _target(body: dict[str, Any]) -> tuple[str, str]:
    given = [k for k in TARGETS if body.get(k) is not None]
    if len(given) != 1:
        raise InvalidVisit("model", "name exactly one of model, work or water_scheme by its code")
    code = body[given[0]]
    if not isinstance(code, str) or not code.strip():
        raise InvalidVisit(given[0], "must be a code (text)")
    return given[0], code


def _photo(value: Any) -> tuple[str, bytes] | None:
    """``{"type": "image/jpeg", "data": "<base64>"}`` → (type, bytes), checked; None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"type", "data"}:
        raise InvalidVisit("photo", 'must be {"type": "image/jpeg|image/png|image/webp", "data": "<base64>"} or null')
    kind, data = value["type"], value["data"]
    if kind not in PHOTO_MAGIC:
        raise InvalidVisit("photo", f"type must be one of {', '.join(PHOTO_MAGIC)}")
    if not isinstance(data, str) or len(data) > PHOTO_MAX_BYTES * 4 // 3 + 8:
        raise InvalidVisit("photo", f"is larger than {PHOTO_MAX_BYTES // 1024} KB: resize it on the device")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidVisit("photo", "data is not base64") from None
    if len(raw) > PHOTO_MAX_BYTES:
        raise InvalidVisit("photo", f"is larger than {PHOTO_MAX_BYTES // 1024} KB: resize it on the device")
    if not raw.startswith(PHOTO_MAGIC[kind]) or (kind == "image/webp" and raw[8:12] != b"WEBP"):
        raise InvalidVisit("photo", f"data is not a {kind} image")
    return kind, raw


def _visited_at(value: Any) -> datetime:
    try:
        if not isinstance(value, str):
            raise ValueError
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidVisit("visited_at", N_("must be an ISO 8601 date-time, e.g. 2025-12-01T09:30:00+07:00")) from exc
    if when.tzinfo is None:
        raise InvalidVisit("visited_at", N_("needs a UTC offset (e.g. +07:00 or Z)"))
    if when > datetime.now(UTC) + CLOCK_SKEW:
        raise InvalidVisit("visited_at", N_("lies in the future; check the device's clock"))
    return when


def sync_visit(session: Session, who: Principal, body: Any) -> SyncOutcome:
    """Store one visit body from a device, or say why not. See the module's rules."""
    # a re-send (a phone that lost the answer) is answered from this one statement
    sent_id = _uuid_or_none(body.get("id")) if isinstance(body, dict) else None
    stored = stored_visit(session, sent_id) if sent_id is not None else None
    memo: dict[tuple[str, ...], Any] = {("stored", str(sent_id)): stored.Visit.body_sha256} if stored else {}
    status, visit_id = _store(session, who, body, memo, isolate=False)
    _count_at_once(session, memo)
    if status == "unchanged" and stored is not None:
        return SyncOutcome(status, stored_visit_json(stored))
    created = memo.get(("created", str(visit_id)))
    return SyncOutcome(status, created if created is not None else visit_json(session, visit_id))


#: the memo's entry for the models a sync stored visits of
VISITED_MODELS = ("models_visited",)


def _count_at_once(session: Session, memo: dict[tuple[str, ...], Any]) -> None:
    """The visited models' status recomputed in the sync's own transaction, once for a whole batch:
    "visits due" and the model page need no nightly run."""
    models = memo.get(VISITED_MODELS)
    if models:
        refresh_model_status(session, programme_today(), sorted(models))


def _stored_digests(session: Session, bodies: list[Any]) -> dict[tuple[str, ...], Any]:
    """What of these bodies' ids is stored already (and in scope), in one statement: a phone that
    lost the answer re-sends, and a re-sent body is answered without checking it again."""
    ids = [v for v in (_uuid_or_none(b.get("id")) for b in bodies if isinstance(b, dict)) if v is not None]
    if not ids:
        return {}
    rows = session.execute(select(Visit.id, Visit.body_sha256).where(Visit.id.in_(ids)))
    return {("stored", str(vid)): digest for vid, digest in rows}


#: the column that says a target's type, for the targets that have one
_TYPE_COLUMNS = {"model": LivelihoodModel.model_type, "work": InfrastructureWork.work_type}


@cache
def _target_statement(key: str) -> Select[Any]:
    """id, commune and type (where it has one) of the target a visit names by ``:code``; made
    once per process (building it and its cache key per visit cost more than running it)."""
    table = TARGETS[key][1]
    typed = [_TYPE_COLUMNS[key]] if key in _TYPE_COLUMNS else []
    return select(table.id, table.commune_id, *typed).where(table.code == bindparam("code"))


@dataclass(frozen=True)
class _Form:
    """What a sync needs of a form version; the parsed definition is shared per content hash."""

    form_id: str
    version: str
    target: str
    target_types: list[str]
    definition: dict[str, Any]


@cache
def _form_statement() -> Any:
    f = FormDefinition
    return select(f.id, f.form_id, f.version, f.target, f.target_types, f.definition_sha256).where(
        f.form_id == bindparam("form_id"), f.version == bindparam("version")
    )


#: form definitions by their SHA-256: content never changes under its hash, so a process parses a
#: definition (tens of kB of JSON) once instead of on every visit
_DEFINITIONS: dict[str, dict[str, Any]] = {}
_DEFINITION = text("SELECT definition FROM form_definitions WHERE id = :id")


def _definition(session: Session, form_id: int, sha256: str) -> dict[str, Any]:
    found = _DEFINITIONS.get(sha256)
    if found is None:
        found = session.scalar(_DEFINITION, {"id": form_id})
        if len(_DEFINITIONS) < 256:
            _DEFINITIONS[sha256] = found
    return found


@cache
def _insert_statement() -> Any:
    """The visit INSERT with bound parameters (its point from ``lon``/``lat``, NULL without), made
    once: built from a values dict per visit, it was compiled and keyed anew each time."""
    table = cast(Table, Visit.__table__)
    columns = {c: bindparam(c, type_=table.c[c].type) for c in _INSERT_COLUMNS}
    point = func.ST_MakePoint(bindparam("lon", type_=Float), bindparam("lat", type_=Float))
    return (
        insert(table)
        .values({**columns, "geom": func.ST_SetSRID(point, 4326)})
        .on_conflict_do_nothing()
        .returning(*NEW_VISIT_RETURNING)
    )


_INSERT_COLUMNS = (
    "id",
    "commune_id",
    "visited_at",
    "form_id",
    "form_version",
    "accuracy_m",
    "answers",
    "body_sha256",
    "replaces_id",
    "root_id",
    "version",
    "submitted_by",
    "model_id",
    "work_id",
    "scheme_id",
)


def _store(
    session: Session, who: Principal, body: Any, memo: dict[tuple[str, ...], Any], *, isolate: bool
) -> tuple[str, uuid.UUID]:
    """Store one visit: ``created`` or ``unchanged``, and its id; raises why not. ``memo`` keeps the
    targets and forms already looked up in this transaction (a batch names the same few again and
    again). ``isolate``: a visit refused after it wrote (by the ledger) undoes only its own writes."""
    if who.read_only:
        raise VisitForbidden(f"the {who.role} role can read visits but not record them")
    if not isinstance(body, dict):
        raise InvalidVisit("body", "must be a JSON object")
    control = first_control_character(body)
    if control is not None:
        raise InvalidVisit(
            control[0] or "body", f"contains the control character {control[1]}, which no field may hold"
        )
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidVisit(unknown[0], f"is not a visit field (fields: {', '.join(FIELDS)})")
    for key in REQUIRED:
        if body.get(key) is None:
            raise InvalidVisit(key, N_("is required"))
    visit_id = _uuid(body, "id")
    digest = body_sha256(body)
    if memo.get(("stored", str(visit_id))) == digest:
        # this very body was stored before (and checked then; forms never change): a re-send
        return "unchanged", visit_id
    key, code = _target(body)
    visited_at = _visited_at(body["visited_at"])
    for key_ in ("form", "form_version"):
        if not isinstance(body[key_], str):
            raise InvalidVisit(key_, "must be text")
    point = _location(body.get("location"))
    accuracy = body.get("accuracy_m")
    if accuracy is not None and not (_number(accuracy) and accuracy >= 0):
        raise InvalidVisit("accuracy_m", "must be a number of metres ≥ 0, or null")
    photo = _photo(body.get("photo"))
    replaces = _uuid(body, "replaces") if body.get("replaces") is not None else None
    if replaces == visit_id:
        raise InvalidVisit("replaces", "an edit has its own id, different from the version it replaces")

    kind, table = TARGETS[key]
    has_type = key in _TYPE_COLUMNS
    target = memo.get(("target", key, code))
    if target is None:
        target = session.execute(_target_statement(key), {"code": code}).first()
    if target is not None:
        memo["target", key, code] = target
    else:
        if session.scalar(text("SELECT sinhke_target_exists(:k, :c)"), {"k": kind, "c": code}):
            raise VisitForbidden(Message(N_("{field} {code} lies outside your communes"), field=key, code=repr(code)))
        raise InvalidVisit(key, Message(_NO_TARGET[kind], code=repr(code)))
    target_id, commune_id = target[0], target[1]
    target_type = target[2] if has_type else None

    form_key = ("form", body["form"], body["form_version"], kind, str(target_type))
    form = memo.get(form_key) or _form_for(session, body["form"], body["form_version"], kind, target_type)
    memo[form_key] = form
    errors = validate_answers(form.definition, body["answers"])
    if errors:
        first = errors[0]
        raise InvalidVisit(
            f"answers.{first.field}",
            f"{first.message} ({first.code})" + (f"; and {len(errors) - 1} more" if len(errors) > 1 else ""),
            [{**e.as_dict(), "field": f"answers.{e.field}"} for e in errors],
        )

    version, root = 1, visit_id
    if replaces is not None:
        previous = session.get(Visit, replaces)
        if previous is None:
            raise InvalidVisit("replaces", f"no visit {replaces} to replace")
        if (previous.model_id, previous.work_id, previous.scheme_id) != tuple(
            target_id if k == key else None for k in TARGETS
        ):
            raise InvalidVisit(key, "an edit keeps the target of the visit it replaces")
        version, root = previous.version + 1, previous.root_id

    values = {
        "id": visit_id,
        "commune_id": commune_id,
        "visited_at": visited_at,
        "form_id": form.form_id,
        "form_version": form.version,
        "accuracy_m": accuracy,
        "answers": body["answers"],
        "body_sha256": digest,
        "replaces_id": replaces,
        "root_id": root,
        "version": version,
        "submitted_by": who.name,
        "model_id": target_id if key == "model" else None,
        "work_id": target_id if key == "work" else None,
        "scheme_id": target_id if key == "water_scheme" else None,
        "lon": point[0] if point else None,
        "lat": point[1] if point else None,
    }
    ledger = key == "model" and target_type in LEDGER_MODEL_TYPES and form.form_id == LEDGER_FORM and replaces is None
    # only the ledger can refuse a visit after its row is written; a database error fails the request
    with session.begin_nested() if isolate and ledger else nullcontext():
        inserted = session.execute(_insert_statement(), values).first()
        if inserted is not None:
            if photo is not None:
                session.add(VisitPhoto(visit_id=visit_id, content_type=photo[0], data=photo[1], bytes=len(photo[1])))
                session.flush()
            if ledger:
                _apply_to_ledger(session, who, visit_id, code, visited_at, body["answers"])
            if key == "model":  # its status is recomputed once the batch is stored (_count_at_once)
                memo.setdefault(VISITED_MODELS, set()).add(target_id)
            if replaces is not None:  # an edit in the same batch: the version it replaces is no longer current
                memo.pop(("created", str(replaces)), None)
            if not ledger:  # the ledger may write visit rows of its own: those are read back
                memo["created", str(visit_id)] = new_visit_json(inserted, values, key, code, photo is not None)
            return "created", visit_id

    stored = session.execute(select(Visit.body_sha256).where(Visit.id == visit_id)).scalar()
    if stored == digest:
        return "unchanged", visit_id
    # a successor has the replaced version's target, so the caller sees it when there is one
    if (
        stored is None
        and replaces is not None
        and session.scalar(select(exists().where(Visit.replaces_id == replaces)))
    ):
        current = _current_version(session, replaces)
        raise VisitConflict(
            "stale_edit",
            f"visit {replaces} was already replaced; the current version is {current}: fetch it and edit that",
            current=current,
        )
    raise VisitConflict(
        "id_taken",
        f"visit {visit_id} was already received with a different body; the stored "
        "one is kept (an edit needs its own new id, and names the version it replaces)",
    )


#: model types whose visits update the cow-bank / buffalo pass-on ledger
LEDGER_MODEL_TYPES = ("cow_bank", "buffalo_loan")
#: the form whose answers the ledger reads (households, tags, births, deaths, pass-ons)
LEDGER_FORM = "cow_bank"


def _apply_to_ledger(
    session: Session, who: Principal, visit_id: uuid.UUID, code: str, visited_at: datetime, answers: dict[str, Any]
) -> None:
    """Births, deaths, vaccinations and pass-ons the visit saw go into the ledger, in the same
    transaction: a visit the ledger cannot take is refused whole (422 naming the answer).

    Only a visit's first version is applied; an edit (``replaces``) is stored but not
    re-applied, so the ledger never counts one birth twice.
    """
    from ingest.ledger import apply_visit
    from spatial.ledger import LedgerError

    try:
        apply_visit(session, visit_id, code, visited_at, answers, who.name)
    except LedgerError as exc:
        reason = str(exc).removeprefix(f"{exc.field}: ")
        raise InvalidVisit(
            f"answers.{exc.field}",
            f"the pass-on ledger cannot take it: {reason}",
            [{"field": f"answers.{exc.field}", "code": "ledger", "message": reason}],
        ) from None


def _form_for(session: Session, form_id: str, version: str, kind: str, target_type: str | None) -> _Form:
    row = session.execute(_form_statement(), {"form_id": form_id, "version": version}).first()
    if row is None:
        known = session.scalars(
            select(FormDefinition.version).where(FormDefinition.form_id == form_id).order_by(FormDefinition.id)
        ).all()
        if not known:
            raise InvalidVisit("form", Message(N_("no form {form}"), form=repr(form_id)))
        raise InvalidVisit(
            "form_version",
            Message(
                N_("form {form} has no version {version} (loaded: {loaded})"),
                form=repr(form_id),
                version=repr(version),
                loaded=", ".join(known),
            ),
        )
    form = _Form(
        row.form_id,
        row.version,
        row.target,
        list(row.target_types),
        _definition(session, row.id, row.definition_sha256),
    )
    if form.target != kind or ("*" not in form.target_types and target_type not in form.target_types):
        made_for = f"{form.target} ({', '.join(form.target_types)})"
        raise InvalidVisit(
            "form",
            f"form {form_id!r} is made for {made_for}, not this {kind.replace('_', ' ')}"
            + (f" of type {target_type}" if target_type else ""),
        )
    return form


def _current_version(session: Session, version_id: uuid.UUID) -> str:
    """Follow the edit chain from a version to the one nothing replaces."""
    current = session.execute(
        text("""
        WITH RECURSIVE chain AS (
          SELECT id, 0 AS depth FROM visits WHERE id = :id
          UNION ALL SELECT v.id, c.depth + 1 FROM visits v JOIN chain c ON v.replaces_id = c.id)
        SELECT id FROM chain ORDER BY depth DESC LIMIT 1"""),
        {"id": version_id},
    ).scalar()
    return str(current or version_id)


def sync_batch(session: Session, who: Principal, bodies: Any) -> list[SyncOutcome | IngestError]:
    """Each body on its own: one bad visit does not stop the others. A visit is refused before it
    writes anything, except by the ledger, so only those visits take a savepoint; the stored
    visits are read back together at the end (as the batch left them)."""
    if not isinstance(bodies, list):
        raise InvalidVisit("visits", "must be a list of visit bodies")
    if len(bodies) > MAX_BATCH:
        raise InvalidVisit("visits", f"at most {MAX_BATCH} visits per batch")
    stored: list[tuple[str, uuid.UUID] | IngestError] = []
    memo = _stored_digests(session, bodies)
    for body in bodies:
        try:
            stored.append(_store(session, who, body, memo, isolate=True))
        except (InvalidVisit, VisitForbidden, VisitConflict) as exc:
            stored.append(exc)
    _count_at_once(session, memo)
    ids = [r[1] for r in stored if isinstance(r, tuple)]
    # the new visits' answers came with their INSERTs; the others are read back as the batch left them
    found = {i: memo["created", str(i)] for i in ids if ("created", str(i)) in memo}
    found.update(visits_json(session, [i for i in ids if i not in found]))
    return [
        SyncOutcome(r[0], found.get(r[1]) or visit_json(session, r[1])) if isinstance(r, tuple) else r for r in stored
    ]
