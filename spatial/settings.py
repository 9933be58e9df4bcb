"""Typed settings read from ``SINHKE_*`` environment variables.

The same object reaches the web app, the jobs, the importers and the CLI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"SINHKE_{name}")
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Everything configurable. ``database_url`` None means: the private cluster."""

    database_url: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    secret_key: str = "dev-only-not-secret"
    pg_port: int = 54329
    database_name: str = "sinhke"
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    node_modules: Path = PROJECT_ROOT / "node_modules"
    #: send the session cookie over HTTPS only (set true behind TLS in production)
    cookie_secure: bool = False
    max_upload_mb: int = 64
    #: the field app warns when a GPS fix is less accurate than this (metres)
    field_max_accuracy_m: int = 50
    #: photos are resized on the phone until they are at most this large (KiB)
    field_photo_max_kb: int = 300
    #: where Cloud-Optimized GeoTIFFs of the raster catalogue live; None: ``data_dir / "rasters"``
    raster_dir: Path | None = None
    #: refuse rasters with more pixels than this (width x height x bands), whatever the file size
    raster_max_pixels: int = 250_000_000
    #: refuse rasters whose decompressed size (pixels x bytes per pixel), or whose file, is larger
    raster_max_bytes: int = 1024 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=_env("DATABASE_URL"),
            data_dir=Path(_env("DATA_DIR", str(PROJECT_ROOT / "var"))).resolve(),  # type: ignore[arg-type]
            secret_key=_env("SECRET_KEY", "dev-only-not-secret"),  # type: ignore[arg-type]
            pg_port=int(_env("PG_PORT", "54329")),  # type: ignore[arg-type]
            database_name=_env("DATABASE_NAME", "sinhke"),  # type: ignore[arg-type]
            timezone=_env("TIMEZONE", "Asia/Ho_Chi_Minh"),  # type: ignore[arg-type]
            default_locale=_env("DEFAULT_LOCALE", "vi"),  # type: ignore[arg-type]
            cookie_secure=(_env("COOKIE_SECURE", "false") or "").lower() in ("1", "true", "yes"),
            max_upload_mb=int(_env("MAX_UPLOAD_MB", "64")),  # type: ignore[arg-type]
            field_max_accuracy_m=int(_env("FIELD_MAX_ACCURACY_M", "50")),  # type: ignore[arg-type]
            field_photo_max_kb=int(_env("FIELD_PHOTO_MAX_KB", "300")),  # type: ignore[arg-type]
            raster_dir=Path(_env("RASTER_DIR")).resolve() if _env("RASTER_DIR") else None,  # type: ignore[arg-type]
            raster_max_pixels=int(_env("RASTER_MAX_PIXELS", "250000000")),  # type: ignore[arg-type]
            raster_max_bytes=int(_env("RASTER_MAX_BYTES", str(1024**3))),  # type: ignore[arg-type]
        )

    @property
    def raster_store(self) -> Path:
        """The folder of the catalogue's COGs (``SINHKE_RASTER_DIR``, else ``SINHKE_DATA_DIR/rasters``)."""
        return self.raster_dir or self.data_dir / "rasters"

    @property
    def uses_private_cluster(self) -> bool:
        return self.database_url is None

    def with_database(self, name: str) -> Settings:
        """The same settings pointed at another database of the same server."""
        if self.database_url is None:
            return replace(self, database_name=name)
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url).set(database=name)
        return replace(self, database_url=url.render_as_string(hide_password=False))
