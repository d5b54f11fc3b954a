"""The edge agent: pollers → batcher → outbox → sender → MQTT, and commands back down.

Everything is built from one validated :class:`~edge.config.LoadedConfig` and runs as tasks of one
event loop; with a ``lighting:`` section, the lighting runtime (``edge.lighting.runtime``) runs the
program, takes the ``program`` topic and the ``set_level``/``clear_override`` commands.

Shutdown (SIGTERM) goes in order, so nothing is left half-written: pollers stop, the lighting
executor stops (its last sends finish), the batcher commits what it staged, running commands finish
and their results are stored, the gateway says it is offline, the link closes, the DALI lines and
the buses close, the outbox closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from typing import Any

import msgspec

from eclor.clock import Clock, WallClock, to_epoch_ms
from eclor.errors import TopicError
from eclor.wire import Suffix, encode, parse_topic, subscription, topic
from edge.batcher import ReadingBatcher
from edge.commands import CommandProcessor
from edge.config import LoadedConfig, read_password
from edge.health import HealthBook
from edge.http import HealthEndpoint
from edge.lighting.actuators.modbus_point import ModbusDevice
from edge.lighting.runtime import LightingRuntime
from edge.metrics import EdgeMetrics
from edge.modbus.breaker import CircuitBreaker
from edge.modbus.bus import ModbusBus
from edge.modbus.poller import DevicePoller
from edge.modbus.writer import ModbusWriter
from edge.outbox.store import Outbox, OutboxLimits, OutboxStats
from edge.outbox.worker import AsyncOutbox
from edge.status import build_status, update_outbox_metrics
from edge.uplink.link import MqttLink
from edge.uplink.sender import Sender

log = logging.getLogger(__name__)


class EdgeAgent:
    def __init__(self, loaded: LoadedConfig, clock: Clock | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.gateway_id = self.config.gateway.id
        self.clock = clock or WallClock()
        self.metrics = EdgeMetrics()
        self.health = HealthBook(self.metrics)
        self.ready = asyncio.Event()
        self.pollers: list[DevicePoller] = []

    async def run(self, stop: asyncio.Event) -> None:
        self._build()
        try:
            await self._serve(stop)
        finally:
            await self._close()

    # -- building ------------------------------------------------------------------------------

    def _build(self) -> None:
        cfg = self.config
        limits = OutboxLimits(
            max_bytes=cfg.outbox.max_bytes,
            max_age_s=cfg.outbox.max_age_days * 86400,
            batch_max_readings=cfg.outbox.batch_max_readings,
        )
        self.outbox = AsyncOutbox(
            lambda: Outbox(cfg.outbox.path, self.gateway_id, limits, self.clock)
        )
        self.batcher = ReadingBatcher(
            self.outbox,
            flush_interval_s=cfg.outbox.flush_interval_ms / 1000,
            flush_size=cfg.outbox.batch_max_readings,
            max_staged=cfg.outbox.max_staged_readings,
        )
        self.buses = {bus.name: ModbusBus(bus) for bus in cfg.buses}
        self.commands = CommandProcessor(self.outbox, self.clock, self.metrics)
        writer = ModbusWriter()
        modbus_devices: dict[str, ModbusDevice] = {}
        for device in cfg.devices:
            profile = self.loaded.profiles[device.profile]
            breaker = CircuitBreaker(cfg.breaker.base_s, cfg.breaker.max_s)
            poller = DevicePoller(
                device,
                profile,
                self.buses[device.bus],
                self.batcher,
                self.health,
                self.clock,
                breaker,
            )
            self.pollers.append(poller)
            self.health.record(device.id)
            writer.add_device(device.id, self.buses[device.bus], poller.unit, profile)
            modbus_devices[device.id] = ModbusDevice(
                device.id, self.buses[device.bus], poller.unit, profile
            )
        self.commands.register("write", writer)
        self.lighting: LightingRuntime | None = None
        downlinks = [Suffix.ACK, Suffix.CMD]
        if cfg.lighting is not None:
            self.lighting = LightingRuntime(
                cfg.lighting,
                self.gateway_id,
                devices=modbus_devices,
                batcher=self.batcher,
                outbox=self.outbox,
                commands=self.commands,
                clock=self.clock,
                metrics=self.metrics,
            )
            downlinks.append(Suffix.PROGRAM)
        self.link = MqttLink(
            client_id=self.gateway_id,
            broker=cfg.broker,
            password=read_password(cfg.broker),
            will=(topic(self.gateway_id, Suffix.STATUS), self._status_payload("offline", None)),
            subscriptions=[subscription(s, self.gateway_id) for s in downlinks],
            metrics=self.metrics,
        )
        self.sender = Sender(self.outbox, self.link, cfg.uplink, self.metrics, self.clock)
        self.endpoint: HealthEndpoint | None = None
        if cfg.health.port is not None:
            self.endpoint = HealthEndpoint(cfg.health.host, cfg.health.port, self.metrics.registry)

    # -- running -------------------------------------------------------------------------------

    async def _serve(self, stop: asyncio.Event) -> None:
        if self.endpoint is not None:
            self.endpoint.start()
        self.link.start()
        batcher = self._task(self.batcher.run(), "batcher")
        background = [
            self._task(self.sender.run(), "sender"),
            self._task(self._dispatch_downlink(), "downlink"),
            self._task(self._publish_status(), "status"),
            self._task(self._housekeeping(), "housekeeping"),
        ]
        polls = [self._task(p.run(), f"poll:{p.device.id}") for p in self.pollers]
        lighting: list[asyncio.Task[None]] = []
        if self.lighting is not None:
            lighting = self.lighting.start()
            for task in lighting:
                task.add_done_callback(_report_crash)
        self.ready.set()
        log.info(
            "agent %s running: %d devices on %d buses", self.gateway_id, len(polls), len(self.buses)
        )
        await stop.wait()
        log.info("stopping")
        await _cancel(polls)
        await _cancel(lighting)  # the executor's last sends finish, its readings are staged
        await _cancel([batcher])  # its final flush commits what was staged
        await self.commands.drain()
        await _cancel(background)

    def _task(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_report_crash)
        return task

    async def _dispatch_downlink(self) -> None:
        while True:
            message = await self.link.inbox.get()
            try:
                suffix = parse_topic(message.topic).suffix
            except TopicError as exc:
                self.metrics.rejected_messages.labels("bad_topic").inc()
                log.warning("ignored a message: %s", exc)
                continue
            if suffix is Suffix.ACK:
                await self.sender.handle_ack(message.payload)
            elif suffix is Suffix.CMD:
                await self.commands.receive(message.payload)
            elif suffix is Suffix.PROGRAM and self.lighting is not None:
                await self.lighting.receive_program(message.payload)
            else:
                self.metrics.rejected_messages.labels("unexpected_topic").inc()
                log.warning("ignored a message on %s", message.topic)

    async def _publish_status(self) -> None:
        interval = self.config.uplink.status_interval_s
        while True:
            await self.link.connected.wait()
            stats = await self.outbox.stats()
            self.link.publish(
                topic(self.gateway_id, Suffix.STATUS),
                self._status_payload("online", stats),
                retain=True,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.link.disconnected.wait(), interval)

    def _status_payload(self, state: str, stats: OutboxStats | None) -> bytes:
        health = self.health if state == "online" else None
        return encode(build_status(self.gateway_id, state, self.clock, stats, health))

    async def _housekeeping(self) -> None:
        rounds = 0
        while True:
            if rounds % 60 == 0:
                await self.outbox.expire()
            stats = await self.outbox.stats()
            now_ms = to_epoch_ms(self.clock.now())
            update_outbox_metrics(self.metrics, stats, now_ms)
            if self.endpoint is not None:
                status = build_status(self.gateway_id, "online", self.clock, stats, self.health)
                self.endpoint.health_json = json.dumps(
                    {**msgspec.to_builtins(status), "mqtt_connected": self.link.connected.is_set()}
                ).encode()
            if not self.link.alive:
                log.error("the MQTT network thread died; restarting it")
                self.link.start()
            rounds += 1
            await asyncio.sleep(1.0)

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            stats = await self.outbox.stats()
            await self.link.stop(
                (topic(self.gateway_id, Suffix.STATUS), self._status_payload("offline", stats))
            )
        if self.lighting is not None:
            await self.lighting.close()
        for bus in self.buses.values():
            await bus.close()
        if self.endpoint is not None:
            self.endpoint.stop()
        await self.outbox.close()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel and wait; a task that swallowed its cancellation is cancelled again."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(10):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for task in pending:
        log.error("task %s does not stop", task.get_name())


def _report_crash(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("task %s crashed", task.get_name(), exc_info=exc)
