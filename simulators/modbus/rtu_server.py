"""Simulated devices on a serial line (RS-485 in the field, a pty pair in tests).

Several devices share the line and each answers only its own unit id; a frame for anyone else,
a frame with a bad CRC, and a broadcast get no answer. Frames end with the t3.5 silence computed
from the line settings (:class:`simulators.modbus.bus.RtuLine`). The inter-character t1.5 rule is
not enforced: a pty and most USB adapters deliver bytes in bursts, not at line speed, so the gaps
a program sees between bytes are scheduling noise, not line silence.

Why not pymodbus' ``ModbusSerialServer``? Its RTU framer finds frames by their expected length
rather than by silence, it answers a unit id it does not know (with an exception built from a
datastore lookup error) where a real line stays silent, and it cannot stay silent or damage a frame
for one unit id only. The serial port is opened with pyserial and read from the event loop; the
PDUs and the CRC are pymodbus'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import serial

from simulators.modbus.bus import Responder, RtuLine, check_unit_ids
from simulators.modbus.device import ModbusDevice
from simulators.modbus.framing import interframe_silence_s
from simulators.modbus.handle import ServerHandle

log = logging.getLogger(__name__)

READ_CHUNK = 512


async def serve_rtu(
    devices: Mapping[int, ModbusDevice],
    port: str,
    baudrate: int = 9600,
    parity: str = "N",
    stopbits: int = 1,
    bytesize: int = 8,
) -> ServerHandle:
    """Serve ``devices`` (unit id 1-247 → device) on the serial device ``port``.

    Raises ``serial.SerialException`` (an ``OSError``) when the port cannot be opened.
    """
    check_unit_ids(devices, 1, 247)
    link = serial.Serial(
        port=port,
        baudrate=baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        timeout=0,
        write_timeout=1,
    )
    silence_s = interframe_silence_s(baudrate, parity, stopbits, bytesize)
    line = RtuLine(Responder(devices, gateway=False), silence_s, lambda frame: _send(link, frame))
    loop = asyncio.get_running_loop()
    fd = link.fileno()
    loop.add_reader(fd, _receive, link, line, loop)

    async def stop() -> None:
        loop.remove_reader(fd)
        await line.close()
        link.close()

    return ServerHandle("rtu", port, port, stop)


def _receive(link: serial.Serial, line: RtuLine, loop: asyncio.AbstractEventLoop) -> None:
    try:
        data = link.read(READ_CHUNK)
    except OSError as exc:  # serial.SerialException is an OSError
        log.warning("serial port %s failed, the simulated line is down: %s", link.port, exc)
        loop.remove_reader(link.fileno())
        return
    if data:
        line.feed(data)


def _send(link: serial.Serial, frame: bytes) -> None:
    try:
        link.write(frame)
    except OSError as exc:
        log.warning("could not write to serial port %s: %s", link.port, exc)
