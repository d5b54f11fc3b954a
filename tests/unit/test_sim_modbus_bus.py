"""RTU framing by silence, unit routing and the frame-level faults, without a transport."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest

from simulators.modbus import CabinetController, Fault, Sdm630
from simulators.modbus.bus import Responder, RtuLine
from simulators.modbus.framing import (
    crc16,
    interframe_silence_s,
    parse_rtu_frame,
    rtu_frame,
)
from simulators.state import CabinetState, MeterState

SILENCE_S = interframe_silence_s(9600)
READ_VOLTAGE = bytes.fromhex("01040000000271CB")


class Line:
    """An RtuLine with two devices whose output is collected."""

    def __init__(self) -> None:
        self.meter = Sdm630(MeterState(voltage_v=[230.0, 230.0, 230.0]))
        self.cabinet = CabinetController(CabinetState())
        self.sent: list[bytes] = []
        self.answered = asyncio.Event()
        responder = Responder({1: self.meter, 5: self.cabinet}, gateway=False)
        self.line = RtuLine(responder, SILENCE_S, self._send)

    def _send(self, frame: bytes) -> None:
        self.sent.append(frame)
        self.answered.set()

    async def exchange(self, *chunks: bytes) -> list[bytes]:
        for chunk in chunks:
            self.line.feed(chunk)
        await asyncio.sleep(SILENCE_S * 3 + 0.02)
        sent, self.sent[:] = list(self.sent), []
        return sent


@pytest.fixture
async def line() -> AsyncIterator[Line]:
    bus = Line()
    yield bus
    await bus.line.close()


def test_silence_of_three_and_a_half_characters() -> None:
    assert interframe_silence_s(9600) == pytest.approx(3.5 * 10 / 9600)
    assert interframe_silence_s(9600, "E") == pytest.approx(3.5 * 11 / 9600)
    assert interframe_silence_s(115200) == 0.00175


def test_the_crc_of_the_eastron_example() -> None:
    assert crc16(bytes.fromhex("010400000002")) == bytes.fromhex("71CB")
    assert parse_rtu_frame(bytes.fromhex("01040000000271CC")) is None


async def test_a_frame_split_across_reads_is_one_frame(line: Line) -> None:
    sent = await line.exchange(READ_VOLTAGE[:3], READ_VOLTAGE[3:])
    assert len(sent) == 1
    assert sent[0][:3] == bytes.fromhex("010404")


async def test_two_requests_without_silence_are_one_bad_frame(line: Line) -> None:
    assert await line.exchange(READ_VOLTAGE + READ_VOLTAGE) == []
    assert line.line.bad_frames == 1


async def test_bad_crc_and_unknown_units_get_no_answer(line: Line) -> None:
    assert await line.exchange(READ_VOLTAGE[:-1] + b"\x00") == []
    assert await line.exchange(rtu_frame(9, bytes.fromhex("0400000002"))) == []
    assert await line.exchange(READ_VOLTAGE) != []


async def test_broadcast_writes_run_on_devices_that_take_them(line: Line) -> None:
    assert await line.exchange(rtu_frame(0, bytes.fromhex("050001FF00"))) == []
    assert line.cabinet.state.contactors[1] is True
    assert await line.exchange(rtu_frame(0, struct.pack(">BHH", 4, 0, 2))) == []


async def test_a_silent_device_leaves_the_others_answering(line: Line) -> None:
    line.meter.faults.set(Fault.NO_ANSWER)
    assert await line.exchange(READ_VOLTAGE) == []
    sent = await line.exchange(rtu_frame(5, struct.pack(">BHH", 4, 0, 1)))
    assert sent == [rtu_frame(5, bytes.fromhex("0402EC30"))]


async def test_exception_fault_replies_with_the_configured_code(line: Line) -> None:
    line.meter.faults.set(Fault.EXCEPTION, code=6)
    assert await line.exchange(READ_VOLTAGE) == [rtu_frame(1, bytes([0x84, 6]))]


async def test_corrupt_crc_keeps_the_payload_and_breaks_the_check(line: Line) -> None:
    line.meter.faults.set(Fault.CORRUPT_CRC, times=1)
    (bad,) = await line.exchange(READ_VOLTAGE)
    (good,) = await line.exchange(READ_VOLTAGE)
    assert bad[:-2] == good[:-2]
    assert parse_rtu_frame(bad) is None
    assert parse_rtu_frame(good) is not None


async def test_truncated_fault_sends_half_a_frame(line: Line) -> None:
    line.meter.faults.set(Fault.TRUNCATED)
    (cut,) = await line.exchange(READ_VOLTAGE)
    assert cut == rtu_frame(1, bytes.fromhex("0404434E0000"))[:4]  # 4 of 9 bytes


async def test_slow_fault_delays_the_answer(line: Line) -> None:
    line.meter.faults.set(Fault.SLOW, delay_ms=150)
    loop = asyncio.get_running_loop()
    started = loop.time()
    line.line.feed(READ_VOLTAGE)
    await asyncio.wait_for(line.answered.wait(), 2.0)
    assert loop.time() - started >= 0.15


async def test_a_gateway_answers_0x0b_for_a_unit_it_does_not_have() -> None:
    responder = Responder({1: Sdm630(MeterState())}, gateway=True)
    reply = await responder.answer(7, bytes.fromhex("0400000002"))
    assert reply is not None
    assert reply.pdu == bytes([0x84, 0x0B])
