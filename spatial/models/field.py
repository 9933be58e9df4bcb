"""Field work: versioned form definitions (from XLSForm) and the visits filled with them."""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, Edited

#: what a form is filled about; a visit names exactly one such thing
FORM_TARGETS = ("livelihood_model", "infrastructure_work", "water_scheme")
#: a submission's review, as KoboToolbox has it; a visit nobody reviewed yet is "received"
REVIEW_STATUSES = ("received", "approved", "on_hold", "rejected")


class FormDefinition(Base, Edited):
    """One version of one form, parsed from an XLSForm; never changed once visits use it."""

    __tablename__ = "form_definitions"
    __table_args__ = (
        UniqueConstraint("form_id", "version", name="uq_form_definitions_form_id_version"),
        CheckConstraint("target IN ('livelihood_model','infrastructure_work','water_scheme')", name="target"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[str] = mapped_column(String(60), nullable=False)
    version: Mapped[str] = mapped_column(String(40), nullable=False)
    target: Mapped[str] = mapped_column(String(20), nullable=False)
    #: model or work types the form is for; ['*'] for any type of the target
    target_types: Mapped[list[str]] = mapped_column(ARRAY(String(30)), nullable=False)
    title_vi: Mapped[str] = mapped_column(String(200), nullable=False)
    title_en: Mapped[str] = mapped_column(String(200), nullable=False)
    #: the parsed definition both validators run on (spatial/forms.py, static/field/validate.js)
    definition: Mapped[dict] = mapped_column(JSONB, nullable=False)
    definition_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    source_name: Mapped[str] = mapped_column(String(200), nullable=False)
    source_sha256: Mapped[str] = mapped_column(String(64), nullable=False)


class Visit(Base, Edited):
    """One filled form about a model, work or water scheme, as the device sent it.

    The id is the device's UUID. An edit is a new row with its own id that names the
    version it replaces (``replaces_id``, ODK's deprecatedID); ``root_id`` is the first
    version's id and a version is current while nothing replaces it.
    """

    __tablename__ = "visits"
    __table_args__ = (
        ForeignKeyConstraint(
            ["form_id", "form_version"],
            ["form_definitions.form_id", "form_definitions.version"],
            name="fk_visits_form_id_form_definitions",
        ),
        UniqueConstraint("replaces_id", name="uq_visits_replaces_id"),
        CheckConstraint("num_nonnulls(model_id, work_id, scheme_id) = 1", name="one_target"),
        CheckConstraint("accuracy_m IS NULL OR accuracy_m >= 0", name="accuracy_m"),
        CheckConstraint("(replaces_id IS NULL) = (version = 1)", name="version"),
        Index("ix_visits_geom", "geom", postgresql_using="gist"),
        Index("ix_visits_model_visited", "model_id", "visited_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("livelihood_models.id"))
    work_id: Mapped[int | None] = mapped_column(ForeignKey("infrastructure_works.id"), index=True)
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("water_schemes.id"), index=True)
    #: the target's commune: what row-level security scopes visits by
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), nullable=False, index=True)
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    form_id: Mapped[str] = mapped_column(String(60), nullable=False)
    form_version: Mapped[str] = mapped_column(String(40), nullable=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    answers: Mapped[dict] = mapped_column(JSONB, nullable=False)
    #: SHA-256 of the canonical request body: an identical re-send is recognised by it
    body_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("visits.id"))
    root_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    submitted_by: Mapped[str] = mapped_column(String(80), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class VisitPhoto(Base):
    """The photo taken with a visit: resized and size-capped on the phone, checked again here.

    Kept apart from ``visits`` so the audit trail and visit listings do not carry image bytes;
    visible exactly when its visit is (row-level security follows the visit).
    """

    __tablename__ = "visit_photos"
    __table_args__ = (CheckConstraint("content_type IN ('image/jpeg','image/png','image/webp')", name="content_type"),)
    visit_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(20), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    bytes: Mapped[int] = mapped_column(Integer, nullable=False)


class VisitReview(Base, Edited):
    """A reviewer's verdict on one version of a visit (a correction is a new version, received
    again). Who and when are ``updated_by``/``updated_at``; every change is in the audit trail;
    visible exactly when its visit is (row-level security follows the visit)."""

    __tablename__ = "visit_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('received','approved','on_hold','rejected')", name="status"),
        Index("ix_visit_reviews_status", "status"),
    )
    visit_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(9), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
