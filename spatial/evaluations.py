"""Reading the evaluate_models results for evaluators (tables, charts, downloads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.models import MODEL_TYPES, AdminUnit
from spatial.models import ModelEvaluation as E

LEVELS = ("province", "commune")
COLUMNS = (
    "code",
    "name",
    "level",
    "model_type",
    "estimator",
    "status",
    "att",
    "se",
    "ci_low",
    "ci_high",
    "pretest_p",
    "n_treated",
    "n_control",
)


def evaluation_rows(
    session: Session, level: str = "province", model_type: str | None = None, *, with_geometry: bool = False
) -> list[dict[str, Any]]:
    """Estimates per area and model type (VND per person per month), newest run."""
    if level not in LEVELS:
        raise ParameterError("level", f"unknown level {level!r}", list(LEVELS))
    if model_type is not None and model_type not in ("all", *MODEL_TYPES):
        raise ParameterError("model_type", f"unknown model type {model_type!r}", ["all", *MODEL_TYPES])
    cols = [
        AdminUnit.code,
        AdminUnit.name,
        AdminUnit.level,
        E.model_type,
        E.estimator,
        E.status,
        E.att,
        E.se,
        E.ci_low,
        E.ci_high,
        E.pretest_p,
        E.n_treated,
        E.n_control,
        E.detail,
    ]
    if with_geometry:
        cols.append(AdminUnit.geom.ST_AsBinary().label("wkb"))
    q = (
        select(*cols)
        .join(AdminUnit, AdminUnit.id == E.unit_id)
        .where(AdminUnit.level == level)
        .order_by(AdminUnit.code, E.model_type, E.estimator)
    )
    if model_type:
        q = q.where(E.model_type == model_type)
    return [dict(r._mapping) for r in session.execute(q)]
