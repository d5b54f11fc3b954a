"""The simulated line behind a Lunatone RS-232 interface (LUBA protocol), on a pty or TCP.

Why this back-end. python-dali 0.16 drives a line through several drivers; the simulator speaks
the one a gateway would use in production and that python-dali supports best:
``dali.driver.serial.DriverLubaRs232`` (URI ``luba232:/dev/…``). It is asyncio-native, runs
sequences (``await driver.send(seq)``, which the ``dali.memory`` helpers need), passes send-twice
as a flag so the interface itself repeats the frame within the 100 ms window, reports a collision
as a framing error (``BackwardFrameError``), reports a bus without power as a transmit error,
and has a line-status query. A Lunatone RS-232 interface is a plausible cabinet component. The
alternative, the daliserver TCP protocol, is served in python-dali 0.16 only by a blocking,
socket-per-frame driver with no sequence runner, that sends a configuration command as two
independent requests and that cannot report a bus failure; the edge agent would have to wrap it
in threads.

The byte protocol (as ``DriverLubaRs232`` speaks it; Lunatone's LUBA document §2): every message
is ``0x59, command, length, payload…, checksum`` with the checksum the XOR of command, length and
payload. The host sends QUERY DEVICE INFO (0x20), READ/WRITE SETTINGS (0x2A), QUERY DEVICE
DESCRIPTOR (0x28), READ STATUS (0x2C) and ADD DALI FRAME TO TX BUFFER (0x32: line, bit count,
mode = priority | 0x80 for send-twice, data). The interface answers each with command + 1, and
reports traffic with EVENT (0x31: tick, line, status = type << 6 | info, data): type 0 "frame
sent" (with the transmit id and the frame), type 2 "frame received" (info = bits, or 63 for a
framing error).

Transports: ``serve_luba_pty`` opens a pseudo-terminal and keeps its slave side open itself, so
the driver can open, close and reopen the path (``link`` gives it a stable name);
``serve_luba_tcp`` listens on TCP, for ``socat pty,link=/dev/daliN,raw,echo=0 tcp:HOST:PORT``
when the agent runs on another machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from collections.abc import Callable
from functools import partial, reduce
from operator import xor
from pathlib import Path
from types import TracebackType

from simulators.dali.errors import BusDownError
from simulators.dali.line import DaliLine, Reply

_LOG = logging.getLogger(__name__)

START = 0x59
QUERY_DEVICE_INFO = 0x20
QUERY_DEVICE_DESCRIPTOR = 0x28
READ_WRITE_SETTINGS = 0x2A
READ_STATUS = 0x2C
EVENT = 0x31
ADD_DALI_FRAME = 0x32

ERROR_BUS_VOLTAGE = 1
ERROR_SEND_BUFFER_FULL = 4
TX_BUFFER_FRAMES = 16  # the interface's send buffer: frames queued beyond it are refused
ERROR_SYNTAX = 6
EVENT_SENT, EVENT_RECEIVED = 0, 2
FRAMING_ERROR_INFO = 63
FILTER_ALL, FILTER_SENT, FILTER_RECEIVED = 0x80, 0x40, 0x20

ARTICLE_NUMBER = 24166096  # a Lunatone RS232 LUBA article the driver has been tested with
GTIN = 9010342012345


def message(command: int, payload: bytes | list[int]) -> bytes:
    body = bytes([command, len(payload), *payload])
    return bytes([START, *body, reduce(xor, body)])


class LubaSession:
    """One host connection: parses its requests, runs its frames on the line, reports events."""

    def __init__(self, line: DaliLine, write: Callable[[bytes], None]) -> None:
        self._line = line
        self._write = write
        self._buffer = bytearray()
        self._settings = bytes([0, 0, 0])  # mode, event filter, hardware
        self._tx_id = 0
        self._jobs: asyncio.Queue[tuple[int, int, int, bool]] = asyncio.Queue(TX_BUFFER_FRAMES)
        self._worker = asyncio.get_running_loop().create_task(self._run_jobs())
        self._worker.add_done_callback(_report_crash)

    def close(self) -> None:
        self._worker.cancel()

    # --- requests ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            start = self._buffer.find(START)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            if len(self._buffer) < 3 or len(self._buffer) < self._buffer[2] + 4:
                return
            size = self._buffer[2] + 4
            raw, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
            if reduce(xor, raw[1:-1]) != raw[-1]:
                _LOG.warning("LUBA request with a bad checksum dropped: %s", raw.hex())
                continue
            self._request(raw[1], raw[3:-1])

    def _request(self, command: int, payload: bytes) -> None:
        if command == QUERY_DEVICE_INFO:
            info = (
                GTIN.to_bytes(6, "big")
                + (1).to_bytes(8, "big")
                + bytes([1, 1])
                + ARTICLE_NUMBER.to_bytes(4, "big")
            )
            self._write(message(command + 1, info))
        elif command == READ_WRITE_SETTINGS and len(payload) >= 3:
            self._settings = bytes(payload[:3])
            self._write(message(command + 1, self._settings))
        elif command == QUERY_DEVICE_DESCRIPTOR:
            self._write(message(command + 1, bytes(19)))  # no switchable bus power supply
        elif command == READ_STATUS:
            status = 0x00 if self._line.bus_ok else 0x80
            self._write(message(command + 1, [0, *self._tick(), 0, 1, status]))
        elif command == ADD_DALI_FRAME:
            self._add_frame(payload)
        else:
            _LOG.debug("LUBA command 0x%02x not simulated", command)

    def _add_frame(self, payload: bytes) -> None:
        if len(payload) < 7 or payload[1] not in (8, 16, 24):
            self._write(message(ADD_DALI_FRAME + 1, [ERROR_SYNTAX]))
            return
        if not self._line.bus_ok:
            self._write(message(ADD_DALI_FRAME + 1, [ERROR_BUS_VOLTAGE]))
            return
        if self._jobs.full():
            self._write(message(ADD_DALI_FRAME + 1, [ERROR_SEND_BUFFER_FULL]))
            return
        bits, mode = payload[1], payload[2]
        frame = int.from_bytes(payload[3 : 3 + bits // 8], "big")
        self._tx_id = (self._tx_id + 1) & 0xFF
        self._write(message(ADD_DALI_FRAME + 1, [self._tx_id, 0]))
        self._jobs.put_nowait((self._tx_id, frame, bits, bool(mode & 0x80)))

    # --- the bus ---------------------------------------------------------------------------

    async def _run_jobs(self) -> None:
        while True:
            tx_id, frame, bits, twice = await self._jobs.get()
            for repeat in (False, True)[: 2 if twice else 1]:
                try:
                    reply = await self._line.transmit(
                        frame,
                        bits,
                        repeat=repeat,
                        on_forward_frame=partial(self._sent, tx_id, frame, bits),
                    )
                except BusDownError:
                    self._write(message(ADD_DALI_FRAME + 1, [ERROR_BUS_VOLTAGE]))
                    break
                self._received(reply)

    def _sent(self, tx_id: int, frame: int, bits: int) -> None:
        if not self._settings[1] & (FILTER_ALL | FILTER_SENT):
            data = frame.to_bytes(bits // 8, "big")
            self._event(EVENT_SENT, bits, bytes([tx_id]) + data)

    def _received(self, reply: Reply) -> None:
        if self._settings[1] & (FILTER_ALL | FILTER_RECEIVED) or not reply.answered:
            return
        if reply.collision or reply.value is None:
            self._event(EVENT_RECEIVED, FRAMING_ERROR_INFO, b"")
        else:
            self._event(EVENT_RECEIVED, 8, bytes([reply.value]))

    def _event(self, kind: int, info: int, data: bytes) -> None:
        self._write(message(EVENT, [*self._tick(), 0, (kind << 6) | info, *data]))

    @staticmethod
    def _tick() -> list[int]:
        ms = int(asyncio.get_running_loop().time() * 1000) & 0xFFFF
        return [ms >> 8, ms & 0xFF]


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOG.error("LUBA session stopped: no more frames will be sent", exc_info=task.exception())


class PtyPort:
    """The interface's side of a pseudo-terminal; the driver opens ``path`` (or ``link``)."""

    def __init__(self, link: str | Path | None = None) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.link = Path(link) if link is not None else None
        if self.link is not None:
            if self.link.is_symlink():
                self.link.unlink()
            self.link.symlink_to(self.path)
        self._pending = bytearray()
        self._loop = asyncio.get_running_loop()
        self._closed = False

    def start(self, on_data: Callable[[bytes], None]) -> None:
        self._loop.add_reader(self._master, self._readable, on_data)

    def _readable(self, on_data: Callable[[bytes], None]) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO while no process holds the other side
            _LOG.debug("pty read: %s", exc)
            return
        if data:
            on_data(data)

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        try:
            written = os.write(self._master, self._pending)
        except (BlockingIOError, InterruptedError):
            written = 0
        del self._pending[:written]
        if self._pending:
            self._loop.add_writer(self._master, self._flush)
        else:
            self._loop.remove_writer(self._master)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        os.close(self._master)
        os.close(self._slave)
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()


class LubaServer:
    """A running LUBA front-end. ``uri`` is what ``DriverLubaRs232`` takes (pty only)."""

    def __init__(
        self,
        *,
        port: PtyPort | None = None,
        server: asyncio.Server | None = None,
        sessions: list[LubaSession] | None = None,
    ) -> None:
        self._port = port
        self._server = server
        self.sessions: list[LubaSession] = sessions if sessions is not None else []

    @property
    def path(self) -> str | None:
        """The serial device to open: the link if one was asked for, else the pty itself."""
        if self._port is None:
            return None
        return str(self._port.link) if self._port.link is not None else self._port.path

    @property
    def uri(self) -> str | None:
        return f"luba232:{self.path}" if self.path is not None else None

    @property
    def tcp_address(self) -> tuple[str, int] | None:
        if self._server is None:
            return None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def close(self) -> None:
        for session in self.sessions:
            session.close()
        if self._port is not None:
            self._port.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> LubaServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def serve_luba_pty(line: DaliLine, link: str | Path | None = None) -> LubaServer:
    """Serve ``line`` as a LUBA interface on a new pty; open ``server.uri`` with python-dali."""
    port = PtyPort(link)
    server = LubaServer(port=port)
    session = LubaSession(line, port.write)
    server.sessions.append(session)
    port.start(session.feed)
    return server


async def serve_luba_tcp(line: DaliLine, host: str = "127.0.0.1", port: int = 0) -> LubaServer:
    """Serve ``line`` as a LUBA interface byte stream on TCP (bridge it to a pty with socat)."""
    sessions: list[LubaSession] = []

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = LubaSession(line, writer.write)
        sessions.append(session)
        try:
            while data := await reader.read(4096):
                session.feed(data)
        except ConnectionError as exc:
            _LOG.debug("LUBA TCP client gone: %s", exc)
        finally:
            session.close()
            sessions.remove(session)
            writer.close()

    server = await asyncio.start_server(connected, host, port)
    return LubaServer(server=server, sessions=sessions)
