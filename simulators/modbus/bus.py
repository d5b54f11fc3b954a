"""The part of every server that does not depend on the transport.

:class:`Responder` routes a request to the device its unit id names and lets the device's faults
decide whether, when and how it answers. :class:`RtuLine` turns a byte stream into RTU frames the
way a device on an RS-485 line does, by the silence that ends a frame (t3.5), checks the CRC
(a bad frame is dropped without an answer, as the Modbus serial specification and the Eastron
manual require), and answers one frame at a time, as a half-duplex line forces.

Fault injection therefore happens in two places, both outside pymodbus: the plan
(:meth:`FaultSet.plan`) is taken here before the device sees the request (no answer, exception
reply, delay), and the frame damage (wrong CRC, cut-off frame) is applied by the transport after
it has built the frame (see :mod:`simulators.modbus.framing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pymodbus.constants import ExcCodes

from simulators.modbus.device import ModbusDevice
from simulators.modbus.framing import corrupt_rtu, parse_rtu_frame, rtu_frame, truncate
from simulators.modbus.protocol import exception_pdu, respond

log = logging.getLogger(__name__)

BROADCAST = 0
WRITE_FUNCTIONS = frozenset({5, 6, 15, 16})
MAX_RTU_FRAME = 256
PENDING_FRAMES = 8


@dataclass(frozen=True)
class Reply:
    """A response PDU and the damage its frame must suffer on the way out."""

    pdu: bytes
    corrupt: bool = False
    truncate: bool = False


class Responder:
    """Several devices behind one endpoint, each answering only its own unit id.

    ``gateway`` says what happens to a unit id nobody has: on a serial line, silence; behind a
    Modbus TCP gateway, exception 0x0B (gateway target device failed to respond).
    """

    def __init__(self, devices: Mapping[int, ModbusDevice], *, gateway: bool) -> None:
        self._devices = dict(devices)
        self._gateway = gateway

    async def answer(self, unit: int, pdu: bytes) -> Reply | None:
        if not pdu:
            return None
        if unit == BROADCAST and not self._gateway:
            self._broadcast(pdu)
            return None
        device = self._devices.get(unit)
        if device is None:
            if self._gateway:
                return Reply(exception_pdu(pdu[0], ExcCodes.GATEWAY_NO_RESPONSE))
            return None
        return await _answer_as(device, pdu)

    def _broadcast(self, pdu: bytes) -> None:
        """Writes to unit 0 are executed by every device that supports it; nobody answers."""
        if pdu[0] not in WRITE_FUNCTIONS:
            return
        for device in self._devices.values():
            if device.accepts_broadcast and device.faults.plan().answer:
                _respond_or_fail(device, pdu)


async def _answer_as(device: ModbusDevice, pdu: bytes) -> Reply | None:
    plan = device.faults.plan()
    device.requests_seen += 1
    if not plan.answer:
        log.debug("%r stays silent (fault)", device)
        return None
    if plan.exception_code is not None:
        body = exception_pdu(pdu[0], plan.exception_code)
    else:
        body = _respond_or_fail(device, pdu)
    if plan.delay_s > 0:
        await asyncio.sleep(plan.delay_s)
    return Reply(body, corrupt=plan.corrupt_crc, truncate=plan.truncate)


def _respond_or_fail(device: ModbusDevice, pdu: bytes) -> bytes:
    """A bug in a device model answers 04 (server device failure), as a real device's firmware
    would, instead of killing the line for every device on it."""
    try:
        return respond(device, pdu)
    except (ArithmeticError, LookupError, TypeError, ValueError, struct.error):
        log.exception("%r failed on request %s", device, pdu.hex(" "))
        return exception_pdu(pdu[0], ExcCodes.DEVICE_FAILURE)


def check_unit_ids(devices: Mapping[int, ModbusDevice], low: int, high: int) -> None:
    if not devices:
        raise ValueError("a server needs at least one device")
    for unit in devices:
        if not low <= unit <= high:
            raise ValueError(f"unit id {unit} is outside {low}-{high}")


class RtuLine:
    """RTU framing by silence over any byte stream; replies go out through ``send``."""

    def __init__(
        self, responder: Responder, silence_s: float, send: Callable[[bytes], None]
    ) -> None:
        self._responder = responder
        self._silence_s = silence_s
        self._send = send
        self._buffer = bytearray()
        self._overflow = False
        self._timer: asyncio.TimerHandle | None = None
        self._frames: asyncio.Queue[bytes] = asyncio.Queue(PENDING_FRAMES)
        self._worker = asyncio.create_task(self._serve())
        self.bad_frames = 0

    def feed(self, data: bytes) -> None:
        """Bytes just received; the frame ends after ``silence_s`` without more."""
        if len(self._buffer) + len(data) > MAX_RTU_FRAME:
            self._overflow = True
        else:
            self._buffer += data
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self._silence_s, self._end_of_frame)

    def _end_of_frame(self) -> None:
        self._timer = None
        frame, overflow = bytes(self._buffer), self._overflow
        self._buffer.clear()
        self._overflow = False
        if overflow:
            self.bad_frames += 1
            return
        try:
            self._frames.put_nowait(frame)
        except asyncio.QueueFull:
            self.bad_frames += 1

    async def _serve(self) -> None:
        while True:
            frame = await self._frames.get()
            await self._handle(frame)

    async def _handle(self, frame: bytes) -> None:
        parsed = parse_rtu_frame(frame)
        if parsed is None:
            self.bad_frames += 1
            log.debug("dropped a bad RTU frame: %s", frame.hex(" "))
            return
        unit, pdu = parsed
        reply = await self._responder.answer(unit, pdu)
        if reply is None:
            return
        out = rtu_frame(unit, reply.pdu)
        if reply.corrupt:
            out = corrupt_rtu(out)
        if reply.truncate:
            out = truncate(out)
        self._send(out)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
