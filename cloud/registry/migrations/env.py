"""Alembic environment of the registry.

From code (:mod:`cloud.registry.migrate`) the connection arrives in ``config.attributes`` inside
an open transaction. From the command line (``alembic -c cloud/registry/alembic.ini …``) the URL
comes from ``$ECLOR_REGISTRY_URL``, else from ``sqlalchemy.url`` in that file.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from cloud.registry.db import make_engine
from cloud.registry.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs by copying tables
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_url() -> None:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = os.environ.get("ECLOR_REGISTRY_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set ECLOR_REGISTRY_URL or sqlalchemy.url to the registry's database")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")

given = config.attributes.get("connection")
if isinstance(given, Connection):
    _run(given)
else:
    _run_from_url()
