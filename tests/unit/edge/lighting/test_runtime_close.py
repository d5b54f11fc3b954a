"""LightingRuntime.close stores the fault events still queued when the agent cancelled the tasks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import EventBatch, Reading, decode
from edge.batcher import ReadingBatcher
from edge.commands import CommandProcessor
from edge.config import TcpBus
from edge.lighting.actuators.modbus_point import ModbusDevice
from edge.lighting.backends_config import ContactorTarget
from edge.lighting.config import GroupConfig, LightingConfig, SiteConfig
from edge.lighting.runtime import LightingRuntime
from edge.metrics import EdgeMetrics
from edge.modbus.bus import ModbusBus
from edge.outbox.store import Outbox, OutboxLimits
from edge.outbox.worker import AsyncOutbox
from edge.profiles import default_profiles_dir, load_profiles

NOON = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def lighting(tmp_path: Path) -> LightingConfig:
    return LightingConfig(
        state_path=tmp_path / "lighting.json",
        site=SiteConfig(latitude=49.4683, longitude=5.9289),
        groups=[
            GroupConfig(
                name="main_street",
                contactor=ContactorTarget(device="controller", outputs=["contactor_1"]),
            )
        ],
    )


async def test_close_stores_the_events_queued_after_the_monitor_task_was_cancelled(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOON)
    outbox = AsyncOutbox(
        lambda: Outbox(tmp_path / "outbox.sqlite", "vil-c001", OutboxLimits(), clock)
    )
    # a closed port: nothing in this test reaches the device
    bus = ModbusBus(TcpBus(name="cabinet", kind="tcp", host="127.0.0.1", port=9, timeout_ms=100))
    profile = load_profiles(default_profiles_dir())["eclor-cabinet-controller"]
    metrics = EdgeMetrics()
    runtime = LightingRuntime(
        lighting(tmp_path),
        "vil-c001",
        devices={"controller": ModbusDevice("controller", bus, 2, profile)},
        batcher=ReadingBatcher(outbox),
        outbox=outbox,
        commands=CommandProcessor(outbox, clock, metrics),
        clock=clock,
        metrics=metrics,
    )
    tasks = runtime.start()
    for task in tasks:  # what the agent does at shutdown before close()
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(3):  # the monitor's debounce: three readings raise the event
        fields: dict[str, float | bool] = {"door_open": True}
        reading = Reading(
            device="controller", measurement="cabinet", time=to_epoch_ms(clock.now()), fields=fields
        )
        runtime.monitor.observe([reading])
        clock.advance(10)
    assert await outbox.pending(10) == []

    await runtime.close()

    stored = await outbox.pending(10)
    await outbox.close()
    await bus.close()
    assert [batch.kind for batch in stored] == ["event"]
    events = decode(EventBatch, stored[0].payload).events
    assert [(e.device, e.kind, e.active) for e in events] == [
        ("controller", "cabinet_door_open", True)
    ]
