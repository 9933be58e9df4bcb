"""Imports: one row per file brought in (or refused), with its counts and its validation report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base

IMPORT_STATUSES = ("imported", "refused", "dry_run")


class Import(Base):
    """A file imported into one layer: who, what (name and SHA-256), what it changed, what was wrong.

    An ``imported`` row is written in the import's own transaction, so it exists exactly when the
    data do; ``refused`` and ``dry_run`` rows are written afterwards, in a transaction of their own.
    """

    __tablename__ = "imports"
    __table_args__ = (
        CheckConstraint("status IN ('imported','refused','dry_run','running','failed')", name="status"),
        Index("ix_imports_layer_started", "layer", "started_at"),
        Index("ix_imports_sha256", "sha256"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer: Mapped[str] = mapped_column(String(40), nullable=False)
    format: Mapped[str] = mapped_column(String(20), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    user_name: Mapped[str] = mapped_column(String(80), nullable=False)
    #: the signed-in user (none from the command line)
    user_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    inserted: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    #: [{row, field, value, reason}], at most MAX_STORED_PROBLEMS of them
    problems: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    problem_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    #: what was done to the file on the way in: columns converted, mapped, ignored; CRS; sheets
    notes: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    options: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    #: while an import runs out of process (migration 0024): its phase, rows read of about how many,
    #: when it last said so, and why it failed
    phase: Mapped[str | None] = mapped_column(String(10))
    rows_read: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    rows_estimated: Mapped[int | None] = mapped_column(Integer)
    progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
