"""Simulated devices on a TCP endpoint: Modbus TCP (MBAP) or RTU frames over TCP.

Why not pymodbus' ``ModbusTcpServer``? Its request handler always answers a request it decoded
(there is no way for one unit id to stay silent while another answers), it answers an unknown unit
id from a datastore lookup error, and the frame it sends cannot be damaged after encoding without
patching its transaction manager. Fault injection needs exactly those three, so this module owns
the transport (plain asyncio streams) and keeps pymodbus for what it is good at: the PDU classes
(:mod:`simulators.modbus.protocol`) and the CRC (:mod:`simulators.modbus.framing`).

Modbus TCP here behaves like a gateway in front of the devices: a unit id with no device gets
exception 0x0B; a device with the ``NO_ANSWER`` fault sends nothing, so the master sees its own
timeout. RTU over TCP behaves like a transparent serial-to-Ethernet converter: RTU frames, ended
by a silence, with their CRC; unknown unit ids and bad frames get no answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from simulators.modbus.bus import Responder, RtuLine, check_unit_ids
from simulators.modbus.device import ModbusDevice
from simulators.modbus.framing import (
    MBAP_HEADER,
    corrupt_mbap,
    interframe_silence_s,
    mbap_frame,
    truncate,
)
from simulators.modbus.handle import ServerHandle, ServerKind

log = logging.getLogger(__name__)

MAX_MBAP_LENGTH = 254  # unit id + PDU of at most 253 bytes
ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve_tcp(
    devices: Mapping[int, ModbusDevice], host: str = "127.0.0.1", port: int = 0
) -> ServerHandle:
    """Serve ``devices`` (unit id → device) over Modbus TCP; ``port=0`` picks a free port."""
    check_unit_ids(devices, 0, 255)
    responder = Responder(devices, gateway=True)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_mbap(reader)) is not None:
            transaction_id, protocol_id, unit, pdu = request
            if protocol_id != 0:
                continue
            reply = await responder.answer(unit, pdu)
            if reply is None:
                continue
            frame = mbap_frame(transaction_id, unit, reply.pdu)
            if reply.corrupt:
                frame = corrupt_mbap(frame)
            if reply.truncate:
                frame = truncate(frame)
            writer.write(frame)
            await writer.drain()

    return await _listen("tcp", connection, host, port)


async def serve_rtu_over_tcp(
    devices: Mapping[int, ModbusDevice],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    baudrate: int = 9600,
) -> ServerHandle:
    """Serve ``devices`` as RTU frames over TCP; ``baudrate`` sets the frame-ending silence."""
    check_unit_ids(devices, 1, 247)
    responder = Responder(devices, gateway=False)
    silence_s = interframe_silence_s(baudrate)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = RtuLine(responder, silence_s, writer.write)
        try:
            while data := await reader.read(512):
                line.feed(data)
        finally:
            await line.close()

    return await _listen("rtu-over-tcp", connection, host, port)


async def _read_mbap(reader: asyncio.StreamReader) -> tuple[int, int, int, bytes] | None:
    """The next request on the connection, or ``None`` when it is closed or out of step."""
    try:
        header = await reader.readexactly(MBAP_HEADER.size)
        transaction_id, protocol_id, length, unit = MBAP_HEADER.unpack(header)
        if not 2 <= length <= MAX_MBAP_LENGTH:
            log.debug("closing a Modbus TCP connection with a bad MBAP length %d", length)
            return None
        pdu = await reader.readexactly(length - 1)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return transaction_id, protocol_id, unit, pdu


async def _listen(
    kind: ServerKind, handler: ConnectionHandler, host: str, port: int
) -> ServerHandle:
    connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections[task] = writer
        try:
            await handler(reader, writer)
        except ConnectionError as exc:
            log.debug("%s connection ended: %s", kind, exc)
        except asyncio.CancelledError:
            # Only stop() cancels a connection. Ending quietly matters on Python 3.11, where
            # asyncio's start_server logs an error for a connection task that ends cancelled.
            log.debug("%s connection closed by the server stopping", kind)
        finally:
            del connections[task]
            writer.close()

    server = await asyncio.start_server(tracked, host, port)
    bound_host, bound_port = server.sockets[0].getsockname()[:2]

    async def stop() -> None:
        server.close()
        tasks = list(connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks)
        await server.wait_closed()

    return ServerHandle(kind, bound_host, bound_port, stop)
