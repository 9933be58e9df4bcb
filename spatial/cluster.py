"""The private PostgreSQL cluster under ``var/pg`` and the database on any server.

``db up`` initialises the cluster on first use (initdb), starts it on its own
port and socket, creates the database and the ``postgis`` extension. With
``SINHKE_DATABASE_URL`` set none of this touches ``var/pg``: only the database
check and the extension are done on that server.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from spatial import SinhkeError
from spatial.settings import Settings

SUPERUSER = "sinhke"


class ClusterError(SinhkeError):
    """The database server cannot be set up or reached; the message says why and what to do."""


@dataclass(frozen=True)
class PgBinaries:
    bindir: Path
    major: int

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def find_binaries() -> PgBinaries:
    """The newest installed PostgreSQL server that has PostGIS, else the newest server."""
    found: list[tuple[bool, int, Path]] = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        major = int(bindir.parent.name)
        has_postgis = Path(f"/usr/share/postgresql/{major}/extension/postgis.control").exists()
        found.append((has_postgis, major, bindir))
    if not found and shutil.which("initdb") and shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout
        m = re.search(r"(\d+)", out)
        bindir = Path(os.path.realpath(shutil.which("initdb") or "initdb")).parent
        found.append((True, int(m.group(1)) if m else 0, bindir))
    if not found:
        raise ClusterError(
            "PostgreSQL server is not installed. Install it with:\n"
            "  sudo apt-get install -y postgresql postgresql-postgis"
        )
    found.sort()
    has_postgis, major, bindir = found[-1]
    return PgBinaries(bindir=bindir, major=major)


class PrivateCluster:
    """A cluster the project owns: data in var/pg, socket in var/run, log in var/log."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.datadir = settings.data_dir / "pg"
        self.logfile = settings.data_dir / "log" / "postgresql.log"
        self.port = settings.pg_port
        self.sockdir = self._socket_dir(settings.data_dir / "run")

    @staticmethod
    def _socket_dir(preferred: Path) -> Path:
        # Unix socket paths are limited to 107 bytes; fall back to /tmp for deep checkouts.
        if len(str(preferred)) + len("/.s.PGSQL.65535") < 100:
            return preferred
        return Path("/tmp") / f"sinhke-{abs(hash(str(preferred))) % 10**8}"

    # -- running commands as the right system user -------------------------------------
    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        if self._as_root:
            # PostgreSQL refuses to run as root: run it as the postgres system user.
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, capture_output=True, text=True, check=check)

    def _prepare_dirs(self) -> None:
        for d in (self.datadir, self.logfile.parent, self.sockdir):
            d.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ClusterError(
                    "running as root needs the 'postgres' system user, which the Debian "
                    "package postgresql creates: apt-get install -y postgresql"
                ) from exc
            for d in (self.datadir, self.logfile.parent, self.sockdir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            self.datadir.chmod(0o700)
            # the postgres user must be able to reach var/ through its parents
            p = self.settings.data_dir
            while p != p.parent:
                if p.stat().st_mode & 0o001 == 0:
                    raise ClusterError(
                        f"the postgres system user cannot enter {p}; "
                        f"run: chmod o+x {p}  (or set SINHKE_DATA_DIR to a reachable folder)"
                    )
                p = p.parent

    # -- state ----------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised:
            return False
        bins = find_binaries()
        return self._run([bins.tool("pg_ctl"), "status", "-D", str(self.datadir)], check=False).returncode == 0

    def url(self, database: str | None = None) -> str:
        db = database or self.settings.database_name
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{db}"

    # -- lifecycle ------------------------------------------------------------------------
    def init(self) -> bool:
        """initdb on first use; True when a new cluster was made."""
        bins = find_binaries()
        if self.initialised:
            have = int((self.datadir / "PG_VERSION").read_text().strip().split(".")[0])
            if have != bins.major:
                raise ClusterError(
                    f"{self.datadir} holds a PostgreSQL {have} cluster but the installed server is "
                    f"PostgreSQL {bins.major}. Either install postgresql-{have} "
                    f"(and postgresql-{have}-postgis-3), or move {self.datadir} away to start afresh "
                    "(its data would be lost unless you dump it with that version first)."
                )
            return False
        self._prepare_dirs()
        res = self._run(
            [
                bins.tool("initdb"),
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            check=False,
        )
        if res.returncode != 0:
            raise ClusterError(f"initdb failed:\n{res.stderr.strip() or res.stdout.strip()}")
        return True

    def start(self) -> None:
        bins = find_binaries()
        self.init()
        if self.running():
            return
        self._prepare_dirs()
        if _port_taken(self.port):
            raise ClusterError(
                f"port {self.port} on 127.0.0.1 is taken by another program, so the private "
                "PostgreSQL cannot start. Free it, or choose another port: "
                "SINHKE_PG_PORT=<port> (or point SINHKE_DATABASE_URL at a running server)."
            )
        opts = (
            f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=100 -c shared_buffers=256MB -c work_mem=64MB "
            "-c maintenance_work_mem=256MB -c fsync=on -c timezone=UTC"
        )
        res = self._run(
            [
                bins.tool("pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-o",
                opts,
            ],
            check=False,
        )
        if res.returncode != 0:
            tail = ""
            if self.logfile.exists():
                tail = "\n".join(self.logfile.read_text(errors="replace").splitlines()[-8:])
            raise ClusterError(f"PostgreSQL did not start (see {self.logfile}):\n{tail or res.stderr.strip()}")

    def stop(self) -> bool:
        if not self.running():
            return False
        bins = find_binaries()
        self._run([bins.tool("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.datadir)])
        return True


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def database_url(settings: Settings, database: str | None = None) -> str:
    """SQLAlchemy URL of the configured database (private cluster or SINHKE_DATABASE_URL)."""
    if settings.database_url is None:
        return PrivateCluster(settings).url(database)
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(settings: Settings, database: str | None = None, *, fresh: bool = False) -> None:
    """Create the database if missing (``fresh``: drop it first) and the postgis extension."""
    target = database or (
        settings.database_name if settings.database_url is None else _url_database(settings.database_url)
    )
    admin_url = _libpq(database_url(settings, "postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            if fresh:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(target))
                )
    except psycopg.OperationalError as exc:
        raise ClusterError(f"cannot reach the database server at {_safe(admin_url)}: {_first_line(exc)}") from exc
    with psycopg.connect(_libpq(database_url(settings, target)), autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.errors.FeatureNotSupported as exc:
            raise _postgis_missing(exc) from exc
        except psycopg.errors.UndefinedFile as exc:
            raise _postgis_missing(exc) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ClusterError(
                f"the database user may not create the postgis extension in {target!r}; "
                "ask the server's administrator to run: CREATE EXTENSION postgis;"
            ) from exc


def _postgis_missing(exc: Exception) -> ClusterError:
    major = ""
    try:
        major = str(find_binaries().major)
    except ClusterError:
        pass
    pkg = f"postgresql-{major}-postgis-3" if major else "postgresql-postgis"
    return ClusterError(
        f"PostGIS is missing on the database server ({_first_line(exc)}). "
        f"Install it with: sudo apt-get install -y {pkg}"
    )


def _url_database(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or "postgres"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def up(settings: Settings) -> str:
    """Start (private cluster) or check (external server), create database and postgis."""
    if settings.uses_private_cluster:
        cluster = PrivateCluster(settings)
        cluster.start()
    ensure_database(settings)
    return database_url(settings)


def wait_ready(settings: Settings, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(_libpq(database_url(settings, "postgres")), connect_timeout=3):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
