"""Lighting fault detection against the simulated territory, over real Modbus TCP.

One cabinet of the territory simulator (meter + controller on Modbus TCP) is polled by the edge's
own ``DevicePoller`` into a ``ReadingBatcher`` on a real SQLite outbox; the ``FaultMonitor``
watches the batcher. The test drives the contactors and setpoint through the lighting actuators
and tells the monitor what it commanded (the executor's role), injects each fault with
``simulators.territory.faults`` and checks that it raises its event, then clears it.
Time runs 60 times faster than real (one poll per simulated 10 s, ~0.17 s real).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from eclor.clock import ScaledClock, to_epoch_ms
from eclor.wire import Event, Reading
from edge.batcher import ReadingBatcher
from edge.config import Device, TcpBus
from edge.health import HealthBook
from edge.lighting.actuators.build import LightingBackends, build_group_actuators
from edge.lighting.actuators.contactor import ContactorActuator
from edge.lighting.actuators.modbus_point import ModbusDevice
from edge.lighting.actuators.setpoint import SetpointActuator
from edge.lighting.backends_config import (
    ContactorTarget,
    DaliLineConfig,
    DaliTarget,
    MeterTarget,
    SetpointTarget,
)
from edge.lighting.config import GroupConfig, LightingConfig, SiteConfig
from edge.lighting.monitor import FaultMonitor
from edge.metrics import EdgeMetrics
from edge.modbus.breaker import CircuitBreaker
from edge.modbus.bus import ModbusBus
from edge.modbus.poller import DevicePoller
from edge.outbox.store import Outbox, OutboxLimits
from edge.outbox.worker import AsyncOutbox
from edge.profiles import default_profiles_dir, load_profiles
from simulators.runner import RunningTerritory, start_territory
from simulators.scenario import load_scenario
from simulators.territory import faults
from simulators.territory.faults import FaultAction, FaultKind

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
SPEED = 60.0
NOON = datetime(2026, 6, 15, 12, 0, tzinfo=PARIS)
NIGHT = datetime(2026, 6, 15, 23, 30, tzinfo=PARIS)
SCENARIO = """
name: faults
timezone: Europe/Paris
seed: 3
tick_s: 0.05
lighting: {on_offset_min: 15, off_offset_min: 15, luminaire_w: 55, standby_w: 4}
gateways:
  - id: vil-c001
    site: Villerupt
    commune: Villerupt
    latitude: 49.4683
    longitude: 5.9289
    bus: {kind: tcp}
    cabinet: {installed_w: 3300, circuits: 2}
    devices:
      - {id: meter, model: sdm630, unit: 1}
      - {id: controller, model: cabinet_controller, unit: 2}
"""
GROUP = GroupConfig(
    name="main_street",
    contactor=ContactorTarget(device="controller", outputs=["contactor_1", "contactor_2"]),
    setpoint=SetpointTarget(device="controller", output="dim_setpoint_pct"),
    meter=MeterTarget(device="meter", rated_w=3300),
)


@dataclass(frozen=True)
class Commanded:
    target_pct: float
    lit: bool
    since_ms: int
    fade_s: float = 0.0


@dataclass
class Cabinet:
    territory: RunningTerritory
    clock: ScaledClock
    events: list[Event]
    commanded: dict[str, Commanded]
    contactor: ContactorActuator
    setpoint: SetpointActuator

    async def command(self, level_pct: float) -> None:
        await self.setpoint.apply(level_pct, 0)
        await self.contactor.apply(level_pct, 0)
        self.commanded[GROUP.name] = Commanded(
            level_pct, level_pct > 0, to_epoch_ms(self.clock.now())
        )

    def fault(self, kind: FaultKind, device: str = "vil-c001", **how: int | bool) -> FaultAction:
        action = FaultAction(kind, device, **how)  # type: ignore[arg-type]
        faults.apply(self.territory.territory.parts, action)
        return action

    def lift(self, action: FaultAction) -> None:
        faults.apply(self.territory.territory.parts, action.lifted())

    def kinds(self, kind: str) -> list[tuple[str, bool]]:
        return [(e.device, e.active) for e in self.events if e.kind == kind]


@contextlib.asynccontextmanager
async def cabinet(tmp_path: Path, start: datetime) -> AsyncIterator[Cabinet]:
    (tmp_path / "faults.yaml").write_text(SCENARIO, encoding="utf-8")
    clock = ScaledClock(start, SPEED)
    territory = await start_territory(
        load_scenario(str(tmp_path / "faults.yaml")), clock, speed=SPEED
    )
    endpoint = territory.gateways[0]
    bus = ModbusBus(TcpBus(name="cabinet", kind="tcp", host=endpoint.host, port=int(endpoint.port)))
    profiles = load_profiles(default_profiles_dir())
    outbox = AsyncOutbox(
        lambda: Outbox(tmp_path / "outbox.sqlite", "vil-c001", OutboxLimits(), clock)
    )
    batcher = ReadingBatcher(outbox, flush_interval_s=0.05)
    events: list[Event] = []

    async def store_events(batch: Sequence[Event]) -> None:
        await outbox.append_events(batch)
        # what the cloud's decoder checks (name patterns, severities): a bad event fails here
        events.extend(msgspec.convert(msgspec.to_builtins(e), Event) for e in batch)

    commanded: dict[str, Commanded] = {}
    lighting = LightingConfig(
        state_path=tmp_path / "lighting.json",
        site=SiteConfig(latitude=49.4683, longitude=5.9289),
        groups=[GROUP],
    )
    monitor = FaultMonitor(
        lighting, commanded=commanded.get, clock=clock, on_events=store_events, settle_s=20
    )
    batcher.observe(monitor.observe)
    units = {d.id: d for d in endpoint.devices}
    pollers = [
        DevicePoller(
            Device(
                id=name,
                profile=units[name].profile,
                bus="cabinet",
                unit=units[name].unit,
                poll_interval_s=10,
            ),
            profiles[units[name].profile],
            bus,
            batcher,
            HealthBook(EdgeMetrics()),
            clock,
            CircuitBreaker(5, 300),
        )
        for name in ("meter", "controller")
    ]
    controller = ModbusDevice(
        "controller", bus, units["controller"].unit, profiles[units["controller"].profile]
    )
    tasks = [
        asyncio.create_task(t) for t in (batcher.run(), monitor.run(), *(p.run() for p in pollers))
    ]
    try:
        yield Cabinet(
            territory,
            clock,
            events,
            commanded,
            ContactorActuator(controller, GROUP.contactor),  # type: ignore[arg-type]
            SetpointActuator(controller, GROUP.setpoint, hold_when_off=True),  # type: ignore[arg-type]
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bus.close()
        await territory.stop()


async def until(condition: Callable[[], bool], within: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s: {what}")
        await asyncio.sleep(0.05)


async def test_day_burner_raises_lamp_unexpected_on_and_clears(tmp_path: Path) -> None:
    async with cabinet(tmp_path, NOON) as cab:
        await cab.command(100)  # last night's level: the setpoint keeps it once switched off
        await cab.command(0)
        await asyncio.sleep(2)  # 2 simulated minutes of polls, lamps off in daylight: quiet
        assert cab.kinds("lamp_unexpected_on") == []
        burner = cab.fault(FaultKind.DAY_BURNER)
        await until(lambda: cab.kinds("lamp_unexpected_on") == [("controller", True)], what="raise")
        raised = next(e for e in cab.events if e.kind == "lamp_unexpected_on")
        assert isinstance(raised.fields["power_w"], float)
        assert raised.fields["power_w"] > 3000
        cab.lift(burner)
        await until(lambda: len(cab.kinds("lamp_unexpected_on")) == 2, what="clear")
        assert cab.kinds("lamp_unexpected_on")[-1] == ("controller", False)


async def test_stuck_contactor_raises_contactor_error_and_clears(tmp_path: Path) -> None:
    async with cabinet(tmp_path, NIGHT) as cab:
        await cab.command(100)
        await asyncio.sleep(1)
        stuck = cab.fault(FaultKind.STUCK_CONTACTOR, circuit=0, closed=True)
        await cab.command(0)  # curfew: circuit 0 stays closed and keeps drawing
        await until(lambda: cab.kinds("contactor_error") == [("controller", True)], what="raise")
        cab.lift(stuck)
        await cab.contactor.apply(0, 0)
        await until(lambda: len(cab.kinds("contactor_error")) == 2, what="clear")
        assert cab.kinds("contactor_error")[-1] == ("controller", False)
        assert cab.kinds("lamp_unexpected_on") == []  # night: not a day-burner


async def test_partial_failure_raises_power_out_of_tolerance_and_clears(tmp_path: Path) -> None:
    async with cabinet(tmp_path, NIGHT) as cab:
        await cab.command(50)
        await asyncio.sleep(2)  # settled at 50 %: power as expected
        assert cab.kinds("power_out_of_tolerance") == []
        failed = cab.fault(FaultKind.LAMP_FAILURE, circuit=0, count=25)  # 25 of 60 dark
        await until(
            lambda: cab.kinds("power_out_of_tolerance") == [("controller", True)], what="raise"
        )
        raised = next(e for e in cab.events if e.kind == "power_out_of_tolerance")
        assert raised.fields["expected_w"] == pytest.approx(3300 * (0.07 + 0.93 * 0.5), abs=1)
        assert isinstance(raised.fields["power_w"], float)
        assert raised.fields["power_w"] < 0.75 * 1765.5
        cab.lift(failed)
        await until(lambda: len(cab.kinds("power_out_of_tolerance")) == 2, what="clear")
        assert cab.kinds("contactor_error") == []


async def test_cabinet_door_open_raises_and_clears(tmp_path: Path) -> None:
    async with cabinet(tmp_path, NIGHT) as cab:
        await cab.command(100)
        door = cab.fault(FaultKind.DOOR_OPEN)
        await until(lambda: cab.kinds("cabinet_door_open") == [("controller", True)], what="raise")
        cab.lift(door)
        await until(lambda: len(cab.kinds("cabinet_door_open")) == 2, what="clear")
        assert cab.kinds("cabinet_door_open")[-1] == ("controller", False)


BUILD_SCENARIO = (
    SCENARIO + "    dali_lines:\n      - {id: dali, gear: 4, rated_w: 40, circuit: 1}\n"
)


@dataclass
class Built:
    territory: RunningTerritory
    backends: LightingBackends
    events: list[Event]
    readings: list[Reading]


@contextlib.asynccontextmanager
async def built_cabinet(tmp_path: Path, status_poll_s: float = 60) -> AsyncIterator[Built]:
    """The cabinet with a DALI line on circuit 2, driven by ``build_group_actuators``."""
    (tmp_path / "build.yaml").write_text(BUILD_SCENARIO, encoding="utf-8")
    clock = ScaledClock(NIGHT, SPEED)
    territory = await start_territory(
        load_scenario(str(tmp_path / "build.yaml")), clock, speed=SPEED
    )
    endpoint, dali = territory.gateways[0], territory.dali[0]
    bus = ModbusBus(TcpBus(name="cabinet", kind="tcp", host=endpoint.host, port=int(endpoint.port)))
    profiles = load_profiles(default_profiles_dir())
    units = {d.id: d for d in endpoint.devices}
    devices = {
        name: ModbusDevice(name, bus, units[name].unit, profiles[units[name].profile])
        for name in ("meter", "controller")
    }
    group = GROUP.model_copy(update={"dali": DaliTarget(line="dali", broadcast=True)})
    line = DaliLineConfig(
        name="dali", port=f"luba232:socket://{dali.host}:{dali.port}", status_poll_s=status_poll_s
    )
    lighting = LightingConfig(
        state_path=tmp_path / "lighting.json",
        site=SiteConfig(latitude=49.4683, longitude=5.9289),
        dali_lines=[line],
        groups=[group],
    )
    built = Built(territory, LightingBackends({}), [], [])

    async def events(batch: Sequence[Event]) -> None:
        built.events.extend(msgspec.convert(msgspec.to_builtins(e), Event) for e in batch)

    async def readings(batch: Sequence[Reading]) -> None:
        built.readings.extend(batch)

    built.backends = build_group_actuators(
        lighting, devices=devices, clock=clock, on_readings=readings, on_events=events
    )
    try:
        built.backends.start()
        await built.backends.lines["dali"].wait_up(60)
        yield built
    finally:
        await built.backends.close()
        await bus.close()
        await territory.stop()


async def test_built_group_actuators_drive_contactor_setpoint_and_dali_and_read_back(
    tmp_path: Path,
) -> None:
    async with built_cabinet(tmp_path) as built:
        actuators = built.backends.actuators["main_street"]
        assert [a.name for a in actuators] == [
            "contactor:controller",
            "setpoint:controller",
            "dali:dali/broadcast",
        ]
        for actuator in actuators:
            await actuator.apply(50, 0)
        assert [await a.read_back() for a in actuators] == [100.0, 50.0, pytest.approx(50.53)]
        for actuator in actuators:
            await actuator.apply(0, 0)
        # contactors open; the setpoint keeps 50 % (held while switched off); the DALI gear, fed
        # through the contactor, lost mains and cannot answer: no level to read back
        assert [await a.read_back() for a in actuators] == [0.0, 50.0, None]
        cabinet = built.territory.territory.parts.cabinet_for("vil-c001")
        assert cabinet.state.contactors == [False, False]


async def test_dali_lamp_and_gear_failures_injected_in_the_territory_raise_and_clear(
    tmp_path: Path,
) -> None:
    async with built_cabinet(tmp_path, status_poll_s=5) as built:  # a pass every 5 s simulated
        for actuator in built.backends.actuators["main_street"]:
            await actuator.apply(100, 0)  # circuit 2 closed: the DALI gear have mains
        parts = built.territory.territory.parts
        lamp = FaultAction(FaultKind.LAMP_FAILURE, "vil-c001/dali/1")
        gear = FaultAction(FaultKind.GEAR_FAILURE, "vil-c001/dali/2")
        faults.apply(parts, lamp)
        faults.apply(parts, gear)

        def kinds() -> list[tuple[str, str, bool]]:
            return [(e.kind, e.device, e.active) for e in built.events]

        await until(lambda: len(kinds()) == 2, what="raise")
        assert sorted(kinds()) == [
            ("gear_failure", "dali-dali-gear-2", True),
            ("lamp_failure", "dali-dali-gear-1", True),
        ]
        faults.apply(parts, lamp.lifted())
        faults.apply(parts, gear.lifted())
        await until(lambda: len(kinds()) == 4, what="clear")
        assert sorted(kinds()[2:]) == [
            ("gear_failure", "dali-dali-gear-2", False),
            ("lamp_failure", "dali-dali-gear-1", False),
        ]
        tagged = [r for r in built.readings if r.device == "dali-dali-gear-1"]
        assert tagged[0].tags == {"line": "dali", "group": "main_street"}
