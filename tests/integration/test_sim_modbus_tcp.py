"""Simulated devices over Modbus TCP and RTU-over-TCP, seen by real masters: pymodbus and the
Debian ``mbpoll`` (libmodbus)."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import time
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from simulators.modbus import (
    CabinetController,
    Fault,
    Iem3155,
    Sdm630,
    ServerHandle,
    serve_rtu_over_tcp,
    serve_tcp,
)
from simulators.modbus.framing import parse_rtu_frame
from simulators.state import CabinetState, MeterState

pytestmark = pytest.mark.integration

DT = AsyncModbusTcpClient.DATATYPE
GOLDEN_VOLTAGE = struct.unpack(">f", bytes.fromhex("43663334"))[0]


class Bench:
    """Three devices behind one Modbus TCP endpoint."""

    def __init__(self) -> None:
        self.meter_state = MeterState(
            serial_number=1001,
            voltage_v=[GOLDEN_VOLTAGE, 231.5, 229.8],
            import_energy_kwh=812.5,
        )
        self.meter = Sdm630(self.meter_state)
        self.iem = Iem3155(MeterState(import_energy_kwh=55.0))
        self.cabinet = CabinetController(CabinetState())
        self.server: ServerHandle

    @property
    def port(self) -> int:
        assert isinstance(self.server.port, int)
        return self.server.port

    def client(self, timeout: float = 1.0) -> AsyncModbusTcpClient:
        return AsyncModbusTcpClient("127.0.0.1", port=self.port, timeout=timeout, retries=0)


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    site = Bench()
    site.server = await serve_tcp({1: site.meter, 2: site.iem, 3: site.cabinet})
    yield site
    await site.server.stop()


@pytest.fixture
async def client(bench: Bench) -> AsyncIterator[AsyncModbusTcpClient]:
    modbus = bench.client(timeout=0.3)
    assert await modbus.connect()
    yield modbus
    modbus.close()


async def voltage(client: AsyncModbusTcpClient, unit: int = 1) -> float:
    reply = await client.read_input_registers(0, count=2, device_id=unit)
    assert not reply.isError(), reply
    value = client.convert_from_registers(reply.registers, DT.FLOAT32)
    assert isinstance(value, float)
    return value


async def test_reads_follow_the_state(client: AsyncModbusTcpClient, bench: Bench) -> None:
    assert await voltage(client) == pytest.approx(230.2, abs=1e-4)
    bench.meter_state.voltage_v[0] = 228.5
    assert await voltage(client) == 228.5


async def test_exception_replies(client: AsyncModbusTcpClient) -> None:
    odd = await client.read_input_registers(1, count=2, device_id=1)
    too_many = await client.read_input_registers(0, count=82, device_id=1)
    unmapped = await client.read_input_registers(0x0500, count=2, device_id=1)
    no_such_unit = await client.read_input_registers(0, count=2, device_id=9)
    codes = [r.exception_code for r in (odd, too_many, unmapped, no_such_unit)]
    assert codes == [2, 2, 2, 0x0B]


async def test_no_answer_times_out_while_the_others_answer(
    client: AsyncModbusTcpClient, bench: Bench
) -> None:
    bench.meter.faults.set(Fault.NO_ANSWER)
    with pytest.raises(ModbusIOException):
        await client.read_input_registers(0, count=2, device_id=1)
    energy = await client.read_holding_registers(3203, count=4, device_id=2)
    assert client.convert_from_registers(energy.registers, DT.INT64) == 55_000
    bench.meter.faults.clear()
    assert await voltage(client) == pytest.approx(230.2, abs=1e-4)


async def test_exception_fault_uses_the_configured_code(
    client: AsyncModbusTcpClient, bench: Bench
) -> None:
    bench.meter.faults.set(Fault.EXCEPTION, code=6, times=1)
    busy = await client.read_input_registers(0, count=2, device_id=1)
    assert busy.exception_code == 6
    assert await voltage(client) == pytest.approx(230.2, abs=1e-4)


async def test_slow_answer_arrives_late(bench: Bench) -> None:
    bench.meter.faults.set(Fault.SLOW, delay_ms=200)
    patient, hasty = bench.client(timeout=1.0), bench.client(timeout=0.1)
    assert await patient.connect()
    assert await hasty.connect()
    try:
        started = time.monotonic()
        assert await voltage(patient) == pytest.approx(230.2, abs=1e-4)
        assert time.monotonic() - started >= 0.2
        with pytest.raises(ModbusIOException):
            await voltage(hasty)
    finally:
        patient.close()
        hasty.close()


async def test_garbled_and_truncated_answers_are_rejected_by_the_master(
    client: AsyncModbusTcpClient, bench: Bench
) -> None:
    for fault in (Fault.CORRUPT_CRC, Fault.TRUNCATED):
        bench.meter.faults.set(fault, times=1)
        with pytest.raises(ModbusIOException):
            await client.read_input_registers(0, count=2, device_id=1)
        client.close()
        assert await client.connect()
    assert await voltage(client) == pytest.approx(230.2, abs=1e-4)


async def test_garbled_mbap_header_on_the_wire(bench: Bench) -> None:
    bench.meter.faults.set(Fault.CORRUPT_CRC, times=1)
    reader, writer = await asyncio.open_connection("127.0.0.1", bench.port)
    try:
        writer.write(bytes.fromhex("0007 0000 0006 01 04 0000 0002"))
        reply = await asyncio.wait_for(reader.readexactly(13), 1.0)
        assert reply[2:4] != b"\x00\x00"  # the protocol id a master checks
        assert reply[7:] == bytes.fromhex("040443663334")  # the payload is intact
    finally:
        writer.close()


async def test_counter_reset_and_meter_replaced(client: AsyncModbusTcpClient, bench: Bench) -> None:
    bench.meter.faults.set(Fault.METER_REPLACED, serial_number=2002)
    serial = await client.read_holding_registers(0xFC00, count=2, device_id=1)
    energy = await client.read_input_registers(0x0048, count=2, device_id=1)
    assert client.convert_from_registers(serial.registers, DT.UINT32) == 2002
    assert client.convert_from_registers(energy.registers, DT.FLOAT32) == 0.0
    bench.iem.faults.set(Fault.COUNTER_RESET)
    wh = await client.read_holding_registers(3203, count=4, device_id=2)
    assert client.convert_from_registers(wh.registers, DT.INT64) == 0


async def test_stuck_contactor_over_the_wire(client: AsyncModbusTcpClient, bench: Bench) -> None:
    bench.cabinet.faults.set(Fault.STUCK_CONTACTOR, circuit=0)
    assert not (await client.write_coils(0, [True, True], device_id=3)).isError()
    coils = await client.read_coils(0, count=2, device_id=3)
    feedback = await client.read_discrete_inputs(0, count=2, device_id=3)
    status = await client.read_input_registers(0x0003, count=4, device_id=3)
    assert coils.bits[:2] == [True, True]
    assert feedback.bits[:2] == [False, True]
    assert status.registers == [0b10, 0b11, 0b10, 0b01]


async def test_two_masters_at_once(bench: Bench) -> None:
    first, second = bench.client(), bench.client()
    assert await first.connect()
    assert await second.connect()
    try:
        values = await asyncio.gather(voltage(first), voltage(second))
        assert list(values) == pytest.approx([230.2, 230.2], abs=1e-4)
    finally:
        first.close()
        second.close()


async def test_rtu_frames_over_tcp() -> None:
    meter = Sdm630(MeterState(voltage_v=[GOLDEN_VOLTAGE, 230.0, 230.0]))
    server = await serve_rtu_over_tcp({1: meter, 2: Sdm630(MeterState())})
    assert isinstance(server.port, int)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(bytes.fromhex("01040000000271CB"))
        assert await asyncio.wait_for(reader.readexactly(9), 1.0) == bytes.fromhex(
            "010404436633341B38"
        )
        meter.faults.set(Fault.CORRUPT_CRC)
        writer.write(bytes.fromhex("01040000000271CB"))
        garbled = await asyncio.wait_for(reader.readexactly(9), 1.0)
        assert parse_rtu_frame(garbled) is None
    finally:
        writer.close()
        await server.stop()


def mbpoll() -> str:
    path = shutil.which("mbpoll")
    if path is None:
        raise RuntimeError("mbpoll is not installed (Debian/Ubuntu: apt-get install mbpoll)")
    return path


async def run_mbpoll(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        mbpoll(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode is not None
    return process.returncode, output.decode()


def polled_values(output: str) -> dict[int, float]:
    """``[ref]: value`` lines of mbpoll's output."""
    return {int(ref): float(v) for ref, v in re.findall(r"^\[(\d+)\]:\s+(\S+)$", output, re.M)}


async def test_mbpoll_reads_the_sdm630_over_tcp(bench: Bench) -> None:
    # Input registers (-t 3) as floats with the most significant word first (-B), from
    # reference 1, i.e. protocol address 0 (mbpoll numbers from 1 unless -0), two values.
    code, output = await run_mbpoll(
        "-m", "tcp", "-p", str(bench.port), "-a", "1", "-t", "3:float", "-B",
        "-r", "1", "-c", "2", "-1", "127.0.0.1",
    )  # fmt: skip
    assert code == 0, output
    assert polled_values(output) == {1: 230.2, 3: 231.5}


async def test_mbpoll_sees_the_exception_for_an_odd_address(bench: Bench) -> None:
    code, output = await run_mbpoll(
        "-m", "tcp", "-p", str(bench.port), "-a", "1", "-t", "3", "-0",
        "-r", "1", "-c", "2", "-1", "127.0.0.1",
    )  # fmt: skip
    assert code != 0
    assert "Illegal data address" in output
