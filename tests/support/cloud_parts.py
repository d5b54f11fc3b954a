"""Real cloud parts for tests: a migrated SQLite registry, a store, an ingest on a real broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.mqtt import CloudMqtt, MqttSettings
from cloud.ingest.registry_port import RegistryPort
from cloud.ingest.service import IngestService, IngestSettings, ingest_subscriptions
from cloud.registry.db import make_engine, make_session_factory, sqlite_url
from cloud.registry.gateways import enroll_gateway
from cloud.registry.migrate import upgrade
from cloud.store.base import TimeSeriesStore


def sqlite_registry(folder: Path) -> sessionmaker[Session]:
    engine = make_engine(sqlite_url(folder / "registry.sqlite"))
    upgrade(engine)
    return make_session_factory(engine)


def enroll(sessions: sessionmaker[Session], *gateway_ids: str) -> None:
    with sessions.begin() as session:
        for gateway_id in gateway_ids:
            enroll_gateway(session, gateway_id, now=datetime.now(UTC))


@dataclass
class RunningIngest:
    service: IngestService
    metrics: IngestMetrics
    mqtt: CloudMqtt


@contextlib.asynccontextmanager
async def running_ingest(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    broker_port: int,
    *,
    name: str = "ingest",
    settings: IngestSettings | None = None,
) -> AsyncIterator[RunningIngest]:
    settings = settings or IngestSettings(flush_interval_s=0.05)
    metrics = IngestMetrics()
    mqtt = CloudMqtt(
        MqttSettings("127.0.0.1", broker_port),
        name,
        ingest_subscriptions(settings.shared_group),
        metrics,
    )
    registry = RegistryPort(sessions)
    service = IngestService(store, registry, mqtt, metrics, settings)
    mqtt.start()
    await asyncio.wait_for(mqtt.connected.wait(), 10)
    await asyncio.sleep(0.2)  # let the subscriptions land
    task = asyncio.create_task(service.run())
    try:
        yield RunningIngest(service, metrics, mqtt)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await mqtt.stop()
        registry.close()
