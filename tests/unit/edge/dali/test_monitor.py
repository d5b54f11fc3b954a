"""FaultMonitor on hand-made readings: sun, debounce, one event per raise and per clear."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import Event, Reading
from edge.lighting.backends_config import ContactorTarget, MeterTarget
from edge.lighting.config import GroupConfig, LightingConfig, SiteConfig
from edge.lighting.monitor import FaultMonitor

START = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # noon in Paris


@dataclass(frozen=True)
class Command:
    target_pct: float
    lit: bool
    since_ms: int
    fade_s: float = 0.0


def monitor(clock: ManualClock, sink: list[Event], command: Command) -> FaultMonitor:
    lighting = LightingConfig(
        state_path=Path("/tmp/unused.json"),
        site=SiteConfig(latitude=49.4683, longitude=5.9289),
        groups=[
            GroupConfig(
                name="main",
                contactor=ContactorTarget(device="controller", outputs=["contactor_1"]),
                meter=MeterTarget(device="meter", rated_w=1000),
            )
        ],
    )

    async def store(events: Sequence[Event]) -> None:
        sink.extend(events)

    return FaultMonitor(
        lighting, commanded=lambda _: command, clock=clock, on_events=store, debounce=3
    )


def reading(clock: ManualClock, device: str, **fields: float | bool) -> list[Reading]:
    return [Reading(device=device, measurement="m", time=to_epoch_ms(clock.now()), fields=fields)]


def test_daylight_follows_the_sun_at_the_site() -> None:
    watch = monitor(ManualClock(START), [], Command(0, False, 0))
    assert watch.daylight(START)
    assert not watch.daylight(datetime(2026, 6, 15, 23, 0, tzinfo=UTC))


async def test_a_day_burner_needs_three_readings_and_raises_and_clears_once() -> None:
    clock = ManualClock(START)
    events: list[Event] = []
    off = Command(0, False, to_epoch_ms(START) - 3_600_000)
    watch = monitor(clock, events, off)
    for power in (900, 900, 10, 900, 900, 900, 900, 900, 10, 10, 10, 10):
        watch.observe(reading(clock, "meter", power_total_w=power))
        clock.advance(10)
    await watch.flush()
    # by day, power while off is a day-burner, not a stuck contactor
    assert [(e.kind, e.active) for e in events] == [
        ("lamp_unexpected_on", True),
        ("lamp_unexpected_on", False),
    ]
    assert events[0].fields["power_w"] == 900.0
    assert events[0].severity == "warning"


async def test_door_and_discrepancy_mask_on_the_controller() -> None:
    clock = ManualClock(START)
    events: list[Event] = []
    watch = monitor(clock, events, Command(100, True, 0))
    for door, mask in ((True, 0), (True, 1), (True, 1), (False, 1), (False, 0), (False, 0)):
        watch.observe(reading(clock, "controller", door_open=door, contactor_discrepancy_mask=mask))
    watch.observe(reading(clock, "unrelated", door_open=True))
    await watch.flush()
    assert [(e.kind, e.device, e.active) for e in events] == [
        ("cabinet_door_open", "controller", True),
        ("contactor_error", "controller", True),
        ("cabinet_door_open", "controller", False),
    ]


async def test_run_hands_queued_events_to_the_sink() -> None:
    clock = ManualClock(START)
    events: list[Event] = []
    watch = monitor(clock, events, Command(100, True, 0))
    task = asyncio.create_task(watch.run())
    for _ in range(3):
        watch.observe(reading(clock, "controller", door_open=True))
    await asyncio.sleep(0.01)
    task.cancel()
    assert [e.kind for e in events] == ["cabinet_door_open"]


async def test_events_the_outbox_refused_are_stored_when_it_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("edge.lighting.monitor.STORE_RETRY_S", 0.01)
    clock = ManualClock(START)
    stored: list[Event] = []
    failures = [RuntimeError("disk full"), RuntimeError("disk full")]

    async def flaky(events: Sequence[Event]) -> None:
        if failures:
            raise failures.pop()
        stored.extend(events)

    watch = monitor(clock, [], Command(100, True, 0))
    watch.on_events = flaky
    runner = asyncio.create_task(watch.run())
    for _ in range(3):
        watch.observe(reading(clock, "controller", door_open=True))
        clock.advance(10)
    for _ in range(100):
        if stored:
            break
        await asyncio.sleep(0.01)
    runner.cancel()
    assert [(e.kind, e.active) for e in stored] == [("cabinet_door_open", True)]
    assert not failures
