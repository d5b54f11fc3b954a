"""Registry schema and engine, on SQLite and PostgreSQL: migrations up and down, migrated schema
equal to the models, aware datetimes, SQLite settings, savepoints.

Also home of :func:`registry_engine` and :func:`clean_sessions`, which the other
``test_registry_*`` modules use to run the same tests on both databases.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from cloud.errors import Conflict
from cloud.registry import (
    Base,
    Device,
    add_commune,
    current_revision,
    downgrade,
    enroll_gateway,
    get_gateway,
    head_revision,
    list_communes,
    make_engine,
    make_session_factory,
    record_gateway_seen,
    sqlite_url,
    upgrade,
)

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgresql"]
NOW = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)


def registry_engine(request: pytest.FixtureRequest, folder: Path) -> Iterator[Engine]:
    """An empty database for ``request.param``: a SQLite file in ``folder``, or a schema of its
    own in the session's PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(folder / f"registry-{secrets.token_hex(4)}.sqlite"))
        yield engine
        engine.dispose()
        return
    url: str = request.getfixturevalue("postgres_url")
    schema = f"registry_{secrets.token_hex(6)}"
    admin = make_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(url, connect_args={"options": f"-c search_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def clean_sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated ``engine``; every registry row is deleted afterwards."""
    yield make_session_factory(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from registry_engine(request, tmp_path)


def schema_diff(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


# -- migrations ---------------------------------------------------------------------------------


def test_upgrade_creates_the_models_schema(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert schema_diff(engine) == []


def test_the_comparison_would_see_a_difference(engine: Engine) -> None:
    upgrade(engine)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["commune"].append_column(Column("population", Integer, nullable=True))
    assert [d[0] for d in schema_diff(engine, changed)] == ["add_column"]


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    upgrade(engine)
    with make_session_factory(engine).begin() as session:
        add_commune(session, "57683", "Villerupt")
    downgrade(engine, "base")
    assert table_names(engine) == {"alembic_version"}
    assert current_revision(engine) is None
    upgrade(engine)
    assert schema_diff(engine) == []
    with make_session_factory(engine)() as session:
        assert list_communes(session) == []


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_upgrade_from_a_url(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "by-url.sqlite")
    upgrade(url.render_as_string())
    assert current_revision(url) == head_revision()


def test_workers_starting_together_migrate_once(engine: Engine) -> None:
    """Each worker has its own engine; the lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) puts
    them one after the other, and the later ones find the schema up to date."""

    def worker() -> None:
        own = make_engine(engine.url, connect_args=_connect_args(engine))
        try:
            upgrade(own)
        finally:
            own.dispose()

    with ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(worker) for _ in range(4)]:
            done.result(timeout=60)  # re-raises a worker's error here
    assert current_revision(engine) == head_revision()


def _connect_args(engine: Engine) -> dict[str, str]:
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    return {"options": f"-c search_path={schema}"}


# -- types and engine settings --------------------------------------------------------------


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    upgrade(engine)
    return make_session_factory(engine)


def test_aware_datetimes_round_trip_as_utc(sessions: sessionmaker[Session]) -> None:
    paris_winter = timezone(timedelta(hours=1))
    seen = datetime(2026, 11, 28, 22, 30, 15, 123456, tzinfo=paris_winter)
    with sessions.begin() as session:
        enroll_gateway(session, "cab-01", now=NOW)
        record_gateway_seen(session, "cab-01", seen)
    with sessions() as session:
        gateway = get_gateway(session, "cab-01")
        assert gateway.last_seen_at == seen
        assert gateway.last_seen_at is not None
        assert gateway.last_seen_at.tzinfo is UTC
        assert gateway.last_seen_at.hour == 21
        assert gateway.last_seen_at.microsecond == 123456
        assert gateway.enrolled_at == NOW
        assert gateway.enrolled_at.tzinfo is UTC


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(ValueError, match="naive"):
        enroll_gateway(session, "cab-01", now=NOW.replace(tzinfo=None))
    with sessions.begin() as session:
        enroll_gateway(session, "cab-01", now=NOW)
    with sessions() as session:
        session.add(
            Device(gateway_id="cab-01", device_id="m1", profile="sdm630", tags={}, created_at=NOW)
        )
        get_gateway(session, "cab-01").last_seen_at = datetime(2026, 1, 1)
        with pytest.raises(StatementError, match="naive"):
            session.flush()


def test_a_conflict_leaves_the_transaction_usable(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_commune(session, "57683", "Villerupt")
        with pytest.raises(Conflict, match="already exists"):
            add_commune(session, "57683", "Villerupt")
        add_commune(session, "57038", "Audun-le-Tiche")
    with sessions() as session:
        assert [c.insee_code for c in list_communes(session)] == ["57038", "57683"]


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add(
            Device(gateway_id="nowhere", device_id="m1", profile="sdm630", tags={}, created_at=NOW)
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_sqlite_settings(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "settings.sqlite"))
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 2,
        "busy_timeout": 30000,
    }


def test_postgresql_settings(request: pytest.FixtureRequest) -> None:
    engine = make_engine(request.getfixturevalue("postgres_url"))
    with engine.connect() as connection:
        zone = connection.execute(text("SHOW timezone")).scalar_one()
        name = connection.execute(text("SHOW application_name")).scalar_one()
    engine.dispose()
    assert (zone, name) == ("UTC", "eclor-cloud")
    assert engine.pool._pre_ping
