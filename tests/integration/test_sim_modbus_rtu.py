"""Simulated devices on a serial line (a socat pty pair), seen by real masters: raw bytes,
pymodbus' serial client and the Debian ``mbpoll`` (libmodbus)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest
import serial
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from simulators.modbus import CabinetController, Em24, Fault, Iem3155, Sdm630, serve_rtu
from simulators.modbus.framing import parse_rtu_frame, rtu_frame
from simulators.state import CabinetState, MeterState
from tests.integration.test_sim_modbus_tcp import polled_values, run_mbpoll
from tests.services.serial_pty import PtyPair, socat_pty_pair

pytestmark = pytest.mark.integration

DT = AsyncModbusSerialClient.DATATYPE
GOLDEN_REQUEST = bytes.fromhex("01040000000271CB")
GOLDEN_REPLY = bytes.fromhex("010404436633341B38")
GOLDEN_VOLTAGE = struct.unpack(">f", GOLDEN_REPLY[3:7])[0]


class Line:
    """An SDM630 (unit 1), an EM24 (unit 2) and a cabinet controller (unit 5) on one line."""

    def __init__(self, pair: PtyPair) -> None:
        self.pair = pair
        self.meter = Sdm630(MeterState(voltage_v=[GOLDEN_VOLTAGE, 231.5, 229.8]))
        self.em24 = Em24(MeterState(voltage_v=[229.9, 230.0, 230.1]))
        self.cabinet = CabinetController(CabinetState())

    def client(self, timeout: float = 0.3) -> AsyncModbusSerialClient:
        return AsyncModbusSerialClient(
            self.pair.master_side, baudrate=9600, parity="N", stopbits=1, bytesize=8,
            timeout=timeout, retries=0,
        )  # fmt: skip


@pytest.fixture
async def line(pty_pair: PtyPair) -> AsyncIterator[Line]:
    bus = Line(pty_pair)
    server = await serve_rtu({1: bus.meter, 2: bus.em24, 5: bus.cabinet}, pty_pair.device_side)
    yield bus
    await server.stop()


def _transact(path: str, frame: bytes, expect: int, baudrate: int) -> bytes:
    with serial.Serial(path, baudrate, timeout=0.3) as port:
        port.write(frame)
        return bytes(port.read(expect))


async def transact(line: Line, frame: bytes, expect: int = 256, baudrate: int = 9600) -> bytes:
    """Write raw bytes on the master side; what came back within 0.3 s (or ``expect`` bytes)."""
    return await asyncio.to_thread(_transact, line.pair.master_side, frame, expect, baudrate)


async def test_the_eastron_golden_frame_byte_for_byte(line: Line) -> None:
    assert await transact(line, GOLDEN_REQUEST, expect=len(GOLDEN_REPLY)) == GOLDEN_REPLY


async def test_a_dead_device_on_a_shared_line_leaves_the_others_answering(line: Line) -> None:
    line.meter.faults.set(Fault.NO_ANSWER)
    client = line.client()
    assert await client.connect()
    try:
        with pytest.raises(ModbusIOException):
            await client.read_input_registers(0, count=2, device_id=1)
        em24 = await client.read_input_registers(0, count=2, device_id=2)
        assert em24.registers == [2299, 0]
        status = await client.read_input_registers(0, count=3, device_id=5)
        assert status.registers == [0xEC30, 1, 4]
        with pytest.raises(ModbusIOException):
            await client.read_input_registers(0, count=2, device_id=9)  # nobody at 9
        assert line.em24.requests_seen == 1
        assert line.meter.requests_seen == 1
    finally:
        client.close()


async def test_corrupt_crc_on_the_line(line: Line) -> None:
    line.meter.faults.set(Fault.CORRUPT_CRC, times=1)
    garbled = await transact(line, GOLDEN_REQUEST, expect=len(GOLDEN_REPLY))
    assert garbled[:-2] == GOLDEN_REPLY[:-2]
    assert parse_rtu_frame(garbled) is None
    assert await transact(line, GOLDEN_REQUEST, expect=len(GOLDEN_REPLY)) == GOLDEN_REPLY


async def test_truncated_frame_on_the_line(line: Line) -> None:
    line.meter.faults.set(Fault.TRUNCATED)
    assert await transact(line, GOLDEN_REQUEST) == GOLDEN_REPLY[:4]


async def test_a_request_with_a_bad_crc_gets_no_answer(line: Line) -> None:
    assert await transact(line, GOLDEN_REQUEST[:-1] + b"\x00") == b""


async def test_broadcast_switches_the_cabinet_without_an_answer(line: Line) -> None:
    assert await transact(line, rtu_frame(0, bytes.fromhex("0F000000040109"))) == b""
    assert line.cabinet.state.contactors == [True, False, False, True]


async def test_an_iem3155_at_19200_baud() -> None:
    # The meter's default is 8E1, but a pty carries no parity bit and this kernel's pty driver
    # refuses PARENB in tcsetattr (EINVAL) on the second configuration of a port, which
    # pymodbus' serial client always does; so the line runs 8N1 here.
    meter = Iem3155(MeterState(import_energy_kwh=1234.567))
    with socat_pty_pair() as pair:
        server = await serve_rtu({1: meter}, pair.device_side, baudrate=19200)
        client = AsyncModbusSerialClient(
            pair.master_side, baudrate=19200, parity="N", stopbits=1, bytesize=8, timeout=0.5
        )
        try:
            assert await client.connect()
            energy = await client.read_holding_registers(3203, count=4, device_id=1)
            assert client.convert_from_registers(energy.registers, DT.INT64) == 1_234_567
        finally:
            client.close()
            await server.stop()


async def test_mbpoll_reads_the_sdm630_over_rtu(line: Line) -> None:
    for _ in range(2):  # a master closing the port does not take the line down
        code, output = await run_mbpoll(
            "-m", "rtu", "-b", "9600", "-P", "none", "-a", "1", "-t", "3:float", "-B",
            "-r", "1", "-c", "2", "-1", "-o", "1", line.pair.master_side,
        )  # fmt: skip
        assert code == 0, output
        assert polled_values(output) == {1: 230.2, 3: 231.5}
