"""Registry column types and URLs, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from cloud.registry.db import normalize_url, sqlite_url
from cloud.registry.types import UTCDateTime

PARIS_SUMMER = timezone(timedelta(hours=2))
SQLITE = create_engine("sqlite://").dialect
POSTGRESQL = create_engine("postgresql+psycopg://eclor@localhost/eclor").dialect  # no connection


def test_utc_datetime_binds_utc() -> None:
    moment = datetime(2026, 6, 21, 23, 30, tzinfo=PARIS_SUMMER)
    kind = UTCDateTime()
    on_sqlite = kind.process_bind_param(moment, SQLITE)
    on_postgres = kind.process_bind_param(moment, POSTGRESQL)
    assert on_sqlite == datetime(2026, 6, 21, 21, 30)
    assert on_sqlite is not None
    assert on_sqlite.tzinfo is None
    assert on_postgres == moment
    assert on_postgres is not None
    assert on_postgres.tzinfo is UTC
    assert kind.process_bind_param(None, SQLITE) is None


def test_utc_datetime_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 6, 21), SQLITE)


def test_utc_datetime_reads_aware_utc() -> None:
    kind = UTCDateTime()
    stored = datetime(2026, 6, 21, 21, 30)
    assert kind.process_result_value(stored, SQLITE) == stored.replace(tzinfo=UTC)
    from_pg = kind.process_result_value(
        datetime(2026, 6, 21, 23, 30, tzinfo=PARIS_SUMMER), POSTGRESQL
    )
    assert from_pg is not None
    assert from_pg.tzinfo is UTC
    assert from_pg.hour == 21


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@db/eclor", "postgresql+psycopg"),
        ("postgres://u@db/eclor", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/eclor", "postgresql+psycopg"),
        ("sqlite:///registry.sqlite", "sqlite"),
    ],
)
def test_urls_get_the_installed_driver(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_sqlite_url_of_a_path(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "a b.sqlite")
    assert url.database == str(tmp_path / "a b.sqlite")
    assert url.get_backend_name() == "sqlite"
