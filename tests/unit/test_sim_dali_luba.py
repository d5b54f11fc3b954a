"""The LUBA byte protocol of the simulated interface, checked against python-dali's own parser.

No pty here: the session's output is fed straight into ``DriverLubaRs232.LubaProtocol`` (the
driver's receive state machine), so the bytes are exactly the ones the driver accepts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from dali.address import GearShort
from dali.command import Command
from dali.driver.serial import DriverLubaRs232
from dali.gear import general as g

from simulators.dali import BusTiming, DaliLine
from simulators.dali.luba import (
    ADD_DALI_FRAME,
    ERROR_SEND_BUFFER_FULL,
    QUERY_DEVICE_INFO,
    TX_BUFFER_FRAMES,
    LubaSession,
    message,
)

Luba = DriverLubaRs232


class Host:
    """The driver's receiving side, fed with whatever the session writes."""

    def __init__(self) -> None:
        self.protocol = Luba.LubaProtocol()
        self.raw: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.raw.append(data)
        self.protocol.data_received(data)

    def luba_reply(self) -> object:
        return self.protocol._queue_rx_luba_cmd.get_nowait()

    def tx_confirm(self) -> Any:
        """The next "frame sent" (or transmit error) the driver would have waited for."""
        return self.protocol._queue_tx_conf.get_nowait()

    def answers(self) -> list[object]:
        queue = self.protocol._queue_rx_raw_dali
        return [queue.get_nowait() for _ in range(queue.qsize())]


def add_frame(cmd: Command, *, twice: bool = False) -> bytes:
    data = cmd.frame.as_byte_sequence
    mode = 5 | (0x80 if twice else 0)
    return message(ADD_DALI_FRAME, [0, 8 * len(data), mode, *data, 0, 0][:7])


@pytest.fixture
def line() -> DaliLine:
    return DaliLine(2, timing=BusTiming(speed=1000))


async def settle() -> None:
    await asyncio.sleep(0.05)


async def test_device_info_is_understood_by_the_driver(line: DaliLine) -> None:
    host = Host()
    session = LubaSession(line, host.write)
    session.feed(message(QUERY_DEVICE_INFO, [0]))
    info = host.luba_reply()
    assert isinstance(info, Luba.LubaDeviceInfo)
    assert info.article_num in Luba.TESTED_ARTICLE_NUMBERS
    session.close()


async def test_frame_is_confirmed_then_answered(line: DaliLine) -> None:
    host = Host()
    session = LubaSession(line, host.write)
    line.gear[1].go_to(77, fade=False)
    session.feed(add_frame(g.QueryActualLevel(GearShort(1))))
    await settle()
    confirm = host.tx_confirm()
    assert confirm.message is not None
    assert confirm.message.frame == g.QueryActualLevel(GearShort(1)).frame
    assert host.answers() == [77]
    session.close()


async def test_send_twice_flag_puts_the_frame_on_the_bus_twice(line: DaliLine) -> None:
    host = Host()
    session = LubaSession(line, host.write)
    session.feed(add_frame(g.DTR0(99)))
    session.feed(add_frame(g.SetPowerOnLevel(GearShort(0)), twice=True))
    await settle()
    assert [host.tx_confirm().error_code for _ in range(3)] == [None, None, None]
    assert line.frame_count == 3
    assert line.gear[0].settings.power_on_level == 99
    session.close()


async def test_split_and_corrupted_requests(line: DaliLine) -> None:
    host = Host()
    session = LubaSession(line, host.write)
    request = message(QUERY_DEVICE_INFO, [0])
    session.feed(b"\x00\x13" + request[:2])  # noise, then half a message
    session.feed(request[2:])
    assert isinstance(host.luba_reply(), Luba.LubaDeviceInfo)
    session.feed(request[:-1] + bytes([request[-1] ^ 0xFF]))  # bad checksum: dropped
    assert not host.raw[1:]
    session.close()


async def test_frame_refused_while_the_bus_is_down(line: DaliLine) -> None:
    host = Host()
    session = LubaSession(line, host.write)
    line.bus_failure()
    session.feed(add_frame(g.Off(GearShort(0))))
    await settle()
    confirm = host.tx_confirm()
    assert confirm.error_code == Luba.LubaTxError.BUS_VOLTAGE_ERROR.value
    assert line.frame_count == 0
    session.close()


async def test_a_full_send_buffer_refuses_the_frame_instead_of_growing() -> None:
    slow = DaliLine(1, timing=BusTiming(speed=1))  # real DALI speed: frames wait their turn
    host = Host()
    session = LubaSession(slow, host.write)
    for _ in range(TX_BUFFER_FRAMES + 4):
        session.feed(add_frame(g.Off(GearShort(0))))
    # A refusal answers ADD DALI FRAME with a one-byte payload: the error code.
    replies = [m for m in host.raw if m[1] == ADD_DALI_FRAME + 1]
    refusals = [m for m in replies if m[2] == 1 and m[3] == ERROR_SEND_BUFFER_FULL]
    assert len(replies) == TX_BUFFER_FRAMES + 4
    assert 3 <= len(refusals) <= 4, "frames beyond the buffer are refused"
    session.close()
