"""Read side of field work: the form definitions devices fetch, and visits as JSON.

Scope is PostgreSQL's: under the application role a visit outside the caller's communes is
simply not there (form definitions are programme-wide reference data).
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, func, select, text
from sqlalchemy.orm import Session, aliased

from spatial import NotFound, ParameterError
from spatial.models import FormDefinition, InfrastructureWork, LivelihoodModel, Visit, VisitPhoto, WaterScheme

#: body key → (target kind, table) for the things a visit can be about
TARGETS: dict[str, tuple[str, Any]] = {
    "model": ("livelihood_model", LivelihoodModel),
    "work": ("infrastructure_work", InfrastructureWork),
    "water_scheme": ("water_scheme", WaterScheme),
}
MAX_VISITS = 1000


def _form_json(f: FormDefinition) -> dict[str, Any]:
    return {
        "form": f.form_id,
        "version": f.version,
        "target": f.target,
        "target_types": f.target_types,
        "title": {"vi": f.title_vi, "en": f.title_en},
        "definition": f.definition,
        "loaded_at": f.created_at.isoformat(),
    }


def current_forms(session: Session) -> list[dict[str, Any]]:
    """The latest loaded version of every form."""
    latest = select(func.max(FormDefinition.id)).group_by(FormDefinition.form_id)
    rows = session.scalars(select(FormDefinition).where(FormDefinition.id.in_(latest)).order_by(FormDefinition.form_id))
    return [_form_json(f) for f in rows]


def form_versions(session: Session) -> list[dict[str, Any]]:
    """Every loaded version of every form, newest first within a form, with the visits filled in it."""
    visits = (
        select(func.count())
        .select_from(Visit)
        .where(Visit.form_id == FormDefinition.form_id, Visit.form_version == FormDefinition.version)
        .scalar_subquery()
    )
    latest = select(func.max(FormDefinition.id)).group_by(FormDefinition.form_id).scalar_subquery()
    rows = session.execute(
        select(FormDefinition, visits.label("visits"), FormDefinition.id.in_(latest).label("current")).order_by(
            FormDefinition.form_id, FormDefinition.id.desc()
        )
    )
    return [
        {
            "form": f.form_id,
            "version": f.version,
            "current": bool(current),
            "title": {"vi": f.title_vi, "en": f.title_en},
            "target": f.target,
            "target_types": list(f.target_types),
            "fields": sum(1 for _ in _fields(f.definition)),
            "source_name": f.source_name,
            "source_sha256": f.source_sha256,
            "loaded_by": f.created_by,
            "loaded_at": f.created_at,
            "visits": n,
        }
        for f, n, current in rows
    ]


def _fields(definition: dict[str, Any]) -> list[Any]:
    return [f for f in definition.get("fields", []) if f.get("type") != "note"]


def form_source(session: Session, form_id: str, version: str) -> tuple[str, str]:
    """(file name, SHA-256) of the XLSForm a version was loaded from."""
    f = session.scalar(
        select(FormDefinition).where(FormDefinition.form_id == form_id, FormDefinition.version == version)
    )
    if f is None:
        raise NotFound(f"no form {form_id!r} version {version!r}")
    return f.source_name, f.source_sha256


def form_version(session: Session, form_id: str, version: str) -> dict[str, Any]:
    """One version of one form (a device may hold visits filled with an older one)."""
    f = session.scalar(
        select(FormDefinition).where(FormDefinition.form_id == form_id, FormDefinition.version == version)
    )
    if f is None:
        raise NotFound(f"no form {form_id!r} version {version!r}")
    return _form_json(f)


_PARTICIPANTS = text("""
    SELECT coalesce(json_object_agg(t.code, t.households), '{}')::text FROM (
      SELECT m.code, json_agg(json_build_object('code', h.code, 'head', h.head_name, 'village', v.name)
                              ORDER BY h.code) AS households
      FROM livelihood_models m
      JOIN model_participants p ON p.model_id = m.id AND p.left_on IS NULL
      JOIN households h ON h.id = p.household_id AND h.deleted_at IS NULL
      LEFT JOIN villages v ON v.id = h.village_id
      WHERE m.deleted_at IS NULL
      GROUP BY m.code) t""")


def participating_households(session: Session) -> str:
    """The households now in each model, as JSON text ``{model code: [{code, head, village}]}``:
    the field app's household pick-list, kept on the phone with the models. Scope is
    PostgreSQL's (only the caller's communes); PostgreSQL writes the JSON."""
    return str(session.execute(_PARTICIPANTS).scalar_one())


@cache
def _visit_select():
    """The visit rows as visit_json gives them; built once (a statement is immutable, ``where``
    makes a new one)."""
    m, w, s = LivelihoodModel, InfrastructureWork, WaterScheme
    successor = aliased(Visit)
    return (
        select(
            Visit,
            m.code.label("model"),
            w.code.label("work"),
            s.code.label("water_scheme"),
            func.ST_AsGeoJSON(Visit.geom, 7).label("location"),
            ~exists().where(successor.replaces_id == Visit.id).label("current"),
            exists().where(VisitPhoto.visit_id == Visit.id).label("has_photo"),
        )
        .outerjoin(m, m.id == Visit.model_id)
        .outerjoin(w, w.id == Visit.work_id)
        .outerjoin(s, s.id == Visit.scheme_id)
    )


def stored_visit_json(row: Any) -> dict[str, Any]:
    """A row of the visit statement (``stored_visit``) as the API gives a visit."""
    v: Visit = row.Visit
    target = next(k for k in TARGETS if getattr(row, k) is not None)
    return {
        "id": str(v.id),
        target: getattr(row, target),
        "visited_at": v.visited_at.isoformat(),
        "form": v.form_id,
        "form_version": v.form_version,
        "location": json.loads(row.location) if row.location else None,
        "accuracy_m": v.accuracy_m,
        "answers": v.answers,
        "replaces": str(v.replaces_id) if v.replaces_id else None,
        "version": v.version,
        "root": str(v.root_id),
        "current": row.current,
        "submitted_by": v.submitted_by,
        "received_at": v.received_at.isoformat(),
        "photo": f"/api/visits/{v.id}/photo" if row.has_photo else None,
    }


#: what a new visit's INSERT returns, so the answer to its sync needs no read-back (new_visit_json)
NEW_VISIT_RETURNING = (
    Visit.id,
    Visit.visited_at,
    Visit.received_at,
    Visit.accuracy_m,
    Visit.answers,
    func.ST_AsGeoJSON(Visit.geom, 7).label("location"),
)


def new_visit_json(row: Any, values: dict[str, Any], target: str, code: str, has_photo: bool) -> dict[str, Any]:
    """A visit just inserted, as ``visit_json`` gives it, from the INSERT's ``NEW_VISIT_RETURNING``
    row and the values it was given: a new id is current (a successor names a stored version)."""
    return {
        "id": str(row.id),
        target: code,
        "visited_at": row.visited_at.isoformat(),
        "form": values["form_id"],
        "form_version": values["form_version"],
        "location": json.loads(row.location) if row.location else None,
        "accuracy_m": row.accuracy_m,
        "answers": row.answers,
        "replaces": str(values["replaces_id"]) if values["replaces_id"] else None,
        "version": values["version"],
        "root": str(values["root_id"]),
        "current": True,
        "submitted_by": values["submitted_by"],
        "received_at": row.received_at.isoformat(),
        "photo": f"/api/visits/{row.id}/photo" if has_photo else None,
    }


@cache
def _visit_by_id():  # the statement and its cache key made once, not per request
    return _visit_select().where(Visit.id == bindparam("visit_id"))


def stored_visit(session: Session, visit_id: uuid.UUID) -> Any | None:
    """The stored row of a visit id in the caller's scope (its ``Visit.body_sha256`` says what was
    sent), for ``stored_visit_json``; None when there is none."""
    return session.execute(_visit_by_id(), {"visit_id": visit_id}).first()


def visit_json(session: Session, visit_id: uuid.UUID | str) -> dict[str, Any]:
    try:
        vid = uuid.UUID(str(visit_id))
    except ValueError as exc:
        raise NotFound(f"no visit {visit_id!r}") from exc
    row = stored_visit(session, vid)
    if row is None:
        raise NotFound(f"no visit {visit_id!r}")
    return stored_visit_json(row)


def visits_json(session: Session, visit_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Several visits in one statement, by id (those in scope)."""
    if not visit_ids:
        return {}
    rows = session.execute(_visit_select().where(Visit.id.in_(set(visit_ids))))
    return {row.Visit.id: stored_visit_json(row) for row in rows}


def visit_photo(session: Session, visit_id: str) -> tuple[str, bytes]:
    """A visit's photo (content type, bytes); NotFound when the visit has none or is out of scope."""
    try:
        vid = uuid.UUID(str(visit_id))
    except ValueError as exc:
        raise NotFound(f"no visit {visit_id!r}") from exc
    photo = session.get(VisitPhoto, vid)
    if photo is None:
        raise NotFound(f"visit {visit_id} has no photo")
    return photo.content_type, photo.data


def visits_of(session: Session, args: dict[str, str]) -> dict[str, Any]:
    """Visits of one model, work or scheme (``model=CODE``, ``work=``, ``water_scheme=``),
    newest first; current versions only unless ``history=true``."""
    given = [k for k in TARGETS if args.get(k)]
    if len(given) != 1:
        raise ParameterError("model", "name exactly one of model, work or water_scheme by its code", list(TARGETS))
    key = given[0]
    kind, table = TARGETS[key]
    target_id = session.scalar(select(table.id).where(table.code == args[key]))
    if target_id is None:
        raise NotFound(f"no {kind.replace('_', ' ')} {args[key]!r}")
    history = args.get("history", "false")
    if history not in ("true", "false"):
        raise ParameterError("history", "true or false", ["true", "false"])
    column = {"model": Visit.model_id, "work": Visit.work_id, "water_scheme": Visit.scheme_id}[key]
    q = _visit_select().where(column == target_id)
    if history == "false":
        successor = aliased(Visit)
        q = q.where(~exists().where(successor.replaces_id == Visit.id))
    q = q.order_by(Visit.visited_at.desc(), Visit.version.desc()).limit(MAX_VISITS)
    return {key: args[key], "visits": [stored_visit_json(r) for r in session.execute(q)]}
