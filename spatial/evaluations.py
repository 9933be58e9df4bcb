"""Reading the evaluate_models results for evaluators (tables, charts, downloads)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
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
    "computed_at",
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
        E.computed_at,
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


_MINIMUM = re.compile(r"needs at least (\d+) participants and (\d+)")


@dataclass(frozen=True)
class EvaluationCoverage:
    """What the reader's scope holds of the estimates, so a page can say the true reason when
    it shows none: the job never ran, the province lies outside the reader's communes, or their
    communes are below the minimum sample."""

    evaluated_at: datetime | None  # the last successful evaluate_models run (job runs are not scoped)
    province_rows: int  # province estimates the reader sees (none when scoped to communes)
    commune_rows: int  # the reader's communes × model types
    commune_estimates: int  # of them with an estimate
    min_treated: int | None  # the minimum sample the job applied, when a row says it
    min_control: int | None

    @property
    def below_minimum(self) -> int:
        return self.commune_rows - self.commune_estimates


def evaluation_coverage(
    session: Session, province: Sequence[dict[str, Any]], communes: Sequence[dict[str, Any]]
) -> EvaluationCoverage:
    """Coverage of the rows ``evaluation_rows`` gave this reader (one estimator's commune rows)."""
    evaluated_at = session.scalar(
        text("SELECT max(finished_at) FROM job_runs WHERE job = 'evaluate_models' AND status = 'succeeded'")
    )
    minimum = next(
        (m for r in communes if (m := _MINIMUM.search(str((r.get("detail") or {}).get("reason", ""))))), None
    )
    return EvaluationCoverage(
        evaluated_at=evaluated_at,
        province_rows=len(province),
        commune_rows=len(communes),
        commune_estimates=sum(1 for r in communes if r["status"] == "ok"),
        min_treated=int(minimum.group(1)) if minimum else None,
        min_control=int(minimum.group(2)) if minimum else None,
    )
