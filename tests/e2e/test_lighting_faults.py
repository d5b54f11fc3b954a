"""Every fault injected in the simulated territory opens its registry alarm, which clears with it.

Simulated cabinet (meter and controller on Modbus TCP) with a DALI line (the LUBA simulator, 4
gear on the cabinet's circuit) → the real edge agent with its lighting section (no program: the
safe default, on at sunset + 15 min at 100 %) → Mosquitto → the cloud runtime (ingest, scheduler,
API; SQLite registry and store), all on one ScaledClock (1 wall second = 2 simulated minutes).
Alarms are read only through ``GET /api/v1/alarms``.

The run starts at 14:30 local in late November, in daylight (margin for a loaded machine):

- a day-burner (``lampUnexpectedOn``) and an open door (``cabinetDoorOpen``);
- the agent stopped (``gatewaySilent``: its last status says offline) and started again;
- the meter made silent in the simulator (``deviceSilent``), then answering again;

then, once the road is lit (sunset 16:44, on at 16:59):

- a lamp failure and a gear failure on two DALI gear (``lampFailure``, ``gearFailure``);
- 12 of the cabinet's 20 luminaires dark (``powerOutOfTolerance`` for the commanded 100 %);
- the contactor stuck open while commanded closed (``contactorError``).

Each alarm is tied to its injection: the episode found open was opened after the fault was
injected, and it is that same episode (same id) that is found cleared after the fault is lifted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from cloud.config import ApiConfig, CloudConfig, MqttConfig, RegistryConfig
from cloud.registry.tokens import create_token
from cloud.runtime import CloudRuntime
from cloud.store.settings import SqliteSettings, StoreSettings
from demo.wiring import gateway_config, register
from eclor.clock import ScaledClock
from edge.agent import EdgeAgent
from edge.config import Broker, GatewayConfig, LoadedConfig, Uplink
from edge.lighting.config import LightingConfig
from edge.profiles import default_profiles_dir, load_profiles
from simulators.modbus.faults import Fault
from simulators.runner import RunningTerritory, start_territory
from simulators.scenario import load_scenario
from simulators.state import CabinetState
from simulators.territory import faults
from simulators.territory.faults import FaultAction, FaultKind
from tests.services.mosquitto import MosquittoServer
from tests.services.plugin import MosquittoFactory

pytestmark = pytest.mark.integration
T = TypeVar("T")
PARIS = ZoneInfo("Europe/Paris")
SPEED = 120.0
GW = "thi-c003"
LAT, LON = 49.4731, 5.9075
CABINET_W, GEAR, GEAR_W = 1100.0, 4, 40.0
START = datetime(2026, 11, 24, 14, 30, tzinfo=PARIS)  # the by-day faults need daylight margin
LIT_FROM = datetime(2026, 11, 24, 17, 0, tzinfo=PARIS)  # sunset 16:44 + 15 min
SCENARIO = f"""
name: lighting-faults
timezone: Europe/Paris
seed: 5
tick_s: 0.02
lighting: {{on_offset_min: 15, off_offset_min: 15, luminaire_w: 55, standby_w: 0}}
gateways:
  - id: {GW}
    site: Thil — rue des Alliés
    commune: Thil
    latitude: {LAT}
    longitude: {LON}
    bus: {{kind: tcp}}
    cabinet: {{installed_w: {CABINET_W}, circuits: 1}}
    devices:
      - {{id: meter, model: sdm630, unit: 1}}
      - {{id: controller, model: cabinet_controller, unit: 2}}
    dali_lines:
      - {{id: dali, gear: {GEAR}, rated_w: {GEAR_W}, circuit: 0}}
"""
CONTROLLER, METER = f"{GW}-controller", f"{GW}-meter"
WITHIN_S = 20.0
"""Real seconds for an alarm to open or clear (40 simulated minutes)."""


def edge_config(running: RunningTerritory, broker: MosquittoServer, folder: Path) -> LoadedConfig:
    profiles = load_profiles(default_profiles_dir())
    base: GatewayConfig = gateway_config(
        running.gateways[0],
        running.scenario,
        Broker(host=broker.host, port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0),
        folder,
        profiles,
        poll_interval_s=30,  # 0.25 s of wall time
        uplink=Uplink(status_interval_s=1.0),  # wall seconds: device health reaches the cloud
    )
    [dali] = running.dali
    lighting = LightingConfig.model_validate(
        {
            "state_path": folder / "lighting.json",
            "tick_s": 30,
            "site": {"latitude": LAT, "longitude": LON},
            "dali_lines": [
                {
                    "name": "dali",
                    "port": f"luba232:socket://{dali.host}:{dali.port}",
                    "timeout_s": 2.0,  # the whole territory shares one loop on a busy machine
                    "status_poll_s": 60,  # a QUERY STATUS pass every 0.5 s of wall time
                    "energy_poll_s": 86_400,
                }
            ],
            "groups": [
                {
                    "name": "main",
                    "dali": {"line": "dali", "broadcast": True},
                    "contactor": {"device": CONTROLLER, "outputs": ["contactor_1"]},
                    "setpoint": {"device": CONTROLLER, "output": "dim_setpoint_pct"},
                    # the cabinet's luminaires and the DALI gear, all behind the one meter
                    "meter": {"device": METER, "rated_w": CABINET_W + GEAR * GEAR_W},
                }
            ],
        }
    )
    config = base.model_copy(update={"lighting": lighting})
    return LoadedConfig(source=folder, config=config, profiles=profiles)


def cloud_config(folder: Path, broker: MosquittoServer) -> CloudConfig:
    return CloudConfig(
        mqtt=MqttConfig(host=broker.host, port=broker.port),
        store=StoreSettings(sqlite=SqliteSettings(path=folder / "ts.sqlite", retention_days=None)),
        registry=RegistryConfig(url=f"sqlite:///{folder / 'registry.sqlite'}"),
        api=ApiConfig(port=0),
    )


class Agent:
    """The edge agent, stopped and started again on the same config (outbox, lighting state)."""

    def __init__(self, config: LoadedConfig, clock: ScaledClock) -> None:
        self.config, self.clock = config, clock
        self.agent: EdgeAgent | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> EdgeAgent:
        self.agent = EdgeAgent(self.config, self.clock)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.agent.run(self._stop))
        await asyncio.wait_for(self.agent.ready.wait(), 30)
        return self.agent

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: str
    device: str
    state: str
    opened_at: datetime


class Alarms:
    """The operator's view: ``GET /api/v1/alarms``, nothing else."""

    def __init__(self, api: httpx.AsyncClient, clock: ScaledClock) -> None:
        self.api, self.clock = api, clock

    async def listed(self, state: str) -> list[Alarm]:
        reply = await self.api.get("/api/v1/alarms", params={"state": state, "limit": 200})
        assert reply.status_code == 200, reply.text
        items: list[dict[str, Any]] = reply.json()["items"]
        return [
            Alarm(
                a["id"], a["kind"], a["device"], a["state"], datetime.fromisoformat(a["opened_at"])
            )
            for a in items
        ]

    async def opened(self, kind: str, device: str, since: datetime) -> Alarm:
        """The open episode of ``kind`` on ``device`` opened at or after ``since``."""

        async def found() -> Alarm | None:
            for alarm in await self.listed("open"):
                if (alarm.kind, alarm.device) == (kind, device) and alarm.opened_at >= since:
                    return alarm
            return None

        return await self._until(found, f"{kind} on {device} open")

    async def cleared(self, alarm: Alarm) -> Alarm:
        async def found() -> Alarm | None:
            return next((a for a in await self.listed("cleared") if a.id == alarm.id), None)

        return await self._until(found, f"{alarm.kind} on {alarm.device} cleared")

    async def quiet(self, kind: str, device: str) -> None:
        """No open episode of ``kind`` on ``device`` (one left by an earlier step has cleared)."""

        async def found() -> bool | None:
            listed = await self.listed("open")
            return True if all((a.kind, a.device) != (kind, device) for a in listed) else None

        await self._until(found, f"no open {kind} on {device}")

    async def _until(self, probe: Callable[[], Awaitable[T | None]], what: str) -> T:
        deadline = time.monotonic() + WITHIN_S
        while time.monotonic() < deadline:
            result = await probe()
            if result is not None:
                return result
            await asyncio.sleep(0.2)
        open_now = [(a.kind, a.device) for a in await self.listed("open")]
        raise AssertionError(f"not within {WITHIN_S} s: {what} (open: {open_now})")


@dataclass
class Field:
    """The simulated territory: inject a fault, lift it; remembers the simulated time."""

    running: RunningTerritory
    clock: ScaledClock

    def inject(self, action: FaultAction) -> datetime:
        at = self.clock.now() - timedelta(seconds=1)
        faults.apply(self.running.territory.parts, action)
        return at

    def lift(self, action: FaultAction) -> None:
        faults.apply(self.running.territory.parts, action.lifted())

    @property
    def lit(self) -> bool:
        cabinet = self.running.territory.parts.device_states[f"{GW}/controller"]
        assert isinstance(cabinet, CabinetState)
        return cabinet.contactors[0]


async def test_every_fault_opens_its_alarm_and_clears_with_it(
    tmp_path: Path, mosquitto_factory: MosquittoFactory
) -> None:
    broker = mosquitto_factory()
    (tmp_path / "faults.yaml").write_text(SCENARIO, encoding="utf-8")
    clock = ScaledClock(START, SPEED)
    running = await start_territory(
        load_scenario(str(tmp_path / "faults.yaml")), clock, speed=SPEED
    )
    runtime = CloudRuntime(cloud_config(tmp_path, broker), clock=clock)
    cloud_stop = asyncio.Event()
    cloud_task = asyncio.create_task(runtime.run(cloud_stop))
    agent = Agent(edge_config(running, broker, tmp_path / "edge"), clock)
    started = time.monotonic()
    try:
        await asyncio.wait_for(runtime.ready.wait(), 30)
        now = datetime.now(UTC)
        with runtime.sessions.begin() as session:
            register(session, agent.config.config, now)
            token = create_token(session, "e2e", ["technician"], now=now).secret
        await agent.start()
        api = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{runtime.api_port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        async with api:
            alarms, field = Alarms(api, clock), Field(running, clock)
            await by_day(alarms, field, agent)
            await by_night(alarms, field)
    finally:
        await agent.stop()
        cloud_stop.set()
        await asyncio.wait_for(cloud_task, 30)
        await running.stop()
    took = time.monotonic() - started
    print(f"faults end to end: {took:.1f} s wall, to {clock.now().astimezone(PARIS):%H:%M} local")


async def by_day(alarms: Alarms, field: Field, agent: Agent) -> None:
    assert not field.lit, "by day, the edge keeps the contactor open"
    burner = FaultAction(FaultKind.DAY_BURNER, GW)
    door = FaultAction(FaultKind.DOOR_OPEN, GW)
    since = field.inject(burner)
    field.inject(door)
    burning = await alarms.opened("lampUnexpectedOn", CONTROLLER, since)
    opened = await alarms.opened("cabinetDoorOpen", CONTROLLER, since)
    field.lift(burner)
    field.lift(door)
    await alarms.cleared(burning)
    await alarms.cleared(opened)
    assert field.clock.now() < LIT_FROM - timedelta(minutes=15), "the day-burner was by day"

    since = field.clock.now()
    await agent.stop()  # its last status says offline
    silent = await alarms.opened("gatewaySilent", GW, since)
    await agent.start()
    await alarms.cleared(silent)

    # the agent's absence left the devices unheard for a while: that settles first
    await alarms.quiet("deviceSilent", METER)
    meter = field.running.devices[f"{GW}/meter"]
    since = field.clock.now()
    meter.faults.set(Fault.NO_ANSWER)
    mute = await alarms.opened("deviceSilent", METER, since)
    meter.faults.clear(Fault.NO_ANSWER)
    await alarms.cleared(mute)


async def by_night(alarms: Alarms, field: Field) -> None:
    lit_and_settled = LIT_FROM + timedelta(minutes=10)  # the DALI gear found since power-up
    await field.clock.sleep(max(0.0, (lit_and_settled - field.clock.now()).total_seconds()))
    assert field.lit, "the edge closed the contactor at dusk"
    lamp = FaultAction(FaultKind.LAMP_FAILURE, f"{GW}/dali/1")
    gear = FaultAction(FaultKind.GEAR_FAILURE, f"{GW}/dali/2")
    dark = FaultAction(FaultKind.LAMP_FAILURE, GW, circuit=0, count=12)  # 12 of 20 luminaires
    since = field.inject(lamp)
    field.inject(gear)
    field.inject(dark)
    failed_lamp = await alarms.opened("lampFailure", "dali-dali-gear-1", since)
    failed_gear = await alarms.opened("gearFailure", "dali-dali-gear-2", since)
    low = await alarms.opened("powerOutOfTolerance", CONTROLLER, since)
    for action in (lamp, gear, dark):
        field.lift(action)
    for alarm in (failed_lamp, failed_gear, low):
        await alarms.cleared(alarm)

    stuck = FaultAction(FaultKind.STUCK_CONTACTOR, GW, circuit=0, closed=False)
    since = field.inject(stuck)  # commanded closed, stays open: no power at night
    error = await alarms.opened("contactorError", CONTROLLER, since)
    field.lift(stuck)
    await alarms.cleared(error)
