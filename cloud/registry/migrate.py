"""Schema migrations, run from code: the cloud service calls :func:`upgrade` as it starts.

The Alembic environment lives in ``cloud/registry/migrations``; no ``alembic.ini`` is needed.
Each call runs in one transaction (SQLite and PostgreSQL both have transactional DDL), so a
failed migration leaves the schema as it was. On PostgreSQL the transaction first takes an
advisory lock, so that several workers starting at once migrate one after the other.

For developers, ``cloud/registry/alembic.ini`` drives the same environment from the command line
(new revisions with ``--autogenerate``); see its comments.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, select
from sqlalchemy import func as sql_func
from sqlalchemy.pool import NullPool

from cloud.registry.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = zlib.crc32(b"eclor.registry.migrations")
"""PostgreSQL advisory lock held while migrating."""

Target = str | URL | Engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the registry's environment, bound to ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(target: Target, revision: str = "head") -> None:
    """Migrate the registry at ``target`` (a URL or an engine) up to ``revision``."""
    with _migration_connection(target) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(target: Target, revision: str = "base") -> None:
    """Migrate down to ``revision``; ``"base"`` drops every registry table."""
    with _migration_connection(target) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(target: Target) -> str | None:
    """The revision the database is at, ``None`` before the first migration."""
    with _migration_connection(target) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


@contextmanager
def _migration_connection(target: Target) -> Iterator[Connection]:
    engine = target if isinstance(target, Engine) else make_engine(target, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(sql_func.pg_advisory_xact_lock(LOCK_KEY)))
            yield connection
    finally:
        if engine is not target:
            engine.dispose()
