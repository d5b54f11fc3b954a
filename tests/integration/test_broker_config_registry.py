"""Broker credentials in the registry, on SQLite and PostgreSQL: the gateways' Mosquitto hash
(kept from the plaintext at the moment it exists), service accounts, what the broker's files are
made of, and migration 0002 up and down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from cloud.broker_config.accounts import (
    ROLE_GRANTS,
    create_service_account,
    get_service_account,
    list_service_accounts,
    revoke_service_account,
    rotate_service_password,
)
from cloud.broker_config.passwords import mosquitto_verify
from cloud.broker_config.snapshot import NO_BROKER_HASH, read_registry
from cloud.errors import Conflict, NotFound
from cloud.registry import (
    current_revision,
    downgrade,
    enroll_gateway,
    get_gateway,
    revoke_gateway,
    rotate_gateway_password,
    upgrade,
)
from cloud.registry.models import ServiceRole
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for engine in registry_engine(request, tmp_path_factory.mktemp("registry")):
        upgrade(engine)
        yield engine


@pytest.fixture
def sessions(migrated: Engine) -> Iterator[sessionmaker[Session]]:
    yield from clean_sessions(migrated)


# -- gateways ------------------------------------------------------------------------------------


def test_enrolment_keeps_the_broker_hash_of_the_password_shown(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        password = enroll_gateway(s, "cab-01", now=NOW).password
    with sessions() as s:
        stored = get_gateway(s, "cab-01").broker_hash
    assert stored is not None
    assert stored.startswith("$7$101$")
    assert password not in stored
    assert mosquitto_verify(password, stored)


def test_rotation_replaces_the_broker_hash_and_revocation_forgets_it(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        old = enroll_gateway(s, "cab-01", now=NOW).password
    with sessions.begin() as s:
        new = rotate_gateway_password(s, "cab-01", now=LATER)
    with sessions() as s:
        stored = get_gateway(s, "cab-01").broker_hash
    assert stored is not None
    assert mosquitto_verify(new, stored)
    assert not mosquitto_verify(old, stored)
    with sessions.begin() as s:
        revoke_gateway(s, "cab-01", now=LATER)
    with sessions() as s:
        gateway = get_gateway(s, "cab-01")
        assert (gateway.broker_hash, gateway.credential_hash) == (None, None)


# -- service accounts ----------------------------------------------------------------------------


def test_a_service_account_has_its_roles_grants_and_a_hash_only(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        issued = create_service_account(s, "cloud.ingest", "ingest", now=NOW)
        create_service_account(s, "cloud.api", ServiceRole.API, now=NOW)
    assert issued.password not in repr(issued)
    with sessions() as s:
        ingest = get_service_account(s, "cloud.ingest")
        assert ingest.role is ServiceRole.INGEST
        assert ingest.grants == list(ROLE_GRANTS[ServiceRole.INGEST])
        assert ingest.broker_hash is not None
        assert mosquitto_verify(issued.password, ingest.broker_hash)
        assert (ingest.created_at, ingest.credential_issued_at) == (NOW, NOW)
        assert [a.name for a in list_service_accounts(s)] == ["cloud.api", "cloud.ingest"]


def test_service_account_refusals(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        create_service_account(s, "cloud.ingest", "ingest", now=NOW)
        with pytest.raises(Conflict, match="already exists"):
            create_service_account(s, "cloud.ingest", "api", now=NOW)
        with pytest.raises(ValueError, match="unknown role 'admin'"):
            create_service_account(s, "cloud.admin", "admin", now=NOW)
        with pytest.raises(ValueError, match="service account name 'cab-01'"):
            create_service_account(s, "cab-01", "ingest", now=NOW)
        with pytest.raises(ValueError, match="naive"):
            create_service_account(s, "cloud.x", "ingest", now=NOW.replace(tzinfo=None))
        with pytest.raises(NotFound):
            rotate_service_password(s, "cloud.nobody", now=NOW)


def test_rotate_then_revoke_a_service_account(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        old = create_service_account(s, "cloud.api", "api", now=NOW).password
    with sessions.begin() as s:
        new = rotate_service_password(s, "cloud.api", now=LATER)
    with sessions() as s:
        account = get_service_account(s, "cloud.api")
        assert account.broker_hash is not None
        assert mosquitto_verify(new, account.broker_hash)
        assert not mosquitto_verify(old, account.broker_hash)
        assert account.credential_issued_at == LATER
    with sessions.begin() as s:
        revoke_service_account(s, "cloud.api", now=LATER)
        revoke_service_account(s, "cloud.api", now=LATER + timedelta(days=1))
    with sessions.begin() as s:
        account = get_service_account(s, "cloud.api")
        assert (account.broker_hash, account.revoked_at) == (None, LATER)
        assert list_service_accounts(s, include_revoked=False) == []
        with pytest.raises(Conflict, match="is revoked"):
            rotate_service_password(s, "cloud.api", now=LATER)


# -- what the broker's files are made of ---------------------------------------------------------


def test_the_snapshot_leaves_out_revoked_unhashed_and_renamed_gateways(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        for gateway_id in ("gw-a", "gw-b", "gw-old", "gw-revoked"):
            enroll_gateway(s, gateway_id, now=NOW)
        enroll_gateway(s, "gw-renamed", now=NOW, mqtt_username="someone-else")
        get_gateway(s, "gw-old").broker_hash = None  # enrolled before revision 0002
        revoke_gateway(s, "gw-revoked", now=NOW)
        create_service_account(s, "cloud.ingest", "ingest", now=NOW)
        create_service_account(s, "cloud.gone", "api", now=NOW)
        revoke_service_account(s, "cloud.gone", now=NOW)
    with sessions() as s:
        snapshot = read_registry(s)
    assert [(u.name, u.kind) for u in snapshot.users] == [
        ("cloud.ingest", "service account"),
        ("gw-a", "gateway"),
        ("gw-b", "gateway"),
    ]
    assert snapshot.gateway_count == 2
    assert [s.name for s in snapshot.services] == ["cloud.ingest"]
    assert [str(g) for g in snapshot.services[0].grants] == list(ROLE_GRANTS[ServiceRole.INGEST])
    reasons = {skipped.gateway_id: skipped.reason for skipped in snapshot.skipped}
    assert reasons["gw-old"] == NO_BROKER_HASH
    assert "'someone-else' is not its id" in reasons["gw-renamed"]
    assert set(reasons) == {"gw-old", "gw-renamed"}


# -- migration 0002 ------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from registry_engine(request, tmp_path)


def _columns(engine: Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns(table)}


def test_0002_adds_the_column_and_table_and_keeps_existing_gateways(empty: Engine) -> None:
    upgrade(empty, "0001")
    with empty.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO gateway (id, mqtt_username, enrolled_at, revoked, status) "
            "VALUES ('gw-before', 'gw-before', '2026-11-01 00:00:00+00:00', false, 'unknown')"
        )
    upgrade(empty, "0002")
    assert current_revision(empty) == "0002"
    assert "broker_hash" in _columns(empty, "gateway")
    assert "grants" in _columns(empty, "service_account")
    with empty.connect() as connection:
        stored = connection.exec_driver_sql("SELECT broker_hash FROM gateway").scalar_one()
    assert stored is None  # until its password is rotated
    downgrade(empty, "0001")
    assert "broker_hash" not in _columns(empty, "gateway")
    with empty.connect() as connection:
        assert "service_account" not in inspect(connection).get_table_names()
        count = connection.exec_driver_sql("SELECT count(*) FROM gateway").scalar_one()
    assert count == 1
