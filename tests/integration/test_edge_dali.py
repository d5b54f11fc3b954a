"""The edge's DALI back-end against the simulated line, served as a Lunatone LUBA interface on TCP.

python-dali's own LUBA driver talks to ``simulators.dali`` through ``luba232:socket://``; the bus
runs 20 times faster than real (except where a figure is measured) and the gear's time is a
``ManualClock``, so fades are exact. A TCP proxy that can swallow every byte stands in for a USB
or serial interface that locks up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import msgspec
import pytest

from eclor.clock import ManualClock, ScaledClock
from eclor.wire import Event, Reading
from edge.errors import DaliBusFault, DaliLineUnavailable, DaliTimeout
from edge.lighting.actuators.dali import DaliActuator
from edge.lighting.backends_config import DaliLineConfig, DaliTarget
from edge.lighting.dali_line import DaliLine
from edge.lighting.dali_poll import DaliPoller
from simulators.dali import BusTiming, serve_luba_tcp
from simulators.dali import DaliLine as SimLine

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
FAST = BusTiming(speed=20)


class Sink:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.events: list[Event] = []

    async def put(self, readings: Sequence[Reading]) -> None:
        self.readings.extend(readings)

    async def append_events(self, events: Sequence[Event]) -> None:
        # what the cloud's decoder checks (name patterns, severities): a bad event fails here
        self.events.extend(msgspec.convert(msgspec.to_builtins(e), Event) for e in events)

    def kinds(self, kind: str) -> list[tuple[str, bool]]:
        return [(e.device, e.active) for e in self.events if e.kind == kind]


class FreezableProxy:
    """Forwards a TCP byte stream; ``frozen`` swallows everything, like a locked-up dongle."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = False
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(4096):
                    if not self.frozen:
                        dst.write(data)
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.fixture
def gear_clock() -> ManualClock:
    return ManualClock(START)


def sim_line(gear_clock: ManualClock, count: int, timing: BusTiming = FAST) -> SimLine:
    line = SimLine(count, clock=gear_clock, timing=timing, rated_power_w=40.0, standby_w=0.4)
    for gear in line.gear[: count // 2]:
        gear.settings.groups.add(0)
    return line


@contextlib.asynccontextmanager
async def edge_line(
    port: str, sink: Sink, *, name: str = "dali", **settings: float
) -> AsyncIterator[DaliLine]:
    config = DaliLineConfig(
        name=name,
        port=port,
        timeout_s=settings.pop("timeout_s", 0.5),
        status_poll_s=settings.pop("status_poll_s", 3600),
        energy_poll_s=settings.pop("energy_poll_s", 3600),
        power_on_level_pct=settings.pop("power_on_level_pct", 100),
        system_failure_level_pct=settings.pop("system_failure_level_pct", 100),
        reconnect_min_s=0.2,
        reconnect_max_s=0.5,
    )
    line = DaliLine(
        config,
        clock=ScaledClock(START, speed=settings.pop("speed", 1.0)),
        on_readings=sink.put,
        on_events=sink.append_events,
        group_names={0: "main-street"},
    )
    line.start()
    try:
        await line.wait_up(30)
        yield line
    finally:
        await line.close()


@pytest.fixture
async def served(gear_clock: ManualClock) -> AsyncIterator[tuple[SimLine, str]]:
    line = sim_line(gear_clock, 4)
    async with await serve_luba_tcp(line) as server:
        assert server.tcp_address is not None
        host, port = server.tcp_address
        yield line, f"luba232:socket://{host}:{port}"


async def test_group_dapc_with_fade_moves_only_the_group_and_reads_back_the_level(
    served: tuple[SimLine, str], gear_clock: ManualClock
) -> None:
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink) as line:
        assert line.gear == {0: frozenset({0}), 1: frozenset({0}), 2: frozenset(), 3: frozenset()}
        group = DaliActuator(line, DaliTarget(line="dali", group=0))
        assert group.name == "dali:dali/group0"
        await group.apply(50, fade_s=2.0)
        assert [g.target_level for g in sim.gear] == [229, 229, 0, 0]
        assert sim.gear[0].settings.fade_time == 4  # 0.5·√(2⁴) = 2.0 s
        gear_clock.advance(1.0)
        assert 0 < (await group.read_back() or 0) < 50
        gear_clock.advance(1.5)
        assert await group.read_back() == pytest.approx(50.53, abs=0.01)
        await group.apply(0, fade_s=0)
        assert [g.actual_level for g in sim.gear] == [0, 0, 0, 0]
        assert sim.gear[1].settings.fade_time == 0


async def test_long_fade_uses_the_dali2_extended_fade_time(served: tuple[SimLine, str]) -> None:
    sim, port = served
    async with edge_line(port, Sink()) as line:
        everything = DaliActuator(line, DaliTarget(line="dali", broadcast=True))
        await everything.apply(25, fade_s=600)
        settings = sim.gear[3].settings
        assert (settings.fade_time, settings.extended_fade_multiplier) == (0, 4)
        assert (settings.extended_fade_base + 1) * 60 == 600
        assert [g.target_level for g in sim.gear] == [203] * 4


async def test_commissioning_leaves_the_road_lit_when_the_bus_is_lost(
    served: tuple[SimLine, str], gear_clock: ManualClock
) -> None:
    sim, port = served
    async with edge_line(port, Sink(), system_failure_level_pct=25, power_on_level_pct=50):
        assert {g.settings.system_failure_level for g in sim.gear} == {203}
        assert {g.settings.power_on_level for g in sim.gear} == {229}
    sim.bus_failure()
    gear_clock.advance(0.6)
    assert [g.actual_level for g in sim.gear] == [203] * 4


async def test_lamp_and_gear_failures_raise_once_and_clear_once(
    served: tuple[SimLine, str],
) -> None:
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink, status_poll_s=5, speed=20):  # one pass per 0.25 s
        sim.gear[1].set_lamp_failure()
        sim.gear[2].set_gear_failure()
        await until(lambda: len(sink.events) == 2)
        await asyncio.sleep(0.8)  # three more passes: still failed, no new event
        assert sink.kinds("lamp_failure") == [("dali-dali-gear-1", True)]
        assert sink.kinds("gear_failure") == [("dali-dali-gear-2", True)]
        sim.gear[1].set_lamp_failure(False)
        sim.gear[2].set_gear_failure(False)
        await until(lambda: len(sink.events) == 4)
        await asyncio.sleep(0.8)
    assert sink.kinds("lamp_failure") == [("dali-dali-gear-1", True), ("dali-dali-gear-1", False)]
    assert sink.kinds("gear_failure") == [("dali-dali-gear-2", True), ("dali-dali-gear-2", False)]
    failed = [
        r for r in sink.readings if r.device == "dali-dali-gear-1" and r.fields["lamp_failure"]
    ]
    assert failed
    assert failed[0].measurement == "dali"
    assert failed[0].tags == {"line": "dali", "group": "main-street"}
    assert set(failed[0].fields) == {"level_pct", "lamp_failure", "gear_failure"}


async def test_energy_power_and_burning_hours_read_from_banks_202_and_206(
    served: tuple[SimLine, str], gear_clock: ManualClock
) -> None:
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink) as line:
        await DaliActuator(line, DaliTarget(line="dali", group=0)).apply(100, 0)
        gear_clock.advance(2 * 3600)
        reading = await DaliPoller(line).energy_of(0)
        gear_clock.advance(3600)
        later = await DaliPoller(line).energy_of(0)  # the latch was released: values move on
    assert later is not None
    assert later.fields["operating_hours_h"] == pytest.approx(3.0, abs=0.01)
    assert later.fields["energy_wh"] == pytest.approx(121.2, abs=1)
    assert reading is not None
    assert reading.device == "dali-dali-gear-0"
    assert reading.fields["energy_wh"] == pytest.approx(80.8, abs=1)  # 40.4 W for 2 h
    assert reading.fields["power_w"] == pytest.approx(40.4)
    assert reading.fields["operating_hours_h"] == pytest.approx(2.0, abs=0.01)
    assert sim.gear[2].energy_wh == pytest.approx(1.2)  # off: 0.4 W standby for 3 h


async def test_a_stuck_interface_times_out_raises_line_down_and_spares_the_other_line(
    gear_clock: ManualClock,
) -> None:
    sink = Sink()
    first, second = sim_line(gear_clock, 2), sim_line(gear_clock, 2)
    async with await serve_luba_tcp(first) as one, await serve_luba_tcp(second) as two:
        assert one.tcp_address is not None
        assert two.tcp_address is not None
        proxy = FreezableProxy(one.tcp_address)
        proxy_port = await proxy.start()
        other_port = f"luba232:socket://{two.tcp_address[0]}:{two.tcp_address[1]}"
        async with (
            edge_line(f"luba232:socket://127.0.0.1:{proxy_port}", sink, timeout_s=0.3) as stuck,
            edge_line(other_port, sink, name="dali2") as healthy,
        ):
            stuck_group = DaliActuator(stuck, DaliTarget(line="dali", broadcast=True))
            healthy_group = DaliActuator(healthy, DaliTarget(line="dali2", broadcast=True))
            proxy.frozen = True
            started = time.monotonic()
            results = await asyncio.gather(
                stuck_group.apply(100, 0), healthy_group.apply(50, 0), return_exceptions=True
            )
            assert time.monotonic() - started < 1.5
            assert isinstance(results[0], DaliTimeout)
            assert results[1] is None
            assert second.gear[0].actual_level == 229
            with pytest.raises(DaliLineUnavailable):
                await stuck_group.apply(100, 0)  # at once, while reconnecting
            await until(lambda: sink.kinds("dali_line_down") == [("dali-dali", True)])
            proxy.frozen = False
            await stuck.wait_up(30)
            await stuck_group.apply(100, 0)
            assert first.gear[0].actual_level == 254
            await until(lambda: len(sink.kinds("dali_line_down")) == 2)
        await proxy.close()
    assert sink.kinds("dali_line_down") == [("dali-dali", True), ("dali-dali", False)]


async def until(condition: object, within: float = 20.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.05)


async def test_group_dapc_and_read_back_at_real_bus_speed_take_about_a_tenth_of_a_second(
    gear_clock: ManualClock,
) -> None:
    sim = sim_line(gear_clock, 4, timing=BusTiming())  # real DALI timing
    async with await serve_luba_tcp(sim) as server:
        assert server.tcp_address is not None
        host, port = server.tcp_address
        async with edge_line(f"luba232:socket://{host}:{port}", Sink()) as line:
            group = DaliActuator(line, DaliTarget(line="dali", group=0))
            took = []
            for level in (25, 50, 25, 50, 25, 50):
                started = time.monotonic()
                await group.apply(level, 0)
                assert await group.read_back() == pytest.approx(level, abs=0.6)
                took.append(time.monotonic() - started)
    # two frames (DAPC ~31 ms, query ~48 ms on the bus) plus the interface and TCP round trips
    assert 0.05 < sorted(took)[len(took) // 2] < 0.5  # 0.09 s on an idle machine


async def test_gear_without_mains_at_start_are_found_and_commissioned_when_powered(
    served: tuple[SimLine, str],
) -> None:
    sim, port = served
    sim.mains_off()  # daytime: the contactor feeding the luminaires is open
    sink = Sink()
    async with edge_line(
        port, sink, status_poll_s=5, speed=20, system_failure_level_pct=50
    ) as line:
        assert line.gear == {}
        group = DaliActuator(line, DaliTarget(line="dali", group=0))
        assert await group.read_back() is None
        sim.mains_on()
        await until(lambda: len(line.gear) == 4)
        await until(lambda: any(r.device == "dali-dali-gear-3" for r in sink.readings))
        assert {g.settings.system_failure_level for g in sim.gear} == {229}
        await group.apply(25, 0)
        assert await group.read_back() == pytest.approx(24.85, abs=0.01)
    assert sink.kinds("dali_line_down") == []


async def test_a_bus_without_power_is_a_line_down_and_the_gear_fall_to_system_failure_level(
    served: tuple[SimLine, str], gear_clock: ManualClock
) -> None:
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink, system_failure_level_pct=50) as line:
        everything = DaliActuator(line, DaliTarget(line="dali", broadcast=True))
        await everything.apply(0, 0)
        sim.bus_failure()
        with pytest.raises((DaliBusFault, DaliTimeout)):  # a DAPC is not confirmed: timeout
            await everything.apply(25, 0)
        await until(lambda: sink.kinds("dali_line_down") == [("dali-dali", True)])
        gear_clock.advance(0.6)
        assert [g.actual_level for g in sim.gear] == [229] * 4  # the road stays lit
        sim.bus_restore()
        await line.wait_up(30)
        await everything.apply(25, 0)
        assert [g.actual_level for g in sim.gear] == [203] * 4
        await until(lambda: len(sink.kinds("dali_line_down")) == 2)
    assert sink.events[-1].detail.startswith("DALI line dali")


async def test_a_dapc_missed_while_the_gear_had_no_mains_is_sent_again_after_power_up(
    served: tuple[SimLine, str],
) -> None:
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink) as line:
        group = DaliActuator(line, DaliTarget(line="dali", group=0))
        await group.apply(0, 0)
        sim.mains_off()  # the contactor opens at dawn
        await line.refresh_gear()
        # silent without mains, not gone: the read-back still knows whom to ask
        assert sorted(line.gear) == [0, 1, 2, 3]
        await group.apply(50, fade_s=2.0)  # at dusk: sent before the gear are back
        sim.mains_on()  # the contactor closes a moment later: gear at POWER ON LEVEL
        assert [g.actual_level for g in sim.gear] == [254] * 4
        await until(lambda: sim.gear[0].target_level == 229, within=5)
        assert [g.target_level for g in sim.gear] == [229, 229, 254, 254]
        assert sim.gear[1].settings.fade_time == 4
        assert await group.read_back() is not None
        await group.close()


async def test_commands_go_before_the_lines_own_queries_waiting_for_the_bus(
    served: tuple[SimLine, str],
) -> None:
    """Four discoveries (status pass, energy pass, two power-ups) queue 4 × 64 queries; a DAPC
    sent meanwhile is on the bus right after the query in flight, not behind the queue."""
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink) as line:
        sim.mains_off()  # the switch-off: no gear answers, every discovery runs to 63
        frames: list[int] = []
        sim.observers.append(lambda frame, bits, reply: frames.append(frame))
        discoveries = [asyncio.create_task(line.discover()) for _ in range(4)]
        await until(lambda: len(frames) >= 3)
        group = DaliActuator(line, DaliTarget(line="dali", group=0))
        started_at = len(frames)
        await group.apply(0, 0)  # fade setting, then the DAPC: two transactions
        sent_at = len(frames)
        assert not any(task.done() for task in discoveries), "the queries were still queued"
        await asyncio.gather(*discoveries)
    dapc = frames.index(0x80 << 8)  # group 0, direct arc power 0
    # the fade's 6 frames and the DAPC, behind the query in flight and at most one slipped in
    # between the two transactions (7 measured; a first-come lock gives 14: 4 queued ahead)
    assert dapc - started_at <= 9
    assert len(frames) - sent_at >= 200, "the discoveries went on after the command"


async def test_energy_pass_during_the_switch_off_skips_the_silent_gear_and_keeps_their_banks(
    served: tuple[SimLine, str], gear_clock: ManualClock
) -> None:
    sim, port = served
    sink = Sink()
    async with edge_line(port, sink) as line:
        poller = DaliPoller(line)
        sim.mains_off()  # the contactor opens at the start of the switch-off
        await line.refresh_gear()
        assert sorted(line.gear) == [0, 1, 2, 3]
        assert line.present == set()
        await poller.energy_pass(0)
        assert sink.readings == []
        sim.mains_on()
        await poller.status_pass(0)  # nothing present: nothing asked
        assert sink.readings == []
        await line.refresh_gear()  # what the next status or energy pass starts with
        assert line.present == {0, 1, 2, 3}
        await poller.energy_pass(0)
        # had the silent gear been asked, they would pass for gear without banks 202 and 206
        assert sorted(r.device for r in sink.readings) == [f"dali-dali-gear-{n}" for n in range(4)]
        assert all("energy_wh" in r.fields for r in sink.readings)
        sim.mains_off()
        await poller.status_pass(0)  # no answers: the gear are no longer present
        assert line.present == set()
        assert sorted(line.gear) == [0, 1, 2, 3]
