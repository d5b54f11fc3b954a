"""`eclor edge scan` on a serial line: simulated devices of every shipped profile on one socat
pty pair, real RTU framing, the scan and the identification end to end.

The whole line runs 9600 8N1, the iEM3155 included (its factory setting is 19200 8E1): a pty
carries no parity bit, and this kernel's pty driver refuses PARENB when pymodbus' serial client
configures the port a second time (see ``test_sim_modbus_rtu.py``). A pty also ignores the baud
rate, so "the wrong setting gets no answer" cannot be shown here; the locking rule is checked by
what was asked at which setting.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from edge.errors import BusUnavailable
from edge.scan import LineSettings, ScanProgress, scan_serial
from simulators.modbus import (
    CabinetController,
    Em24,
    GateController,
    Iem3155,
    LoopStation,
    ModbusDevice,
    Sdm120,
    Sdm630,
    serve_rtu,
)
from simulators.state import CabinetState, GateControllerState, LoopStationState, MeterState
from tests.services.serial_pty import PtyPair

pytestmark = pytest.mark.integration

TIMEOUT_MS = 150
LINE = [LineSettings(9600, "N", 1)]
MODELS = {
    1: "eastron-sdm630",
    2: "eastron-sdm120",
    3: "schneider-iem3155",
    4: "carlo-gavazzi-em24",
    10: "eclor-cabinet-controller",
    11: "eclor-loop-station",
    12: "eclor-gate-controller",
}


def devices() -> dict[int, ModbusDevice]:
    return {
        1: Sdm630(MeterState(serial_number=24010042, voltage_v=[230.1, 231.0, 229.5])),
        2: Sdm120(MeterState(serial_number=24010077)),
        3: Iem3155(MeterState(serial_number=9157)),
        4: Em24(MeterState()),
        10: CabinetController(CabinetState()),
        11: LoopStation(LoopStationState()),
        12: GateController(GateControllerState()),
    }


@pytest.fixture
async def line(pty_pair: PtyPair) -> AsyncIterator[str]:
    """The master side of a line with one device of every shipped profile."""
    server = await serve_rtu(devices(), pty_pair.device_side, baudrate=9600)
    yield pty_pair.master_side
    await server.stop()


async def test_every_device_is_found_at_its_unit_and_identified(line: str) -> None:
    seen: list[ScanProgress] = []
    units = [1, 2, 3, 4, 5, 10, 11, 12]
    report = await scan_serial(line, LINE, units, timeout_ms=TIMEOUT_MS, progress=seen.append)

    assert {f.unit: f.best.model if f.best else None for f in report.found} == MODELS
    for found in report.found:
        assert found.best is found.candidates[0]
        assert found.best.confidence == 1.0, found
        assert all(other.confidence < 1.0 for other in found.candidates[1:]), found
        assert found.bus.port == line
        assert (found.bus.baudrate, found.bus.parity, found.bus.stopbits) == (9600, "N", 1)
    assert report.timeouts == 1  # unit 5, nobody
    assert report.problems == []
    assert [(p.done, p.total) for p in seen] == [(n, len(units)) for n in range(1, len(units) + 1)]


async def test_the_values_read_show_what_the_device_is(line: str) -> None:
    report = await scan_serial(line, LINE, [1, 2, 3], timeout_ms=TIMEOUT_MS)
    readings = {f.unit: [str(r) for r in f.readings] for f in report.found}
    assert readings[1] == [
        "voltage_l1_v 230.1 V",
        "frequency_hz 50 Hz",
        "holding 0x000A 3",
        "input 0x00C8 399.325",
        "serial_number 24010042",
    ]
    assert readings[2][-1] == "serial_number 24010077"
    assert readings[3][0] == "holding register 50 iEM3155"
    assert report.found[2].identity == {"serial_number": 9157}


async def test_the_sdm120_and_sdm630_are_told_apart(line: str) -> None:
    report = await scan_serial(line, LINE, [1, 2], timeout_ms=TIMEOUT_MS)
    sdm630, sdm120 = report.found
    assert [(c.model, c.confidence) for c in sdm630.candidates] == [
        ("eastron-sdm630", 1.0),
        ("eastron-sdm120", 0.5),
    ]
    assert [(c.model, c.confidence) for c in sdm120.candidates] == [
        ("eastron-sdm120", 1.0),
        ("eastron-sdm630", 0.4),  # no system type 3, no line-to-line voltage
    ]


async def test_a_silent_range_costs_one_short_timeout_per_unit(line: str) -> None:
    started = time.monotonic()
    report = await scan_serial(line, LINE, range(20, 28), timeout_ms=TIMEOUT_MS)
    elapsed = time.monotonic() - started
    assert report.found == []
    assert report.requests == report.timeouts == 8
    assert elapsed < 8 * 2 * TIMEOUT_MS / 1000  # loose: one timeout each, plus scheduling


async def test_once_a_setting_gets_answers_the_other_settings_are_dropped(line: str) -> None:
    settings = [LineSettings(9600, "N", 1), LineSettings(19200, "N", 1)]
    report = await scan_serial(line, settings, [20, 1, 2, 21], timeout_ms=TIMEOUT_MS)
    assert [f.unit for f in report.found] == [1, 2]
    assert {f.bus.baudrate for f in report.found} == {9600}
    assert report.timeouts == 3  # unit 20 at both settings, unit 21 at 9600 only

    every = await scan_serial(line, settings, [20, 1, 21], timeout_ms=TIMEOUT_MS, lock=False)
    assert [f.unit for f in every.found] == [1]
    assert every.timeouts == 4  # units 20 and 21 at both settings


async def test_a_setting_the_port_refuses_is_a_warning_and_the_scan_goes_on(line: str) -> None:
    # The factory settings: 9600 8N1, then 19200 8E1, which this kernel's pty refuses.
    report = await scan_serial(line, None, [20, 1], timeout_ms=TIMEOUT_MS)
    assert [(f.unit, f.best.model if f.best else None) for f in report.found] == [
        (1, "eastron-sdm630")
    ]
    for problem in report.problems:
        assert "19200 8E1: the port refuses these settings" in problem


async def test_a_port_that_does_not_exist_is_a_clear_error() -> None:
    with pytest.raises(BusUnavailable, match="cannot open /nonexistent/ttyUSB0: No such file"):
        await scan_serial("/nonexistent/ttyUSB0", LINE, [1])
