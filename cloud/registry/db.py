"""Engines and sessions for the registry: synchronous SQLAlchemy, SQLite or PostgreSQL.

Synchronous on purpose: registry work is a few short statements per request or message; the API
runs it in its thread pool and the ingest from its MQTT thread (or ``asyncio.to_thread``).

SQLite (the default store) is opened in WAL mode with foreign keys on and ``synchronous=FULL`` (a
committed row survives a power cut; the registry writes little). The driver's own transaction
handling is turned off and every transaction starts with ``BEGIN IMMEDIATE``, emitted here:

- SAVEPOINTs (typed conflicts inside a larger transaction) and transactional DDL (migrations)
  then work as on PostgreSQL;
- SQLite has one writer at a time. A transaction that reads and then writes would fail at once
  ("database is locked") if another writer got in between; taking the write lock at ``BEGIN``
  makes it wait its turn instead, up to the busy timeout. The price is that transactions run one
  after the other, reads included: they are short, and SQLite serves small deployments.
  PostgreSQL serves the rest.

PostgreSQL connections are checked before use (``pool_pre_ping``) and run in UTC.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_S = 30.0
APPLICATION_NAME = "eclor-cloud"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; a bare ``postgresql://`` (or ``postgres://``) gets the psycopg 3 driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_url(path: Path) -> URL:
    """The URL of the SQLite registry in file ``path``."""
    return URL.create("sqlite+pysqlite", database=str(path))


def make_engine(url: str | URL, *, echo: bool = False, **options: Any) -> Engine:
    """An engine for ``url`` with the registry's settings; ``options`` go to ``create_engine``."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo, options)
    if backend == "postgresql":
        options.setdefault("pool_pre_ping", True)
        connect_args = options["connect_args"] = dict(options.get("connect_args", {}))
        connect_args.setdefault("application_name", APPLICATION_NAME)
        connect_args["options"] = f"-c timezone=UTC {connect_args.get('options', '')}".strip()
    return create_engine(parsed, echo=echo, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_engine(url: URL, echo: bool, options: dict[str, Any]) -> Engine:
    connect_args = options["connect_args"] = dict(options.get("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, echo=echo, **options)
    in_memory = url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_connection, sqlite3.Connection)
        dbapi_connection.isolation_level = None  # BEGIN is emitted by _on_begin
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
