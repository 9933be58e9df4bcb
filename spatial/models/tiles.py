"""Vector-tile bookkeeping: a data version per tile layer, and the server-side tile cache."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base


class LayerVersion(Base):
    """Moved by statement-level triggers on every table a layer reads (migration 0011)."""

    __tablename__ = "layer_versions"
    layer: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class TileCache(Base):
    """A rendered tile for one scope (``sinhke_scope_key()``), valid while its layer's version stands."""

    __tablename__ = "tile_cache"
    layer: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    params: Mapped[str] = mapped_column(String(200), primary_key=True)
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    etag: Mapped[str] = mapped_column(String(40), nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
