"""Polling one Modbus device on its interval: read, decode, stamp, hand to the batcher.

Readings are stamped once, when the poll starts, in UTC. A device whose transport fails is skipped
by its circuit breaker until its back-off window ends, so it never delays the other devices on its
bus by more than one timeout per window. An exception reply costs only the fields of that request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from eclor.clock import Clock, to_epoch_ms
from eclor.wire import Reading
from edge.batcher import ReadingBatcher
from edge.config import Device
from edge.errors import DeviceTimeout, TransportError
from edge.health import HealthBook
from edge.modbus.breaker import CircuitBreaker
from edge.modbus.bus import ExceptionReply, ModbusBus
from edge.modbus.decode import Decoded, decode_request
from edge.modbus.planner import ReadRequest, plan_reads
from edge.profiles import Profile

log = logging.getLogger(__name__)


class DevicePoller:
    def __init__(
        self,
        device: Device,
        profile: Profile,
        bus: ModbusBus,
        sink: ReadingBatcher,
        health: HealthBook,
        clock: Clock,
        breaker: CircuitBreaker,
    ) -> None:
        self.device = device
        self.profile = profile
        self.bus = bus
        self._sink = sink
        self._health = health
        self._clock = clock
        self.breaker = breaker
        self.unit = device.unit if device.unit is not None else profile.default_unit_id
        fields = (
            None if device.fields is None else [profile.field_named(name) for name in device.fields]
        )
        self.plan: list[ReadRequest] = plan_reads(profile, fields)
        self._pause_s = profile.limits.pause_between_requests_ms / 1000

    async def run(self) -> None:
        interval = self.device.poll_interval_s
        next_at = self._clock.monotonic()
        while True:
            await self.poll_once()
            next_at += interval
            now = self._clock.monotonic()
            if next_at < now:  # overran: skip the missed ticks rather than burst
                next_at = now + interval - (now - next_at) % interval
            await self._clock.sleep(next_at - now)

    async def poll_once(self) -> list[Reading]:
        """One poll; returns the readings committed (empty when the device was skipped or dead)."""
        now = self._clock.monotonic()
        if not self.breaker.allows(now):
            return []
        stamp = to_epoch_ms(self._clock.now())
        decoded = Decoded()
        problems: list[str] = []
        try:
            for request in self.plan:
                await self._read(request, decoded, problems)
        except TransportError as exc:
            self.breaker.record_failure(self._clock.monotonic())
            kind = "timeout" if isinstance(exc, DeviceTimeout) else "transport"
            self._health.failed(self.device.id, kind, str(exc), self.breaker.is_open)
            return []
        self.breaker.record_success()
        self._health.ok(self.device.id, stamp, self._clock.monotonic() - now, problems)
        readings = self._readings(decoded, stamp)
        if readings:
            await self._sink.put(readings)
        return readings

    async def _read(self, request: ReadRequest, decoded: Decoded, problems: list[str]) -> None:
        data = await self.bus.read(
            self.unit,
            request.function,
            request.address,
            request.count,
            device=self.device.id,
            pause_s=self._pause_s,
        )
        if isinstance(data, ExceptionReply):
            names = ", ".join(f.name for f in request.fields)
            problems.append(f"{data} reading {names}")
            self._health.problem(self.device.id, "exception")
            return
        decode_request(request, data, decoded)
        for name, reason in decoded.invalid.items():
            problems.append(f"{name}: {reason}")
            self._health.problem(self.device.id, "invalid_value")
        decoded.invalid.clear()

    def _readings(self, decoded: Decoded, stamp: int) -> list[Reading]:
        by_measurement: dict[str, dict[str, bool | int | float | str]] = defaultdict(dict)
        for field in self.profile.fields:
            if field.name in decoded.values:
                measurement = field.measurement or self.profile.measurement
                by_measurement[measurement][field.name] = decoded.values[field.name]
        return [
            Reading(
                device=self.device.id,
                measurement=measurement,
                time=stamp,
                fields=fields,
                tags=dict(self.device.tags),
            )
            for measurement, fields in by_measurement.items()
        ]


async def run_pollers(pollers: list[DevicePoller]) -> None:
    async with asyncio.TaskGroup() as group:
        for poller in pollers:
            group.create_task(poller.run(), name=f"poll:{poller.device.id}")
