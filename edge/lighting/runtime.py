"""Everything lighting in one agent: back-ends, executor, fault monitor, local rules, commands.

Built by the agent when its config has a ``lighting:`` section. Start order: DALI lines connect in
the background, then the executor and the monitor run as tasks. Stop order (:meth:`stop` then
:meth:`close`): the executor stops deciding (its last sends finish), the monitor stores its queued
events, then the DALI lines close; Modbus buses belong to the agent and close after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from eclor.clock import Clock
from edge.batcher import ReadingBatcher
from edge.commands import CommandProcessor
from edge.lighting import handlers
from edge.lighting.actuators.build import LightingBackends, build_group_actuators
from edge.lighting.actuators.modbus_point import ModbusDevice
from edge.lighting.config import LightingConfig
from edge.lighting.executor import LightingExecutor
from edge.lighting.gear import find_gear
from edge.lighting.local_rules import LocalRule
from edge.lighting.monitor import FaultMonitor
from edge.metrics import EdgeMetrics
from edge.outbox.worker import AsyncOutbox

log = logging.getLogger(__name__)
CLOSE_S = 10.0


class LightingRuntime:
    def __init__(
        self,
        config: LightingConfig,
        gateway_id: str,
        *,
        devices: Mapping[str, ModbusDevice],
        batcher: ReadingBatcher,
        outbox: AsyncOutbox,
        commands: CommandProcessor,
        clock: Clock,
        metrics: EdgeMetrics,
    ) -> None:
        self.backends: LightingBackends = build_group_actuators(
            config,
            devices=devices,
            clock=clock,
            on_readings=batcher.put,
            on_events=outbox.append_events,
        )
        lines = self.backends.lines
        self.executor = LightingExecutor(
            config,
            gateway_id,
            self.backends.actuators,
            clock,
            metrics,
            batcher.put,
            find_gear=lambda device: find_gear(lines, device),
        )
        self.monitor = FaultMonitor(
            config, commanded=self.executor.commanded, clock=clock, on_events=outbox.append_events
        )
        batcher.observe(self.monitor.observe)
        self.rules = [LocalRule(rule, self.executor, clock) for rule in config.local_rules]
        for rule in self.rules:
            batcher.observe(rule)
        handlers.register(commands, self.executor)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> list[asyncio.Task[None]]:
        self.backends.start()
        self._tasks = [
            asyncio.create_task(self.executor.run(), name="lighting"),
            asyncio.create_task(self.monitor.run(), name="lighting-monitor"),
        ]
        return list(self._tasks)

    async def receive_program(self, payload: bytes) -> None:
        await self.executor.receive_program(payload)

    async def close(self) -> None:
        """Store the monitor's queued events, then close the back-ends (after the tasks were
        cancelled by the agent), within :data:`CLOSE_S`: a DALI interface that does not let go
        must not keep the agent from closing its outbox."""
        try:
            await self.monitor.flush()
        except Exception:  # the back-ends must close whatever happened to the outbox
            log.exception("could not store the queued lighting fault events")
        try:
            await asyncio.wait_for(self.backends.close(), CLOSE_S)
        except TimeoutError:
            log.error("the DALI lines did not close within %.0f s; going on", CLOSE_S)
        await self.executor.close()
