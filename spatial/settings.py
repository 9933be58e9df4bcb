"""Typed settings read from ``SINHKE_*`` environment variables.

The same object reaches the web app, the jobs, the importers and the CLI.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from spatial import SinhkeError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(SinhkeError):
    """A SINHKE_ environment variable that cannot be read as its setting."""


def _env(name: str) -> str | None:
    value = os.environ.get(f"SINHKE_{name}")
    return value if value not in (None, "") else None


def _text(name: str, default: str) -> str:
    return _env(name) or default


def _int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"SINHKE_{name} must be a whole number, not {value!r}") from None


def _path(name: str) -> Path | None:
    value = _env(name)
    return Path(value).resolve() if value is not None else None


def _url(name: str) -> str | None:
    """An http(s) URL with a host, or None when unset."""
    value = _env(name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"SINHKE_{name} must be an http(s) URL, not {value!r}")
    return value


def _flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    """Everything configurable. ``database_url`` None means: the private cluster."""

    database_url: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    #: signs session cookies and CSRF tokens; None: a random key generated once and kept in
    #: ``data_dir/secret_key`` (fine on one machine; ``sinhke serve`` beyond 127.0.0.1 wants it set)
    secret_key: str | None = None
    pg_port: int = 54329
    database_name: str = "sinhke"
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    node_modules: Path = PROJECT_ROOT / "node_modules"
    #: send the session cookie over HTTPS only (set true behind TLS in production)
    cookie_secure: bool = False
    max_upload_mb: int = 64
    #: how many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: trust none,
    #: so the client address is the socket's; 1 behind one nginx); login limits count per client address
    trusted_proxies: int = 0
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
    #: connections each process keeps open to the database (as many again in overflow): at least the
    #: threads of a web worker, so a request never waits for one
    db_pool_size: int = 8
    #: sensor notifications: the SMTP server (None: no e-mail), the sender, the webhook of an SMS or
    #: Zalo OA gateway (None: none) and the key its HMAC-SHA256 signature is made with, and the
    #: address the links in a notification start with
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "sinhke@localhost"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    public_url: str = "http://127.0.0.1:5000"
    #: a MapLibre style (JSON URL) drawn under the map's layers, e.g. the province's tile server;
    #: None: a basemap drawn from sinhke's own layers (works offline). Its origin is allowed by the
    #: Content Security Policy, so its tiles, glyphs and sprites should come from that origin too
    basemap_style_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=_env("DATABASE_URL"),
            data_dir=_path("DATA_DIR") or (PROJECT_ROOT / "var").resolve(),
            secret_key=_env("SECRET_KEY"),
            pg_port=_int("PG_PORT", 54329),
            database_name=_text("DATABASE_NAME", "sinhke"),
            timezone=_text("TIMEZONE", "Asia/Ho_Chi_Minh"),
            default_locale=_text("DEFAULT_LOCALE", "vi"),
            cookie_secure=_flag("COOKIE_SECURE"),
            max_upload_mb=_int("MAX_UPLOAD_MB", 64),
            trusted_proxies=_int("TRUSTED_PROXIES", 0),
            field_max_accuracy_m=_int("FIELD_MAX_ACCURACY_M", 50),
            field_photo_max_kb=_int("FIELD_PHOTO_MAX_KB", 300),
            raster_dir=_path("RASTER_DIR"),
            raster_max_pixels=_int("RASTER_MAX_PIXELS", 250_000_000),
            raster_max_bytes=_int("RASTER_MAX_BYTES", 1024**3),
            db_pool_size=_int("DB_POOL_SIZE", 8),
            smtp_host=_env("SMTP_HOST"),
            smtp_port=_int("SMTP_PORT", 25),
            mail_from=_text("MAIL_FROM", "sinhke@localhost"),
            webhook_url=_env("WEBHOOK_URL"),
            webhook_secret=_env("WEBHOOK_SECRET"),
            public_url=_text("PUBLIC_URL", "http://127.0.0.1:5000"),
            basemap_style_url=_url("BASEMAP_STYLE_URL"),
        )

    def environment(self) -> dict[str, str]:
        """These settings as the ``SINHKE_*`` variables ``from_env`` reads, for a child process
        (a job started from /admin/jobs) that must work on the same database and files."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("extra", "node_modules") or value is None:
                continue
            out[f"SINHKE_{f.name.upper()}"] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    def signing_key(self) -> str:
        """``secret_key``, or this installation's own generated key (made on first use, mode 0600)."""
        if self.secret_key is not None:
            return self.secret_key
        path = self.data_dir / "secret_key"
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:  # two workers starting at once: the first one's key wins, the other reads it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        return key

    @property
    def raster_store(self) -> Path:
        """The folder of the catalogue's COGs (``SINHKE_RASTER_DIR``, else ``SINHKE_DATA_DIR/rasters``)."""
        return self.raster_dir or self.data_dir / "rasters"

    @property
    def form_store(self) -> Path:
        """The folder of the XLSForm files of every loaded form version (``SINHKE_DATA_DIR/forms``)."""
        return self.data_dir / "forms"

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
