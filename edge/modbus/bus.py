"""One physical Modbus bus: a serial line, an RTU-over-TCP bridge, or one TCP endpoint.

A bus carries one request at a time (a half-duplex RS-485 line cannot do otherwise, and most
TCP gateways in front of one serialise anyway); writes jump ahead of waiting polls and are never
interleaved with a poll's request and answer. Different buses run concurrently.

A Modbus exception reply is a value (:class:`ExceptionReply`); a request that got no usable answer
raises :class:`~edge.errors.TransportError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from edge.config import Bus as BusConfig
from edge.config import RtuBus, RtuOverTcpBus
from edge.errors import BusUnavailable, DeviceTimeout, TransportError
from edge.modbus.gate import READ, WRITE, PriorityGate
from edge.profiles import Function

# pymodbus logs every timeout at ERROR; the pollers log a failing device once, themselves.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


@dataclass(frozen=True, slots=True)
class ExceptionReply:
    """The device answered, and the answer is no."""

    code: int

    def __str__(self) -> str:
        return f"exception {self.code:02d} ({EXCEPTION_NAMES.get(self.code, 'unknown')})"


Client = AsyncModbusTcpClient | AsyncModbusSerialClient


def make_client(config: BusConfig) -> Client:
    timeout = config.timeout_ms / 1000
    if isinstance(config, RtuBus):
        return AsyncModbusSerialClient(
            config.port,
            framer=FramerType.RTU,
            baudrate=config.baudrate,
            parity=config.parity,
            stopbits=config.stopbits,
            bytesize=config.bytesize,
            timeout=timeout,
            retries=0,
        )
    framer = FramerType.RTU if isinstance(config, RtuOverTcpBus) else FramerType.SOCKET
    return AsyncModbusTcpClient(
        config.host, port=config.port, framer=framer, timeout=timeout, retries=0
    )


class ModbusBus:
    def __init__(self, config: BusConfig, client: Client | None = None) -> None:
        self.name = config.name
        self.config = config
        self._client = client or make_client(config)
        self._gate = PriorityGate()
        self._timeout_s = config.timeout_ms / 1000
        self.requests = 0
        self.timeouts = 0

    async def close(self) -> None:
        self._client.close()

    async def read(
        self,
        unit: int,
        function: Function,
        address: int,
        count: int,
        *,
        device: str,
        pause_s: float = 0,
    ) -> list[int] | list[bool] | ExceptionReply:
        async with self._gate.hold(READ):
            try:
                return await self._read(unit, function, address, count, device)
            finally:
                if pause_s:
                    await asyncio.sleep(pause_s)

    async def write(
        self,
        unit: int,
        function: Function,
        address: int,
        values: Sequence[int] | Sequence[bool],
        *,
        device: str,
    ) -> ExceptionReply | None:
        async with self._gate.hold(WRITE):
            await self._connect(device)
            client = self._client
            if function is Function.COIL:
                bits = [bool(v) for v in values]
                call = (
                    client.write_coil(address, bits[0], device_id=unit)
                    if len(bits) == 1
                    else client.write_coils(address, bits, device_id=unit)
                )
            elif function is Function.HOLDING_REGISTER:
                regs = [int(v) for v in values]
                call = (
                    client.write_register(address, regs[0], device_id=unit)
                    if len(regs) == 1
                    else client.write_registers(address, regs, device_id=unit)
                )
            else:
                raise ValueError(f"{function} is read-only")
            response = await self._exchange(call, device)
            return ExceptionReply(response.exception_code) if response.isError() else None

    async def _read(
        self, unit: int, function: Function, address: int, count: int, device: str
    ) -> list[int] | list[bool] | ExceptionReply:
        await self._connect(device)
        client = self._client
        calls = {
            Function.COIL: client.read_coils,
            Function.DISCRETE_INPUT: client.read_discrete_inputs,
            Function.HOLDING_REGISTER: client.read_holding_registers,
            Function.INPUT_REGISTER: client.read_input_registers,
        }
        response = await self._exchange(
            calls[function](address, count=count, device_id=unit), device
        )
        if response.isError():
            return ExceptionReply(response.exception_code)
        if function.is_bit:
            return list(response.bits[:count])
        if len(response.registers) != count:
            raise TransportError(
                self.name, device, f"asked {count} registers, got {len(response.registers)}"
            )
        return list(response.registers)

    async def _connect(self, device: str) -> None:
        if self._client.connected:
            return
        try:
            ok = await asyncio.wait_for(self._client.connect(), self._timeout_s * 4 + 1)
        except (TimeoutError, OSError, ModbusException) as exc:
            raise BusUnavailable(self.name, device, f"cannot connect: {exc}") from None
        if not ok:
            raise BusUnavailable(self.name, device, "cannot connect")

    async def _exchange(self, call: Awaitable[ModbusPDU], device: str) -> ModbusPDU:
        self.requests += 1
        try:
            # pymodbus has its own timeout; this one guards against a wedged transport.
            async with asyncio.timeout(self._timeout_s * 2 + 0.5):
                response = await call
        except (TimeoutError, ModbusException) as exc:
            _reraise_cancellation()
            self.timeouts += 1
            raise DeviceTimeout(self.name, device, f"no valid answer: {exc or 'timeout'}") from None
        except OSError as exc:
            raise TransportError(self.name, device, f"transport failed: {exc}") from None
        return response


def _reraise_cancellation() -> None:
    """pymodbus turns a cancelled request into a "no response" error; a task being cancelled
    (the agent stopping) must stop, not count a device failure and poll on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
