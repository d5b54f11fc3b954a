"""Registry: what the ingest records as messages arrive (last seen, status, device health)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import NotFound
from cloud.registry import (
    DeviceState,
    GatewayStatus,
    add_device,
    enroll_gateway,
    get_device,
    get_gateway,
    record_device_health,
    record_devices_seen,
    record_gateway_seen,
    record_status,
    upgrade,
)
from eclor.clock import to_epoch_ms
from eclor.wire import DeviceHealth, OutboxHealth, Status
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for engine in registry_engine(request, tmp_path_factory.mktemp("registry")):
        upgrade(engine)
        yield engine


@pytest.fixture
def sessions(migrated: Engine) -> Iterator[sessionmaker[Session]]:
    for factory in clean_sessions(migrated):
        with factory.begin() as s:
            enroll_gateway(s, "cab-01", now=NOW)
            for device in ("meter-1", "meter-2"):
                add_device(s, "cab-01", device, profile="sdm630", now=NOW)
        yield factory


def status(
    state: Literal["online", "offline"],
    at: datetime,
    devices: dict[str, DeviceHealth] | None = None,
    *,
    version: str = "",
    outbox: OutboxHealth | None = None,
) -> Status:
    return Status(
        gateway="cab-01",
        state=state,
        time=to_epoch_ms(at),
        devices=devices or {},
        version=version,
        outbox=outbox,
    )


def test_last_seen_only_moves_forward(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        record_gateway_seen(s, "cab-01", NOW + MINUTE)
        record_gateway_seen(s, "cab-01", NOW)
        with pytest.raises(NotFound):
            record_gateway_seen(s, "cab-09", NOW)
    with sessions() as s:
        assert get_gateway(s, "cab-01").last_seen_at == NOW + MINUTE


def test_online_status_sets_everything(sessions: sessionmaker[Session]) -> None:
    health = {
        "meter-1": DeviceHealth(state="ok", last_ok=to_epoch_ms(NOW), errors=0),
        "meter-2": DeviceHealth(state="unreachable", errors=7, detail="timeout on bus rs485-1"),
        "meter-9": DeviceHealth(state="ok"),
    }
    outbox = OutboxHealth(rows=120, bytes=3 * 1024**3, oldest_age_s=42.5)
    message = status("online", NOW, health, version="0.1.0", outbox=outbox)
    with sessions.begin() as s:
        applied = record_status(s, message, received_at=NOW + timedelta(seconds=1))
    assert applied.applied
    assert applied.unknown_devices == ("meter-9",)
    with sessions() as s:
        gateway = get_gateway(s, "cab-01")
        assert (gateway.status, gateway.status_at, gateway.version) == (
            GatewayStatus.ONLINE,
            NOW,
            "0.1.0",
        )
        assert (gateway.outbox_rows, gateway.outbox_bytes, gateway.outbox_oldest_age_s) == (
            120,
            3 * 1024**3,
            42.5,
        )
        assert gateway.last_seen_at == NOW + timedelta(seconds=1)
        meter = get_device(s, "cab-01", "meter-1")
        assert (meter.health, meter.last_ok_at, meter.health_at) == (DeviceState.OK, NOW, NOW)
        broken = get_device(s, "cab-01", "meter-2")
        assert (broken.health, broken.health_errors, broken.health_detail) == (
            DeviceState.UNREACHABLE,
            7,
            "timeout on bus rs485-1",
        )
        assert broken.last_ok_at is None


def test_a_late_online_is_ignored_but_the_last_will_applies(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        record_status(s, status("online", NOW + 2 * MINUTE), received_at=NOW + 2 * MINUTE)
        late = record_status(s, status("online", NOW + MINUTE), received_at=NOW + 3 * MINUTE)
        assert not late.applied
        assert get_gateway(s, "cab-01").status_at == NOW + 2 * MINUTE
        # The will was stamped when the agent started, before any of its online statuses.
        will = record_status(s, status("offline", NOW), received_at=NOW + 4 * MINUTE)
        assert will.applied
    with sessions() as s:
        gateway = get_gateway(s, "cab-01")
        assert (gateway.status, gateway.last_seen_at) == (GatewayStatus.OFFLINE, NOW + 4 * MINUTE)
        assert gateway.outbox_rows is None  # the will says nothing about the outbox


def test_status_of_an_unknown_gateway(sessions: sessionmaker[Session]) -> None:
    message = Status(gateway="cab-09", state="online", time=to_epoch_ms(NOW))
    with sessions.begin() as s, pytest.raises(NotFound, match="cab-09"):
        record_status(s, message, received_at=NOW)


def test_device_health_keeps_the_newest(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        assert record_device_health(
            s, "cab-01", "meter-1", DeviceHealth(state="degraded", errors=2), at=NOW + MINUTE
        )
        assert not record_device_health(s, "cab-01", "meter-1", DeviceHealth(state="ok"), at=NOW)
        with pytest.raises(NotFound):
            record_device_health(s, "cab-01", "meter-9", DeviceHealth(state="ok"), at=NOW)
    with sessions() as s:
        assert get_device(s, "cab-01", "meter-1").health == DeviceState.DEGRADED


def test_devices_seen(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        assert record_devices_seen(s, "cab-01", ["meter-1", "meter-2", "meter-9"], NOW) == 2
        assert record_devices_seen(s, "cab-01", ["meter-1"], NOW - MINUTE) == 0
        assert record_devices_seen(s, "cab-01", ["meter-1"], NOW + MINUTE) == 1
        assert record_devices_seen(s, "cab-01", [], NOW) == 0
    with sessions() as s:
        assert get_device(s, "cab-01", "meter-1").last_seen_at == NOW + MINUTE
        assert get_device(s, "cab-01", "meter-2").last_seen_at == NOW


def test_concurrent_writers_wait_their_turn(sessions: sessionmaker[Session]) -> None:
    """Ingest threads recording at once: on SQLite each transaction takes the write lock at
    BEGIN, so none fails with "database is locked" after reading."""

    def ingest(worker: int) -> None:
        for i in range(10):
            at = NOW + timedelta(seconds=10 * i + worker)
            with sessions.begin() as s:
                record_status(s, status("online", at), received_at=at)
                record_devices_seen(s, "cab-01", ["meter-1"], at)

    with ThreadPoolExecutor(6) as pool:
        for done in [pool.submit(ingest, worker) for worker in range(6)]:
            done.result(timeout=60)
    with sessions() as s:
        assert get_gateway(s, "cab-01").last_seen_at == NOW + timedelta(seconds=95)
        assert get_device(s, "cab-01", "meter-1").last_seen_at == NOW + timedelta(seconds=95)
