"""``eclor cloud serve``: ingest, API and scheduler in one process, or one role at a time.

Start-up migrates the registry to the code's schema, opens the store, then starts the roles;
stopping goes the other way, and the ingest flushes what it holds (and acks it) before it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, start_http_server

from cloud.alarms.metrics import register_open_alarms
from cloud.api.app import create_app
from cloud.api.deps import ApiDeps, ApiSettings
from cloud.config import CloudConfig, mqtt_password
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.mqtt import CloudMqtt, MqttSettings
from cloud.ingest.registry_port import RegistryPort
from cloud.ingest.service import IngestService, IngestSettings, ingest_subscriptions
from cloud.lighting.publisher import MqttPublisher
from cloud.registry.db import make_engine, make_session_factory
from cloud.registry.migrate import upgrade
from cloud.scheduler import CloudScheduler, JobContext, feature_jobs
from cloud.store import open_store
from cloud.store.base import TimeSeriesStore
from eclor.clock import Clock, WallClock

log = logging.getLogger(__name__)
ROLES = ("ingest", "api", "scheduler")
PUBLISHER_WAIT_S = 5.0
"""At start, how long the api and scheduler roles wait for the broker before serving anyway."""


@dataclass
class CloudRuntime:
    config: CloudConfig
    roles: tuple[str, ...] = ROLES
    clock: Clock = field(default_factory=WallClock)
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    api_port: int | None = None
    store: TimeSeriesStore | None = None
    ingest_metrics: IngestMetrics | None = None
    publisher: MqttPublisher | None = None
    """The MQTT connection of the api and scheduler roles (programs, commands)."""

    async def run(self, stop: asyncio.Event) -> None:
        engine = make_engine(self.config.registry.url)
        await asyncio.to_thread(upgrade, engine)
        self.sessions = make_session_factory(engine)
        register_open_alarms(self.metrics, self.sessions)  # whichever roles run here
        self.store = await open_store(self.config.store, self.clock)
        tasks: list[asyncio.Task[None]] = []
        server: uvicorn.Server | None = None
        if {"api", "scheduler"} & set(self.roles):
            self.publisher = MqttPublisher(
                self._mqtt_settings(), f"eclor-cloud-{socket.gethostname()}-{id(self) % 10_000}"
            )
            self.publisher.start()
        try:
            if "ingest" in self.roles:
                tasks.append(self._task(self._ingest(), "ingest"))
            if "scheduler" in self.roles:
                publish = self.publisher.publish if self.publisher is not None else None
                context = JobContext(self.sessions, self.store, self.clock, publish, self.config)
                jobs = feature_jobs(context)
                scheduler = CloudScheduler(
                    engine, self.sessions, self.clock, self.config.dead_letter_days, jobs
                )
                tasks.append(self._task(scheduler.run(), "scheduler"))
            if "api" in self.roles:
                server = await self._api()
                tasks.append(self._task(server.serve(), "api"))
                await self._wait_started(server)
            elif self.config.api.port:
                start_http_server(self.config.api.port, self.config.api.host, registry=self.metrics)
            if self.publisher is not None:  # commands and programs can go out once ready
                await asyncio.to_thread(self.publisher.connected.wait, PUBLISHER_WAIT_S)
            self.ready.set()
            log.info("cloud serving roles %s", ", ".join(self.roles))
            await stop.wait()
        finally:
            if server is not None:
                server.should_exit = True
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.publisher is not None:
                await asyncio.to_thread(self.publisher.stop)
            await self.store.close()
            engine.dispose()

    def _task(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.create_task(coro, name=name)

    async def _ingest(self) -> None:
        cfg = self.config
        assert self.store is not None
        self.ingest_metrics = IngestMetrics(self.metrics)
        settings = IngestSettings(
            flush_interval_s=cfg.ingest.flush_interval_ms / 1000,
            max_batch_points=cfg.ingest.max_batch_points,
            max_pending_points=cfg.ingest.max_pending_points,
            shared_group=cfg.ingest.shared_group,
        )
        mqtt = CloudMqtt(
            self._mqtt_settings(),
            client_id=f"eclor-ingest-{socket.gethostname()}-{id(self) % 10_000}",
            subscriptions=ingest_subscriptions(settings.shared_group),
            metrics=self.ingest_metrics,
        )
        registry = RegistryPort(self.sessions)
        mqtt.start()
        try:
            await IngestService(
                self.store, registry, mqtt, self.ingest_metrics, settings, self.clock
            ).run()
        finally:
            await mqtt.stop()
            registry.close()

    def _mqtt_settings(self) -> MqttSettings:
        mqtt = self.config.mqtt
        return MqttSettings(
            host=mqtt.host,
            port=mqtt.port,
            username=mqtt.username,
            password=mqtt_password(mqtt),
            tls=mqtt.tls,
            ca_file=mqtt.ca_file,
            protocol=mqtt.protocol,
        )

    async def _api(self) -> uvicorn.Server:
        assert self.store is not None
        api = self.config.api
        settings = ApiSettings(
            mqtt_public_host=api.mqtt_public_host,
            mqtt_public_port=api.mqtt_public_port,
            mqtt_tls=api.mqtt_tls,
            mqtt_protocol=api.mqtt_protocol,
            **api.public.api_settings(),
        )
        publish = self.publisher.publish if self.publisher is not None else None
        deps = ApiDeps(self.sessions, self.store, self.clock, self.metrics, settings, publish)
        app = create_app(deps)
        config = uvicorn.Config(
            app,
            host=self.config.api.host,
            port=self.config.api.port,
            log_config=None,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        return uvicorn.Server(config)

    async def _wait_started(self, server: uvicorn.Server) -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no "started" event to await
            await asyncio.sleep(0.02)
        sockets = [s for srv in server.servers for s in srv.sockets]
        self.api_port = int(sockets[0].getsockname()[1]) if sockets else self.config.api.port
