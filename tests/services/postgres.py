"""PostgreSQL for tests: a throw-away database on the local server, or a private cluster.

    with PostgresDatabase(tmp_path) as db:
        engine = sqlalchemy.create_engine(db.url)       # postgresql+psycopg://...

:class:`PostgresDatabase` picks its server by mode (argument, else ``$ECLOR_TEST_POSTGRES``):

- ``shared``: the server at ``$ECLOR_TEST_POSTGRES_ADMIN_URL`` (default
  ``postgresql://postgres@127.0.0.1:5432/postgres``);
- ``private``: a :class:`PostgresCluster` of its own;
- ``auto`` (default): ``shared`` when that server answers on its port, else ``private``.

Either way it creates ``eclor_test_<random>`` and, at the end, terminates that database's
connections and drops it. A test run killed with SIGKILL leaves its database behind; other
people's runs use the same server at the same time, so nothing drops databases it did not create.

:class:`PostgresCluster` runs ``initdb`` then the ``postgres`` server itself (not ``pg_ctl``,
which daemonizes: a direct child can be SIGKILLed by the chaos suite and cannot outlive the
test run). As root, both run as the ``postgres`` OS user (initdb refuses root), in a folder of
the system temp directory, because pytest's temp folders are private to root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import URL

from tests.services.ports import (
    LOOPBACK,
    MissingBinaryError,
    ServiceError,
    ServiceProcess,
    ServiceStartError,
    find_binary,
    free_port,
    log_tail,
    port_answers,
    primary_group,
    start_with_port_retry,
)

PACKAGE = "postgresql"
"""The Debian package providing ``initdb`` and ``postgres``."""

PostgresMode = Literal["auto", "shared", "private"]
_MODES: dict[str, PostgresMode] = {"auto": "auto", "shared": "shared", "private": "private"}
MODE_ENV = "ECLOR_TEST_POSTGRES"
ADMIN_URL_ENV = "ECLOR_TEST_POSTGRES_ADMIN_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SUPERUSER = "postgres"
_SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def _bin_dirs() -> list[str]:
    """``/usr/lib/postgresql/<major>/bin`` folders, newest major first."""
    return sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)


def _major_version(bin_dir: str) -> int:
    name = Path(bin_dir).parent.name
    return int(name) if name.isdigit() else 0


class PostgresCluster:
    """A private PostgreSQL server on ``127.0.0.1:<port>``, superuser ``postgres``, trust auth.

    ``initdb`` is a program name or path; ``postgres`` is taken from the same folder.
    ``os_user`` defaults to ``postgres`` when running as root, else the current user.
    ``stop()`` keeps the data (``restart()`` works); ``close()`` also deletes the folder.
    """

    host = LOOPBACK
    user = SUPERUSER

    def __init__(
        self,
        tmpdir: Path | str,
        *,
        port: int | None = None,
        initdb: str = "initdb",
        os_user: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.initdb = find_binary(initdb, PACKAGE, _bin_dirs())
        self.postgres = str(Path(self.initdb).resolve().parent / "postgres")
        if not os.access(self.postgres, os.X_OK):
            raise MissingBinaryError(self.postgres, PACKAGE)
        self.os_user = os_user if os_user is not None else _default_os_user()
        self.startup_timeout = startup_timeout
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.workdir = self._make_workdir(Path(tmpdir))
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "postgres.log"
        self._process = ServiceProcess(
            "postgres",
            [],
            self.log_path,
            cwd=self.workdir,
            user=self.os_user,
            stop_signal=signal.SIGINT,  # "fast" shutdown: roll back sessions, exit at once
        )

    @property
    def conninfo(self) -> str:
        """libpq URL of the ``postgres`` maintenance database."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """True while the postmaster is alive."""
        return self._process.running

    def start(self) -> None:
        """Run ``initdb`` the first time, start the server, wait until it accepts sessions."""
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        if self._fixed_port:
            self._start_once()
        else:
            start_with_port_retry(self._start_once, self._pick_new_port)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), SIGKILL after 10 s. Keeps the data. Idempotent."""
        self._process.stop()

    def kill(self) -> None:
        """SIGKILL the postmaster (crash recovery runs at the next start)."""
        self._process.kill()

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self._start_once()

    def close(self) -> None:
        """Stop and delete the cluster's folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as undo:
            undo.callback(self.close)  # a failed start leaves no process and no folder
            self.start()
            undo.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _make_workdir(self, tmpdir: Path) -> Path:
        if self.os_user is None:
            tmpdir.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="postgres-", dir=tmpdir))
        # The server's user must reach the folder; pytest's temp tree is private (0700) to us.
        workdir = Path(tempfile.mkdtemp(prefix="eclor-pg-"))
        os.chown(workdir, _uid_of(self.os_user), primary_group(self.os_user))
        return workdir

    def _initdb(self) -> None:
        argv = [
            self.initdb,
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        with self.log_path.open("ab") as log:
            start = log.tell()
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                user=self.os_user,
                check=False,
                timeout=120,
                group=primary_group(self.os_user) if self.os_user else None,
                extra_groups=[] if self.os_user else None,
            )
        if result.returncode != 0:
            raise ServiceStartError(
                f"initdb failed with status {result.returncode}; log tail ({self.log_path}):\n"
                f"{log_tail(self.log_path, start=start)}"
            )

    def _pick_new_port(self) -> None:
        self.port = free_port()

    def _start_once(self) -> None:
        argv = [
            self.postgres,
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            self.host,
            "-k",
            "",
        ]  # no Unix socket: pytest paths can exceed its 107-byte limit
        for setting in _SERVER_SETTINGS:
            argv += ["-c", setting]
        self._process.argv = argv
        self._process.start()
        self._process.wait_ready(self._accepts_sessions, self.startup_timeout, "accept connections")

    def _accepts_sessions(self) -> bool:
        if not port_answers(self.host, self.port):
            return False
        try:
            with psycopg.connect(self.conninfo, connect_timeout=2):
                return True
        except psycopg.OperationalError:  # e.g. "the database system is starting up"
            return False


def _uid_of(user: str) -> int:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        raise ServiceError(
            f"initdb refuses to run as root and there is no {user!r} OS user to run it as "
            f"(apt-get install {PACKAGE} creates one), or run the tests as a normal user"
        ) from None


def _default_os_user() -> str | None:
    return SUPERUSER if os.geteuid() == 0 else None


class PostgresDatabase:
    """A fresh database ``eclor_test_<random>`` for one test session (see the module docstring).

    :attr:`url` is its SQLAlchemy URL (``postgresql+psycopg://``), :attr:`conninfo` its libpq URL.
    """

    def __init__(
        self,
        tmpdir: Path | str,
        *,
        mode: PostgresMode | None = None,
        admin_url: str | None = None,
        initdb: str = "initdb",
        prefix: str = "eclor_test_",
    ) -> None:
        self.tmpdir = Path(tmpdir)
        self.mode: PostgresMode = mode if mode is not None else mode_from_environment()
        self.shared_admin_url = admin_url or os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL
        self.initdb = initdb
        self.dbname = f"{prefix}{secrets.token_hex(6)}"
        self.cluster: PostgresCluster | None = None
        self.admin_conninfo = self.shared_admin_url
        self._created = False

    @property
    def private(self) -> bool:
        """True when the database lives in a private cluster started for it."""
        return self.cluster is not None

    @property
    def conninfo(self) -> str:
        """libpq connection string of the test database (for psycopg)."""
        return make_conninfo(self.admin_conninfo, dbname=self.dbname)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database, ``postgresql+psycopg://user@host:port/db``."""
        return sqlalchemy_url(self.conninfo)

    def start(self) -> None:
        """Choose the server (starting a private cluster if needed) and create the database."""
        with contextlib.ExitStack() as undo:
            if self._wants_private():
                self.cluster = PostgresCluster(self.tmpdir, initdb=self.initdb)
                undo.callback(self.cluster.close)  # stop it again if anything below fails
                self.cluster.start()
                self.admin_conninfo = self.cluster.conninfo
            create_database(self.admin_conninfo, self.dbname)
            self._created = True
            undo.pop_all()

    def stop(self) -> None:
        """Drop the database (terminating its sessions first), then stop a private cluster."""
        try:
            if self._created:
                drop_database(self.admin_conninfo, self.dbname)
                self._created = False
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wants_private(self) -> bool:
        if self.mode != "auto":
            return self.mode == "private"
        return not server_answers(self.shared_admin_url)


def mode_from_environment() -> PostgresMode:
    """``$ECLOR_TEST_POSTGRES`` (auto, shared or private; default auto)."""
    value = os.environ.get(MODE_ENV, "").strip().lower() or "auto"
    mode = _MODES.get(value)
    if mode is None:
        raise ValueError(f"{MODE_ENV}={value!r}: expected one of {', '.join(_MODES)}")
    return mode


def server_answers(conninfo: str) -> bool:
    """True when the server named by ``conninfo`` accepts TCP connections (or has its socket)."""
    params = conninfo_to_dict(conninfo)
    host = str(params.get("host") or LOOPBACK)
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return Path(host, f".s.PGSQL.{port}").exists()
    return port_answers(host, port, timeout=1.0)


def _admin_connection(admin_conninfo: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(admin_conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise ServiceError(
            f"PostgreSQL at {_without_password(admin_conninfo)} refused the connection: {error}. "
            f"Set {ADMIN_URL_ENV} to a superuser URL, or {MODE_ENV}=private to start a private "
            f"cluster."
        ) from error


def _without_password(conninfo: str) -> str:
    params = conninfo_to_dict(conninfo)
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **params)


def create_database(admin_conninfo: str, dbname: str) -> None:
    """``CREATE DATABASE dbname`` through the maintenance connection."""
    with _admin_connection(admin_conninfo) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(admin_conninfo: str, dbname: str) -> None:
    """Terminate the database's sessions, then drop it (``WITH (FORCE)`` on PostgreSQL 13+)."""
    with _admin_connection(admin_conninfo) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
        force = sql.SQL(" WITH (FORCE)" if conn.info.server_version >= 130000 else "")
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(dbname), force))


def database_exists(admin_conninfo: str, dbname: str) -> bool:
    """True when ``dbname`` is listed in ``pg_database``."""
    with _admin_connection(admin_conninfo) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        return row is not None


def sqlalchemy_url(conninfo: str) -> str:
    """The ``postgresql+psycopg://`` URL for a libpq connection string (password included)."""
    params = conninfo_to_dict(conninfo)
    base = {"user", "password", "host", "port", "dbname"}
    url = URL.create(
        "postgresql+psycopg",
        username=_str_or_none(params.get("user")),
        password=_str_or_none(params.get("password")),
        host=_str_or_none(params.get("host")),
        port=int(str(params["port"])) if params.get("port") else None,
        database=_str_or_none(params.get("dbname")),
        query={key: str(value) for key, value in params.items() if key not in base},
    )
    return url.render_as_string(hide_password=False)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
