"""A lit day and night end to end: simulated cabinet and DALI line → edge agent executing the
program → Mosquitto → cloud (ingest, API, scheduler; SQLite registry and store), on one shared
ScaledClock (1 wall second = 20 simulated minutes).

The program (put through the operator API): on at sunset + 15 min, off at sunrise − 15 min, a
22:00 step to 50 %, a 23:00–05:00 switch-off. The run covers one whole local day's lighting: it
starts at 02:30, inside the switch-off window (the road is dark by the program, so the day's
energy before the start is nil; the simulated cabinet starts with its contactor open, as the
switch-off left it), and ends after midnight.

What it shows (issue 6, first two "must show" bullets):

- the simulated DALI gear, the cabinet's contactor and dim setpoint follow the program, sampled
  from the simulator at chosen instants;
- an override set through the API comes back with the level read back; then the cloud AND the
  broker are stopped: the edge keeps executing, the override ends on time without the cloud, the
  22:00 step and the 23:00 switch-off still happen;
- once both are back, the edge's backlog arrives, and the cloud's savings for the day against a
  full-power baseline (installed W × lit hours) match the simulator's ground truth (its meter
  integrates energy exactly; lit hours computed here with astral) within 2 points.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
from astral import Observer
from astral.sun import sunrise, sunset

from cloud.config import ApiConfig, CloudConfig, MqttConfig, RegistryConfig
from cloud.registry.baselines import set_baseline
from cloud.registry.devices import add_lighting_group
from cloud.registry.gateways import set_gateway_site
from cloud.registry.models import LightingBackend, SiteKind
from cloud.registry.places import add_commune, add_site
from cloud.registry.tokens import create_token
from cloud.runtime import CloudRuntime
from cloud.savings.jobs import write_days
from cloud.scheduler import JobContext
from cloud.store.settings import SqliteSettings, StoreSettings
from demo.wiring import gateway_config, register
from eclor.clock import ScaledClock, to_epoch_ms
from eclor.wire import (
    Calendar,
    ControlProgram,
    LevelStep,
    SwitchTime,
    Window,
)
from edge.agent import EdgeAgent
from edge.config import Broker, GatewayConfig, LoadedConfig, Uplink
from edge.lighting.config import LightingConfig
from edge.profiles import default_profiles_dir, load_profiles
from simulators.runner import RunningTerritory, start_territory
from simulators.scenario import load_scenario
from simulators.state import CabinetState, MeterState
from tests.services.mosquitto import MosquittoServer
from tests.services.plugin import MosquittoFactory
from tests.support.gateway import until

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
SPEED = 1200.0
DAY = date(2026, 11, 24)
GW = "thi-c002"
LAT, LON = 49.4731, 5.9075
CABINET_W = 1100.0
GEAR, GEAR_W = 8, 40.0
INSTALLED_W = CABINET_W + GEAR * GEAR_W
SCENARIO = f"""
name: lighting-night
timezone: Europe/Paris
seed: 11
tick_s: 0.02
lighting: {{on_offset_min: 15, off_offset_min: 15, luminaire_w: 55, standby_w: 0}}
gateways:
  - id: {GW}
    site: Thil — rue de la Gare
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


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


START = at(2, 30)
DALI_LAG = timedelta(minutes=3)
"""A DALI command queues behind the line's own traffic (queries wait up to their timeout), and
50 ms of real time is a simulated minute here."""
POWER_UP = timedelta(minutes=10)
"""DALI gear get mains when the contactor closes and come up at POWER ON LEVEL; the edge's level
reaches them after the line is back (a second or two of real DALI traffic = tens of simulated
minutes at this speed, see the report). Contactor and setpoint are held to 2 minutes."""
END = at(0, 20, DAY + timedelta(days=1))
NIGHT = ControlProgram(
    id="night",
    on=SwitchTime(ref="sunset", offset_min=15),
    off=SwitchTime(ref="sunrise", offset_min=-15),
    steps=[LevelStep(at=SwitchTime(ref="fixed", time="22:00"), level_pct=50)],
    switch_off=[Window(start="23:00", end="05:00")],
)


def program_body() -> dict[str, Any]:
    body = {
        "site": {"latitude": LAT, "longitude": LON, "timezone": "Europe/Paris"},
        "programs": [NIGHT],
        "calendars": [Calendar(id="all", default_program="night")],
        "assignments": [{"group": "main", "calendar": "all"}],
    }
    return msgspec.to_builtins(body)  # type: ignore[no-any-return]


def true_night(evening: date) -> tuple[datetime, datetime]:
    observer = Observer(LAT, LON)
    on = sunset(observer, evening, tzinfo=PARIS) + timedelta(minutes=15)
    off = sunrise(observer, evening + timedelta(days=1), tzinfo=PARIS) - timedelta(minutes=15)
    return on, off


def true_lit_hours(day: date) -> float:
    """The local day's share of last night and tonight (astral, computed independently)."""
    midnight, next_midnight = at(0, 0, day), at(0, 0, day + timedelta(days=1))
    _, morning_off = true_night(day - timedelta(days=1))
    evening_on, _ = true_night(day)
    return ((morning_off - midnight) + (next_midnight - evening_on)).total_seconds() / 3600


@dataclass
class Sample:
    at: datetime
    gear_pct: tuple[float, ...]
    closed: bool
    setpoint: int
    energy_kwh: float


class Watch:
    """Samples the simulated territory every 10 ms of wall time, stamped with the shared clock."""

    def __init__(self, running: RunningTerritory, clock: ScaledClock) -> None:
        parts = running.territory.parts
        self.gear = parts.dali_lines[f"{GW}/dali"].gear
        cab = parts.device_states[f"{GW}/controller"]
        meter = parts.meters[f"{GW}/meter"]
        assert isinstance(cab, CabinetState)
        assert isinstance(meter, MeterState)
        self.cab, self.meter, self.clock = cab, meter, clock
        self.samples: list[Sample] = []

    async def run(self) -> None:
        while True:
            self.samples.append(
                Sample(
                    self.clock.now(),
                    tuple(g.light_percent for g in self.gear),
                    self.cab.contactors[0],
                    self.cab.dim_setpoint_pct,
                    self.meter.import_energy_kwh,
                )
            )
            await asyncio.sleep(0.01)

    def between(self, start: datetime, end: datetime) -> list[Sample]:
        found = [s for s in self.samples if start <= s.at < end]
        assert len(found) > 3, f"samples between {start} and {end}"
        return found

    def held(self, start: datetime, end: datetime, level: float) -> None:
        """Gear, contactor and setpoint all at ``level`` through ``[start, end)``; at 0 the
        contactor is open (the setpoint then holds its last value, by design)."""
        for s in self.between(start, end):
            assert s.closed == (level > 0), f"contactor at {s.at:%H:%M} for {level} %"
            if level > 0:
                assert s.setpoint == round(level), f"setpoint {s.setpoint} at {s.at:%H:%M}"
            for pct in s.gear_pct:
                assert pct == pytest.approx(level, abs=1.0), f"gear at {s.at:%H:%M}: {pct}"

    def switched(self, after: datetime, closed: bool) -> datetime:
        """When the contactor was first ``closed`` (or open) after ``after``."""
        for s in self.samples:
            if s.at >= after and s.closed == closed:
                return s.at
        raise AssertionError(f"contactor never closed={closed} after {after}")

    def set_to(self, after: datetime, setpoint: int) -> datetime:
        """When the dim setpoint was first ``setpoint`` after ``after``."""
        for s in self.samples:
            if s.at >= after and s.setpoint == setpoint:
                return s.at
        raise AssertionError(f"setpoint never {setpoint} after {after}")

    def changed(self, after: datetime, level: float) -> datetime:
        """When the gear first reached ``level`` after ``after``."""
        for s in self.samples:
            if s.at >= after and all(abs(p - level) <= 1.0 for p in s.gear_pct):
                return s.at
        raise AssertionError(f"gear never at {level} % after {after}")

    def energy_at(self, moment: datetime) -> float:
        for a, b in itertools.pairwise(self.samples):
            if a.at <= moment <= b.at:
                span = (b.at - a.at).total_seconds() or 1.0
                return a.energy_kwh + (b.energy_kwh - a.energy_kwh) * (
                    (moment - a.at).total_seconds() / span
                )
        raise AssertionError(f"no sample around {moment}")

    def burning_h(self, start: datetime, end: datetime) -> float:
        lit = 0.0
        window = self.between(start, end)
        for a, b in itertools.pairwise(window):
            if a.closed:
                lit += (b.at - a.at).total_seconds()
        return lit / 3600


def cloud_config(folder: Path, broker: MosquittoServer) -> CloudConfig:
    return CloudConfig(
        mqtt=MqttConfig(host=broker.host, port=broker.port),
        store=StoreSettings(sqlite=SqliteSettings(path=folder / "ts.sqlite", retention_days=None)),
        registry=RegistryConfig(url=f"sqlite:///{folder / 'registry.sqlite'}"),
        api=ApiConfig(port=0),
    )


class Cloud:
    """The cloud runtime, stopped and started again on the same registry and store files."""

    def __init__(self, config: CloudConfig, clock: ScaledClock) -> None:
        self.config, self.clock = config, clock
        self.runtime: CloudRuntime | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> CloudRuntime:
        self.runtime = CloudRuntime(self.config, clock=self.clock)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.runtime.run(self._stop))
        await asyncio.wait_for(self.runtime.ready.wait(), 30)
        return self.runtime

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None

    def api(self, token: str) -> httpx.AsyncClient:
        assert self.runtime is not None
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.runtime.api_port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


def edge_config(running: RunningTerritory, broker: MosquittoServer, folder: Path) -> LoadedConfig:
    profiles = load_profiles(default_profiles_dir())
    base: GatewayConfig = gateway_config(
        running.gateways[0],
        running.scenario,
        Broker(host=broker.host, port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0),
        folder,
        profiles,
        poll_interval_s=300,
        uplink=Uplink(ack_timeout_s=86_400, status_interval_s=600),
    )
    [dali] = running.dali
    lighting = LightingConfig.model_validate(
        {
            "state_path": folder / "lighting.json",
            "tick_s": 30,
            # A DAPC sent as the contactor closes can reach gear still without mains, which then
            # come up at POWER ON LEVEL (100 %); the executor's re-send repairs it. 60 s keeps
            # that within the 2-minute tolerance below (the default is 600 s; see the report).
            "reassert_s": 60,
            "site": {"latitude": LAT, "longitude": LON},
            "dali_lines": [
                {
                    "name": "dali",
                    "port": f"luba232:socket://{dali.host}:{dali.port}",
                    "timeout_s": 2.0,  # the whole territory shares one loop on a busy machine
                    "status_poll_s": 3600,
                    "energy_poll_s": 86_400,
                }
            ],
            "groups": [
                {
                    "name": "main",
                    "dali": {"line": "dali", "broadcast": True},
                    "contactor": {"device": f"{GW}-controller", "outputs": ["contactor_1"]},
                    "setpoint": {"device": f"{GW}-controller", "output": "dim_setpoint_pct"},
                }
            ],
        }
    )
    config = base.model_copy(update={"lighting": lighting})
    return LoadedConfig(source=folder, config=config, profiles=profiles)


def seed_registry(runtime: CloudRuntime, edge: LoadedConfig) -> str:
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        register(session, edge.config, now)
        add_commune(session, "57672", "Thil")
        add_site(
            session,
            GW,
            name="Thil — rue de la Gare",
            commune="57672",
            kind=SiteKind.CABINET,
            latitude=LAT,
            longitude=LON,
        )
        set_gateway_site(session, GW, GW)
        add_lighting_group(
            session, GW, "main", name="Main street", backend=LightingBackend.DALI, members=[]
        )
        set_baseline(session, GW, now=now, installed_w=INSTALLED_W, meter_device=f"{GW}-meter")
        return create_token(session, "e2e", ["energy-manager"], now=now).secret


async def until_sim(clock: ScaledClock, moment: datetime) -> None:
    await until(lambda: clock.now() >= moment, within=120, what=f"simulated {moment}")


async def test_a_lit_night_with_the_cloud_and_broker_gone_mid_night(
    tmp_path: Path, mosquitto_factory: MosquittoFactory
) -> None:
    broker = mosquitto_factory()
    (tmp_path / "night.yaml").write_text(SCENARIO, encoding="utf-8")
    clock = ScaledClock(START, SPEED)
    running = await start_territory(load_scenario(str(tmp_path / "night.yaml")), clock, speed=SPEED)
    cabinet = running.territory.parts.device_states[f"{GW}/controller"]
    assert isinstance(cabinet, CabinetState)
    cabinet.contactors[0] = False  # dark, as the 23:00-05:00 switch-off left it
    cabinet.dim_setpoint_pct = 0
    start_kwh = running.territory.parts.meters[f"{GW}/meter"].import_energy_kwh
    cloud = Cloud(cloud_config(tmp_path, broker), clock)
    runtime = await cloud.start()
    edge = edge_config(running, broker, tmp_path / "edge")
    token = seed_registry(runtime, edge)
    async with cloud.api(token) as api:
        put = await api.put(f"/api/v1/gateways/{GW}/program", json=program_body())
        assert put.status_code == 200, put.text
    watch = Watch(running, clock)
    watcher = asyncio.create_task(watch.run())
    agent = EdgeAgent(edge, clock)
    agent_stop = asyncio.Event()
    agent_task = asyncio.create_task(agent.run(agent_stop))
    try:
        await night(clock, cloud, broker, watch, agent, token)
        await until_sim(clock, END)
        runtime = cloud.runtime  # type: ignore[assignment]
        assert runtime is not None
        assert runtime.store is not None
        store = runtime.store
        cutoff = to_epoch_ms(at(0, 5, DAY + timedelta(days=1)))

        async def stored_until() -> int:
            rows = await store.latest("energy", {"gateway": GW}, fields=["energy_import_kwh"])
            return max((row.time_ms for row in rows), default=0)

        for _ in range(300):
            if await stored_until() >= cutoff:
                break
            await asyncio.sleep(0.1)
        assert await stored_until() >= cutoff, "the edge's backlog reached the store"
        await write_days(JobContext(runtime.sessions, store, clock), DAY, DAY)
        async with cloud.api(token) as api:
            reply = await api.get(
                f"/api/v1/savings/cabinets/{GW}", params={"from": str(DAY), "to": str(DAY)}
            )
        assert reply.status_code == 200, reply.text
        # DAY's row: the scheduler's savings job also writes the simulated today as it goes
        day_start = int(at(0, 0).timestamp() * 1000)
        burning = await store.aggregate(
            "burning",
            "burning_h",
            start_ms=day_start,
            end_ms=int(at(0, 0, DAY + timedelta(days=1)).timestamp() * 1000),
            every_ms=7 * 86_400_000,
            fn="max",
            where={"gateway": GW},
            group_by=("group",),
        )
    finally:
        agent_stop.set()
        await asyncio.wait_for(agent_task, 30)
        watcher.cancel()
        await cloud.stop()
        await running.stop()

    check_savings(reply.json()["total"], watch, start_kwh)
    [main] = burning
    [day_row] = main.windows
    # From 04:00: at start-up the contactor follows the program a few simulated minutes late
    # (a fraction of a real second), while the cloud counts what the edge commanded.
    true_burning = watch.burning_h(at(4, 0), at(0, 0, DAY + timedelta(days=1)))
    assert day_row.value == pytest.approx(true_burning, abs=0.1)


async def night(
    clock: ScaledClock,
    cloud: Cloud,
    broker: MosquittoServer,
    watch: Watch,
    agent: EdgeAgent,
    token: str,
) -> None:
    minute = timedelta(minutes=1)
    morning_on, _ = (at(5), None)
    _, morning_off = true_night(DAY - timedelta(days=1))
    evening_on, _ = true_night(DAY)

    await until_sim(clock, at(7, 0))
    watch.held(at(4, 40), at(4, 58), 0)
    closed = watch.switched(at(4, 40), True)
    assert morning_on <= closed <= morning_on + 2 * minute, "contactor on time"
    assert watch.changed(at(4, 40), 50) <= closed + POWER_UP
    watch.held(closed + POWER_UP, at(7, 0), 50)

    await until_sim(clock, evening_on + 30 * minute)
    watch.held(morning_off + 3 * minute, evening_on - 3 * minute, 0)
    closed = watch.switched(morning_off + 3 * minute, True)
    assert evening_on <= closed <= evening_on + 2 * minute, "contactor on time"
    assert watch.changed(closed, 100) <= closed + POWER_UP

    await until_sim(clock, at(20, 0))
    watch.held(evening_on + POWER_UP + 2 * minute, at(20, 0), 100)
    override_end = at(22, 40)
    async with cloud.api(token) as api:
        reply = await api.post(
            "/api/v1/lighting/overrides",
            params={"wait": 10},
            json={
                "gateway": GW,
                "target": "group:main",
                "level_pct": 30,
                "until": override_end.isoformat(),
            },
        )
    assert reply.status_code == 201, reply.text
    result = reply.json()["result"]
    assert result["ok"] is True, result
    assert result["observed"]["target_pct"] == 30
    assert result["observed"]["level_pct"] == pytest.approx(30, abs=1.0), "read back"

    await cloud.stop()
    broker.stop()
    await until(lambda: not agent.link.connected.is_set(), what="edge link down")
    stopped_at = clock.now()
    assert stopped_at < at(21, 30), "cloud and broker gone well before the 22:00 step"

    await until_sim(clock, at(23, 30))
    watch.held(stopped_at + 5 * minute, override_end - minute, 30)
    resumed = watch.set_to(override_end - minute, 50)
    assert override_end <= resumed <= override_end + 2 * minute, "override ends on time"
    assert watch.changed(override_end - minute, 50) <= resumed + DALI_LAG
    watch.held(override_end + 3 * minute, at(22, 59), 50)
    watch.held(at(23, 3), at(23, 30), 0)
    assert not agent.link.connected.is_set(), "all of this without the cloud"

    broker.restart()
    await cloud.start()


def check_savings(total: dict[str, Any], watch: Watch, start_kwh: float) -> None:
    lit_h = true_lit_hours(DAY)
    actual = watch.energy_at(at(0, 0, DAY + timedelta(days=1))) - start_kwh
    baseline = INSTALLED_W * lit_h / 1000
    truth_pct = 100 * (1 - actual / baseline)
    print(  # the figures, for `pytest -s`
        f"lit {lit_h:.3f} h; truth {actual:.3f} kWh, {truth_pct:.2f} %; cloud "
        f"{total['actual_kwh']} kWh, {total['savings_pct']} % against {total['baseline_kwh']} kWh"
    )
    assert actual > 3, "the cabinet burned"
    assert total["lit_hours"] == pytest.approx(lit_h, abs=0.01)
    assert total["baseline_kwh"] == pytest.approx(baseline, rel=1e-3)
    assert total["actual_kwh"] == pytest.approx(actual, rel=0.02)
    assert total["savings_pct"] == pytest.approx(truth_pct, abs=2.0)
    assert 30 < truth_pct < 80, f"a switch-off and a 50 % step save a lot: {truth_pct:.1f} %"
