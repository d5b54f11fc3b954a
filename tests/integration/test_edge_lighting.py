"""The lighting executor in a real agent: a simulated cabinet controller on Modbus/TCP (contactor
and setpoint back-ends), a real Mosquitto, and a ScaledClock night (1 wall second = 20 simulated
minutes).

One night, in order: the program (22:00 step to 50 %, 23:00–05:00 switch-off) arrives retained and
drives the cabinet; an operator override is answered with the level read back, the broker is
stopped, and the override still ends on time; the agent is stopped and restarted offline before
dawn and resumes the persisted program at 05:00 (50 %, not the 100 % of the no-program default).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import paho.mqtt.publish
import pytest

from demo.wiring import gateway_config
from eclor.clock import Clock, ScaledClock, to_epoch_ms
from eclor.wire import (
    Assignment,
    Calendar,
    Command,
    ControlProgram,
    LevelStep,
    ProgramSet,
    Reading,
    Site,
    SwitchTime,
    Window,
    encode,
)
from edge.agent import EdgeAgent
from edge.config import Broker, LoadedConfig, Uplink, load_gateway_config
from edge.lighting.config import check_lighting
from edge.lighting.dali_levels import percent_to_arc
from edge.lighting.local_rules import LocalRule
from edge.profiles import default_profiles_dir, load_profiles
from simulators.modbus import CabinetController, LoopStation, Sdm630, serve_tcp
from simulators.runner import start_territory
from simulators.scenario import load_scenario
from simulators.state import CabinetState, LaneState, LoopStationState, MeterState
from tests.services.mosquitto import MosquittoServer
from tests.services.plugin import MosquittoFactory
from tests.support.gateway import until, write_config
from tests.support.test_cloud import CloudStandIn

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
SPEED = 1200.0
GATEWAY = "cab-lit-01"
SITE = Site(latitude=49.4717, longitude=5.9078, timezone="Europe/Paris")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def night_program_set() -> ProgramSet:
    program = ControlProgram(
        id="night",
        on=SwitchTime(ref="sunset", offset_min=15),
        off=SwitchTime(ref="sunrise", offset_min=-15),
        steps=[LevelStep(at=SwitchTime(ref="fixed", time="22:00"), level_pct=50)],
        switch_off=[Window(start="23:00", end="05:00")],
    )
    return ProgramSet(
        gateway=GATEWAY,
        revision=3,
        issued_at=to_epoch_ms(paris(27, 12)),
        site=SITE,
        programs=[program],
        calendars=[Calendar(id="all", default_program="night")],
        assignments=[Assignment(group="main", calendar="all")],
    )


@dataclass
class Sample:
    at: datetime
    closed: bool
    setpoint: int


class Watch:
    """Samples the simulated cabinet every 5 ms of wall time, stamped with the agent's clock."""

    def __init__(self, cab: CabinetState) -> None:
        self.cab = cab
        self.samples: list[Sample] = []
        self.clock: Clock | None = None

    async def run(self) -> None:
        while True:
            if self.clock is not None:
                now = self.clock.now()
                self.samples.append(Sample(now, self.cab.contactors[0], self.cab.dim_setpoint_pct))
            await asyncio.sleep(0.005)

    def first(self, after: datetime, closed: bool, setpoint: int | None = None) -> datetime:
        for s in self.samples:
            if s.at >= after and s.closed == closed and setpoint in (None, s.setpoint):
                return s.at
        raise AssertionError(f"never closed={closed} setpoint={setpoint} after {after}")

    def held(self, start: datetime, end: datetime, closed: bool, setpoint: int | None) -> bool:
        window = [s for s in self.samples if start <= s.at < end]
        return bool(window) and all(
            s.closed == closed and setpoint in (None, s.setpoint) for s in window
        )


@pytest.fixture
async def cabinet() -> AsyncIterator[tuple[int, CabinetState]]:
    cab = CabinetState(dim_setpoint_pct=0)
    meter = MeterState(voltage_v=[230.0, 230.0, 230.0], power_w=[0.0, 0.0, 0.0])
    handle = await serve_tcp({1: Sdm630(meter), 5: CabinetController(cab)}, "127.0.0.1", 0)
    yield handle.port, cab
    await handle.stop()


@pytest.fixture
def cloud(mosquitto: MosquittoServer) -> Iterator[CloudStandIn]:
    stand_in = CloudStandIn(mosquitto.host, mosquitto.port)
    yield stand_in
    stand_in.close()


def config(tmp_path: Path, broker_port: int, sim_port: int) -> Path:
    return write_config(
        tmp_path,
        GATEWAY,
        broker_port,
        buses=[{"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": sim_port}],
        devices=[
            {
                "id": "meter",
                "profile": "eastron-sdm630",
                "bus": "lan",
                "unit": 1,
                "poll_interval_s": 600,
            },
            {
                "id": "ctrl",
                "profile": "eclor-cabinet-controller",
                "bus": "lan",
                "unit": 5,
                "poll_interval_s": 600,
            },
        ],
        uplink={"ack_timeout_s": 3600, "status_interval_s": 2},
        lighting={
            "state_path": "lighting.json",
            "tick_s": 60,
            "site": {"latitude": SITE.latitude, "longitude": SITE.longitude},
            "groups": [
                {
                    "name": "main",
                    "contactor": {"device": "ctrl", "outputs": ["contactor_1"]},
                    "setpoint": {"device": "ctrl", "output": "dim_setpoint_pct"},
                }
            ],
        },
    )


@asynccontextmanager
async def agent_on(path: Path, clock: ScaledClock) -> AsyncIterator[EdgeAgent]:
    agent = EdgeAgent(load_gateway_config(path), clock)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    ready = asyncio.create_task(agent.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until_sim(clock: Clock, moment: datetime) -> None:
    await until(lambda: clock.now() >= moment, within=60, what=f"simulated {moment}")


def set_level(clock: Clock, level: float, until_at: datetime) -> Command:
    now = to_epoch_ms(clock.now())
    return Command(
        id=f"ovr-{now}",
        kind="set_level",
        target="group:main",
        args={"level_pct": level, "until": to_epoch_ms(until_at)},
        issued_at=now,
        expires_at=now + 3_600_000,
    )


async def test_a_night_an_offline_override_and_an_offline_restart(
    tmp_path: Path, mosquitto_factory: MosquittoFactory, cabinet: tuple[int, CabinetState]
) -> None:
    mosquitto = mosquitto_factory()  # a broker of its own: this test stops it
    cloud = CloudStandIn(mosquitto.host, mosquitto.port)
    port, cab = cabinet
    path = config(tmp_path, mosquitto.port, port)
    paho.mqtt.publish.single(
        f"eclor/v1/{GATEWAY}/program",
        encode(night_program_set()),
        qos=1,
        retain=True,
        hostname=mosquitto.host,
        port=mosquitto.port,
    )
    watch = Watch(cab)
    watcher = asyncio.create_task(watch.run())
    minute = timedelta(minutes=1)
    try:
        clock = ScaledClock(paris(27, 21, 15), SPEED)
        watch.clock = clock
        async with agent_on(path, clock) as agent:
            assert agent.lighting is not None
            executor = agent.lighting.executor
            await until(lambda: executor.programs.current is not None, what="program received")
            await until_sim(clock, paris(27, 22, 5))
            step = watch.first(paris(27, 21, 15), True, 50)
            assert paris(27, 22) <= step <= paris(27, 22) + 2 * minute
            assert watch.held(paris(27, 21, 45), paris(27, 21, 59), True, 100)

            await until_sim(clock, paris(27, 23, 5))
            dark = watch.first(paris(27, 22, 5), False)
            assert paris(27, 23) <= dark <= paris(27, 23) + 2 * minute
            assert cab.dim_setpoint_pct == 50  # the contactor switches off; the setpoint holds

            override_end = paris(27, 23, 50)
            cloud.send_command(GATEWAY, set_level(clock, 30, override_end))
            await until(lambda: len(cloud.received.results) >= 1, what="command result")
            result = cloud.received.results[0]
            assert result.ok, result.detail
            assert result.observed == {"target_pct": 30.0, "level_pct": 30.0}
            assert (cab.contactors[0], cab.dim_setpoint_pct) == (True, 30)
            await until(
                lambda: any(
                    r[2] == "lighting" and r[3]["source"] == "override" for r in cloud.readings()
                ),
                what="an override lighting reading in the cloud",
            )

            mosquitto.stop()
            await until(lambda: not agent.link.connected.is_set(), what="link down")
            assert clock.now() < override_end - 5 * minute
            await until_sim(clock, override_end + 5 * minute)
            ended = watch.first(override_end - 5 * minute, False)
            assert override_end <= ended <= override_end + 2 * minute
            await until_sim(clock, paris(28, 0, 10))

        watch.clock = None
        reborn = ScaledClock(paris(28, 4, 30), SPEED)
        watch.clock = reborn
        async with agent_on(path, reborn) as agent:
            assert agent.lighting is not None
            program = agent.lighting.executor.programs.current
            assert program is not None
            assert program.revision == 3
            await until_sim(reborn, paris(28, 5, 10))
            assert watch.held(paris(28, 4, 46), paris(28, 4, 59), False, None)
            dawn = watch.first(paris(28, 4, 46), True, 50)
            assert paris(28, 5) <= dawn <= paris(28, 5) + 2 * minute
            assert not agent.link.connected.is_set()
    finally:
        watcher.cancel()
        cloud.close()


async def test_demo_cabinet_drives_its_dali_line_and_answers_with_the_level_read_back(
    tmp_path: Path, mosquitto: MosquittoServer, cloud: CloudStandIn
) -> None:
    """The demo wiring's lighting section for vil-c001 (contactors, setpoint, meter, DALI line):
    with no program yet the safe default lights the road at night; a group override reaches the
    simulated DALI gear and comes back read back in the command result; so does an override of
    one gear, which leaves the others at the group's level."""
    scenario = load_scenario("demo")
    clock = ScaledClock(paris(27, 20), 30.0)
    territory = await start_territory(scenario, clock, speed=30.0)
    try:
        profiles = load_profiles(default_profiles_dir())
        configs = {
            endpoint.id: gateway_config(
                endpoint,
                scenario,
                Broker(host=mosquitto.host, port=mosquitto.port),
                tmp_path / "edge",
                profiles,
                poll_interval_s=600,
                uplink=Uplink(ack_timeout_s=3600, status_interval_s=2),
                dali=territory.dali,
            )
            for endpoint in territory.gateways
        }
        for gateway_id, config in configs.items():
            if config.lighting is not None:
                fields = {
                    d.id: [f.name for f in profiles[d.profile].fields] for d in config.devices
                }
                writables = {
                    d.id: [w.name for w in profiles[d.profile].writable] for d in config.devices
                }
                check_lighting(tmp_path / f"{gateway_id}.yaml", config.lighting, fields, writables)
        assert {g for g, c in configs.items() if c.lighting is not None} == {
            "vil-c001",
            "vil-c002",
            "aud-c001",
        }
        vil = configs["vil-c001"]
        assert vil.lighting is not None
        assert vil.lighting.groups[0].dali is not None
        gear = territory.territory.parts.dali_lines["vil-c001/dali"].gear
        loaded = LoadedConfig(source=tmp_path, config=vil, profiles=profiles)
        agent = EdgeAgent(loaded, clock)
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        try:
            await asyncio.wait_for(agent.ready.wait(), 30)
            await until(lambda: agent.link.connected.is_set(), what="agent connected")
            assert agent.lighting is not None
            executor = agent.lighting.executor
            await until(lambda: executor.commanded("main") is not None, what="first decision")
            assert executor.commanded("main").source == "no_program"  # type: ignore[union-attr]
            await until(lambda: all(g.actual_level == 254 for g in gear), what="lit at 100 %")
            cloud.send_command("vil-c001", set_level(clock, 30, paris(27, 23)))
            await until(lambda: len(cloud.received.results) >= 1, what="command result")
            result = cloud.received.results[0]
            assert result.ok, result.detail
            assert result.observed["target_pct"] == 30.0
            assert abs(float(result.observed["level_pct"]) - 30.0) < 1.0
            assert all(g.target_level == percent_to_arc(30) for g in gear)

            one = set_level(clock, 80, paris(27, 23))
            one = msgspec.structs.replace(one, id="gear-0", target="device:dali-dali-gear-0")
            cloud.send_command("vil-c001", one)
            await until(lambda: len(cloud.received.results) >= 2, what="gear command result")
            result = cloud.received.results[1]
            assert result.ok, result.detail
            assert abs(float(result.observed["level_pct"]) - 80.0) < 1.0
            assert [g.target_level for g in gear] == [percent_to_arc(80)] + [percent_to_arc(30)] * (
                len(gear) - 1
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    finally:
        await territory.stop()


async def test_a_local_loop_rule_raises_the_level_within_a_second_of_the_reading(
    tmp_path: Path, mosquitto: MosquittoServer
) -> None:
    """A loop station on the same gateway: when its reading shows 540 vehicles/h the local rule
    raises the group from the program's 50 % to 100 %, within a second of the reading arriving.
    On the way, an older program revision and a broken payload are refused and counted."""
    cab = CabinetState(dim_setpoint_pct=0)
    loops = LoopStationState(lanes=[LaneState(), LaneState()], interval_s=60)
    handle = await serve_tcp({5: CabinetController(cab), 7: LoopStation(loops)}, "127.0.0.1", 0)
    program = ControlProgram(
        id="half",
        on=SwitchTime(ref="fixed", time="18:00"),
        off=SwitchTime(ref="fixed", time="07:00"),
        level_pct=50,
    )
    program_set = msgspec.structs.replace(
        night_program_set(),
        programs=[program],
        calendars=[Calendar(id="all", default_program="half")],
    )
    paho.mqtt.publish.single(
        f"eclor/v1/{GATEWAY}/program",
        encode(program_set),
        qos=1,
        retain=True,
        hostname=mosquitto.host,
        port=mosquitto.port,
    )
    path = write_config(
        tmp_path,
        GATEWAY,
        mosquitto.port,
        buses=[{"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": handle.port}],
        devices=[
            {
                "id": "ctrl",
                "profile": "eclor-cabinet-controller",
                "bus": "lan",
                "unit": 5,
                "poll_interval_s": 30,
            },
            {
                "id": "loops",
                "profile": "eclor-loop-station",
                "bus": "lan",
                "unit": 7,
                "poll_interval_s": 0.5,
            },
        ],
        lighting={
            "state_path": "lighting.json",
            "site": {"latitude": SITE.latitude, "longitude": SITE.longitude},
            "groups": [
                {"name": "main", "setpoint": {"device": "ctrl", "output": "dim_setpoint_pct"}}
            ],
            "local_rules": [
                {
                    "group": "main",
                    "device": "loops",
                    "lanes": [1, 2],
                    "window_s": 60,
                    "hold_s": 600,
                    "steps": [{"min_vph": 0, "level_pct": 50}, {"min_vph": 300, "level_pct": 100}],
                }
            ],
        },
    )
    crossed: list[tuple[float, int]] = []  # wall time, setpoint when the rule crossed 300 veh/h
    rules: list[LocalRule] = []

    def watch_loops(readings: Sequence[Reading]) -> None:
        busy = rules and rules[0].vehicles_per_hour >= 300
        if busy and not crossed and any(r.device == "loops" for r in readings):
            crossed.append((time.monotonic(), cab.dim_setpoint_pct))

    try:
        async with agent_on(path, ScaledClock(paris(27, 21), 1.0)) as agent:
            assert agent.lighting is not None
            rules.extend(agent.lighting.rules)
            agent.batcher.observe(watch_loops)  # called after the rule's own observer
            await until(lambda: cab.dim_setpoint_pct == 50, what="program at 50 %")
            for payload in (encode(msgspec.structs.replace(program_set, revision=2)), b"{oops"):
                paho.mqtt.publish.single(
                    f"eclor/v1/{GATEWAY}/program",
                    payload,
                    qos=1,
                    hostname=mosquitto.host,
                    port=mosquitto.port,
                )
            samples = agent.metrics.registry.get_sample_value
            for reason in ("program_stale", "program_invalid"):
                await until(
                    lambda r=reason: (
                        samples("eclor_edge_rejected_messages_total", {"reason": r}) == 1
                    ),
                    what=f"{reason} counted",
                )
            assert agent.lighting.executor.programs.current.revision == 3  # type: ignore[union-attr]
            loops.lanes[0].interval_count, loops.lanes[1].interval_count = 5, 4  # 540 veh/h
            await until(lambda: bool(crossed), what="the rule's window average crossing 300")
            assert crossed[0][1] == 50  # still the program's level when the reading arrived
            await until(lambda: cab.dim_setpoint_pct == 100, within=5, what="raised to 100 %")
            reaction_s = time.monotonic() - crossed[0][0]
            assert reaction_s < 1.0, reaction_s
            command = agent.lighting.executor.commanded("main")
            assert command is not None
            assert command.source == "local_rule"
    finally:
        await handle.stop()
