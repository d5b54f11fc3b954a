"""pytest fixtures for the real services (load with ``pytest_plugins = ["tests.services.plugin"]``).

Session-scoped, shared by every test that asks:

- ``services_tmp``: the session's folder for service files (configs, data, logs);
- ``mosquitto``: an anonymous broker (:class:`MosquittoServer`);
- ``influxdb``: an ``influxd`` (:class:`InfluxDBServer`);
- ``postgres_database`` / ``postgres_url``: a fresh PostgreSQL database and its SQLAlchemy URL.

Function-scoped factories, for tests that need a broker or server of their own (an ACL, a
restart, a kill): ``mosquitto_factory`` and ``influxdb_factory``; what they started is stopped
when the test ends.

A missing server program is a setup *error* naming the Debian package, never a skip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer
from tests.services.postgres import PostgresDatabase
from tests.services.serial_pty import pty_pair

__all__ = ["pty_pair"]  # a fixture of serial_pty, registered here for every test


class MosquittoFactory(Protocol):
    """Starts a broker for one test; arguments as for :class:`MosquittoServer`."""

    def __call__(
        self,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        *,
        allow_anonymous: bool | None = None,
        extra_config: str = "",
        verbose: bool = False,
    ) -> MosquittoServer: ...


class InfluxDBFactory(Protocol):
    """Starts an ``influxd`` for one test."""

    def __call__(self) -> InfluxDBServer: ...


@pytest.fixture(scope="session")
def services_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's folder for service configs, data and logs."""
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def mosquitto(services_tmp: Path) -> Iterator[MosquittoServer]:
    """An anonymous Mosquitto for the whole session."""
    with MosquittoServer(services_tmp) as broker:
        yield broker


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """Start extra brokers (users, ACL, …) that are stopped at the end of the test."""
    stack = contextlib.ExitStack()

    def start(
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        *,
        allow_anonymous: bool | None = None,
        extra_config: str = "",
        verbose: bool = False,
    ) -> MosquittoServer:
        broker = MosquittoServer(
            tmp_path / "services",
            users,
            acl,
            allow_anonymous=allow_anonymous,
            extra_config=extra_config,
            verbose=verbose,
        )
        stack.callback(broker.stop)
        broker.start()
        return broker

    with stack:
        yield start


@pytest.fixture(scope="session")
def influxdb(services_tmp: Path) -> Iterator[InfluxDBServer]:
    """An ``influxd`` for the whole session; each test should use its own database name."""
    with InfluxDBServer(services_tmp) as server:
        yield server


@pytest.fixture
def influxdb_factory(tmp_path: Path) -> Iterator[InfluxDBFactory]:
    """Start extra ``influxd`` servers (to kill or restart) stopped at the end of the test."""
    stack = contextlib.ExitStack()

    def start() -> InfluxDBServer:
        server = InfluxDBServer(tmp_path / "services")
        stack.callback(server.stop)
        server.start()
        return server

    with stack:
        yield start


@pytest.fixture(scope="session")
def postgres_database(services_tmp: Path) -> Iterator[PostgresDatabase]:
    """A fresh ``eclor_test_<random>`` database for the session, dropped at the end."""
    with PostgresDatabase(services_tmp) as database:
        yield database


@pytest.fixture(scope="session")
def postgres_url(postgres_database: PostgresDatabase) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://…``) of the session's test database."""
    return postgres_database.url
