"""The simulated DALI line driven by python-dali's own, unmodified Lunatone RS-232 driver.

Every frame crosses a real pseudo-terminal (or TCP + socat, or a process boundary) in the LUBA
byte protocol, exactly as the edge agent will drive it. The bus runs 20 times faster than real
(except in the timing test) and gear time is a ``ManualClock``, so fades and energy are exact.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dali.address import GearBroadcast, GearGroup, GearShort
from dali.command import Command
from dali.driver.serial import DriverLubaRs232
from dali.exceptions import TransmissionError
from dali.gear import general as g
from dali.memory import diagnostics, energy

from eclor.clock import ManualClock
from simulators.dali import BusTiming, DaliLine, serve_luba_pty, serve_luba_tcp

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
A0, A1, A2 = GearShort(0), GearShort(1), GearShort(2)
FAST = BusTiming(speed=20)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 1, 15, 17, 0, tzinfo=UTC))


@pytest.fixture
def line(clock: ManualClock) -> DaliLine:
    return DaliLine(4, clock=clock, timing=FAST, rated_power_w=100.0, standby_w=0.5)


async def connect(uri: str) -> DriverLubaRs232:
    driver = DriverLubaRs232(uri)
    await asyncio.wait_for(driver.connect(), timeout=5)
    return driver


def disconnect(driver: DriverLubaRs232) -> None:
    transport = driver._transport  # python-dali 0.16 offers no public close
    if transport is not None:
        transport.close()


@pytest.fixture
async def driver(line: DaliLine) -> AsyncIterator[DriverLubaRs232]:
    async with await line.serve_pty() as server:
        assert server.uri is not None
        driver = await connect(server.uri)
        yield driver
        disconnect(driver)


async def send(driver: DriverLubaRs232, message: Command | Generator[Any, Any, Any]) -> Any:
    return await asyncio.wait_for(driver.send(message), timeout=10)


async def level(driver: DriverLubaRs232, address: GearShort = A0) -> int:
    value: int = (await send(driver, g.QueryActualLevel(address))).value
    return value


async def status(driver: DriverLubaRs232, address: GearShort = A0) -> int:
    byte: int = (await send(driver, g.QueryStatus(address))).raw_value.as_integer
    return byte


GEAR_FAILURE, LAMP_FAILURE, LAMP_ON, LIMIT_ERROR = 0x01, 0x02, 0x04, 0x08
FADE_RUNNING, RESET_STATE, MISSING_ADDRESS, POWER_FAILURE = 0x10, 0x20, 0x40, 0x80


async def test_dapc_with_fade_time_reaches_the_level_through_intermediate_ones(
    driver: DriverLubaRs232, clock: ManualClock
) -> None:
    await send(driver, g.DTR0(4))  # 2.0 s
    await send(driver, g.SetFadeTime(A0))
    await send(driver, g.DAPC(A0, 229))
    clock.advance(1.0)
    assert 100 < await level(driver) < 229
    assert await status(driver) & FADE_RUNNING
    clock.advance(1.5)
    assert await level(driver) == 229
    assert not await status(driver) & FADE_RUNNING


async def test_group_command_dims_all_members(driver: DriverLubaRs232, line: DaliLine) -> None:
    for address in (A0, A2):
        await send(driver, g.AddToGroup(address, 5))
    assert (await send(driver, g.QueryGroupsZeroToSeven(A2))).raw_value.as_integer == 1 << 5
    await send(driver, g.DAPC(GearGroup(5), 170))
    assert [gear.actual_level for gear in line.gear] == [170, 0, 170, 0]
    assert await level(driver, A2) == 170


async def test_status_bits_and_failure_queries_for_each_fault(
    driver: DriverLubaRs232, line: DaliLine
) -> None:
    await send(driver, g.DAPC(A0, 254))
    assert await status(driver) == LAMP_ON | RESET_STATE
    line.gear[0].set_lamp_failure()
    assert await status(driver) == LAMP_FAILURE | RESET_STATE
    assert (await send(driver, g.QueryLampFailure(A0))).value is True
    assert (await send(driver, g.QueryLampFailure(A1))).value is False
    line.gear[0].set_lamp_failure(False)
    line.gear[0].set_gear_failure()
    assert await status(driver) == GEAR_FAILURE | RESET_STATE
    assert (await send(driver, g.QueryControlGearFailure(A0))).value is True
    assert (await send(driver, g.QueryControlGearFailure(A1))).value is False
    line.gear[0].set_gear_failure(False)
    await send(driver, g.DTR0(100))
    await send(driver, g.SetMaxLevel(A0))
    await send(driver, g.DAPC(A0, 200))
    assert await status(driver) == LAMP_ON | LIMIT_ERROR
    line.gear[1].set_responsive(False)
    assert (await send(driver, g.QueryStatus(A1))).raw_value is None


async def test_power_on_level_commissioned_then_applied_after_a_power_cycle(
    driver: DriverLubaRs232, line: DaliLine
) -> None:
    await send(driver, g.DTR0(170))
    await send(driver, g.SetPowerOnLevel(GearBroadcast()))
    assert (await send(driver, g.QueryPowerOnLevel(A1))).value == 170
    line.power_cycle()
    assert [gear.actual_level for gear in line.gear] == [170] * 4
    assert await status(driver, A1) == LAMP_ON | POWER_FAILURE
    assert (await send(driver, g.QueryPowerFailure(A1))).value is True


async def test_system_failure_level_commissioned_then_applied_after_bus_loss(
    driver: DriverLubaRs232, line: DaliLine, clock: ManualClock
) -> None:
    await send(driver, g.DTR0(203))
    await send(driver, g.SetSystemFailureLevel(GearBroadcast()))
    await send(driver, g.Off(GearBroadcast()))
    line.bus_failure()
    line_status = await asyncio.wait_for(driver.read_status(), timeout=5)
    assert line_status is not None
    assert line_status.bus_voltage_error
    with pytest.raises(TransmissionError):
        await send(driver, g.QueryActualLevel(A0))
    clock.advance(0.6)
    assert [gear.actual_level for gear in line.gear] == [203] * 4
    line.bus_restore()
    assert await level(driver) == 203
    assert (await send(driver, g.QuerySystemFailureLevel(A0))).value == 203


async def test_configuration_command_sent_only_once_is_ignored(driver: DriverLubaRs232) -> None:
    await send(driver, g.DTR0(120))
    once = g.SetPowerOnLevel(A0)
    once.sendtwice = False  # the interface then puts it on the bus a single time
    await send(driver, once)
    assert (await send(driver, g.QueryPowerOnLevel(A0))).value == 254
    await send(driver, g.SetPowerOnLevel(A0))
    assert (await send(driver, g.QueryPowerOnLevel(A0))).value == 120


async def test_energy_power_and_on_time_read_with_python_dali_memory_helpers(
    driver: DriverLubaRs232, clock: ManualClock
) -> None:
    await send(driver, g.DAPC(A0, 254))
    clock.advance(2 * 3600)
    assert await send(driver, energy.ActiveEnergy.read(A0)) == 201  # 100.5 W for 2 h
    assert await send(driver, energy.ActivePower.read(A0)) == pytest.approx(100.5)
    assert await send(driver, diagnostics.LightSourceOnTime.read(A0)) == 7200
    assert await send(driver, diagnostics.LightSourceStartCounter.read(A0)) == 1
    bank = await send(driver, energy.BANK_202.read_all(A1))
    assert bank[energy.ActivePower] == pytest.approx(0.5)


async def test_broadcast_query_answered_by_several_gear_is_a_collision(
    driver: DriverLubaRs232,
) -> None:
    response = await send(driver, g.QueryControlGearPresent(GearBroadcast()))
    assert response.raw_value is not None
    assert response.raw_value.error
    assert response.value is True
    single = await send(driver, g.QueryControlGearPresent(A1))
    assert single.raw_value is not None
    assert not single.raw_value.error


async def test_frame_timing_at_real_speed_is_about_32_commands_per_second(
    clock: ManualClock,
) -> None:
    line = DaliLine(2, clock=clock)  # real-time bus
    async with await serve_luba_pty(line) as server:
        assert server.uri is not None
        driver = await connect(server.uri)
        try:
            started = time.monotonic()
            for n in range(32):
                await send(driver, g.DAPC(GearBroadcast(), 100 + n))
            assert time.monotonic() - started >= 0.5
            started = time.monotonic()
            for _ in range(11):  # about 21 queries per second
                await send(driver, g.QueryActualLevel(A0))
            assert time.monotonic() - started >= 0.25
        finally:
            disconnect(driver)
    assert line.gear[1].actual_level == 131


async def test_simulator_as_a_separate_process(tmp_path: Path) -> None:
    link = tmp_path / "dali0"
    args = ["--gear", "3", "--link", str(link), "--speed", "20"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators.dali", *args, stdout=subprocess.PIPE, cwd=REPO
    )
    try:
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        assert ready.decode().strip() == f"ready {link}"
        driver = await connect(f"luba232:{link}")
        try:
            await send(driver, g.DAPC(A2, 229))
            assert await level(driver, A2) == 229
            assert (await send(driver, g.QueryControlGearPresent(GearShort(3)))).value is False
        finally:
            disconnect(driver)
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0


async def test_tcp_stream_bridged_to_a_pty_by_socat(line: DaliLine, tmp_path: Path) -> None:
    if shutil.which("socat") is None:
        pytest.fail("socat not found: install the Debian package socat")
    async with await serve_luba_tcp(line) as server:
        assert server.tcp_address is not None
        host, port = server.tcp_address
        link = tmp_path / "dali-remote"
        socat = await asyncio.create_subprocess_exec(
            "socat", f"pty,link={link},raw,echo=0", f"tcp:{host}:{port}"
        )
        try:
            for _ in range(100):
                if link.exists():
                    break
                await asyncio.sleep(0.05)
            driver = await connect(f"luba232:{link}")
            try:
                await send(driver, g.DAPC(A1, 203))
                assert await level(driver, A1) == 203
                assert line.gear[1].actual_level == 203
            finally:
                disconnect(driver)
        finally:
            socat.terminate()
            await socat.wait()
