"""A writable point of a Modbus device (profile ``writable`` entry), written and read back.

Shared by the contactor and setpoint back-ends. Goes through the device's ``ModbusBus``, so the
bus's own timeout, priority gate (writes ahead of polls) and reconnection apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymodbus.client.mixin import ModbusClientMixin

from edge.errors import ActuatorError, TransportError
from edge.modbus.bus import ExceptionReply, ModbusBus
from edge.modbus.decode import PYMODBUS_TYPES
from edge.profiles import DataType, Function, Profile, Writable


@dataclass(frozen=True)
class ModbusDevice:
    """What a lighting back-end needs to reach a configured device."""

    id: str
    bus: ModbusBus
    unit: int
    profile: Profile


class ModbusPoint:
    def __init__(self, device: ModbusDevice, name: str, actuator: str) -> None:
        points = {w.name: w for w in device.profile.writable}
        if name not in points:
            raise ValueError(f"{name!r} is not writable on {device.profile.model}")
        self.device = device
        self.point: Writable = points[name]
        self.actuator = actuator
        one_based = device.profile.addressing == "one_based"
        self._address = self.point.address - (1 if one_based else 0)
        self._function = Function(self.point.function)

    async def write(self, value: bool | float) -> None:
        try:
            reply = await self.device.bus.write(
                self.device.unit,
                self._function,
                self._address,
                self._encode(value),
                device=self.device.id,
            )
        except TransportError as exc:
            raise ActuatorError(self.actuator, f"{self.point.name}: {exc}") from None
        if isinstance(reply, ExceptionReply):
            raise ActuatorError(self.actuator, f"{self.point.name}: device answered {reply}")

    async def read(self) -> bool | float | None:
        """The point's value, None when the device answered with an exception."""
        try:
            data = await self.device.bus.read(
                self.device.unit,
                self._function,
                self._address,
                self._count(),
                device=self.device.id,
            )
        except TransportError as exc:
            raise ActuatorError(self.actuator, f"{self.point.name}: {exc}") from None
        if isinstance(data, ExceptionReply):
            return None
        if self._function is Function.COIL:
            return bool(data[0])
        value = ModbusClientMixin.convert_from_registers(
            [int(r) for r in data], PYMODBUS_TYPES[self.point.type]
        )
        assert isinstance(value, int | float)
        return float(value)

    def _count(self) -> int:
        if self._function is Function.COIL:
            return 1
        return len(ModbusClientMixin.convert_to_registers(0, PYMODBUS_TYPES[self.point.type]))

    def _encode(self, value: bool | float) -> list[bool] | list[int]:
        if self._function is Function.COIL:
            return [bool(value)]
        if self.point.type in (DataType.BOOL, DataType.STRING):
            raise ActuatorError(self.actuator, f"{self.point.name}: not a numeric register")
        low = self.point.min if self.point.min is not None else float("-inf")
        high = self.point.max if self.point.max is not None else float("inf")
        number = min(high, max(low, float(value)))
        is_float = self.point.type in (DataType.FLOAT32, DataType.FLOAT64)
        kind = PYMODBUS_TYPES[self.point.type]
        return list(
            ModbusClientMixin.convert_to_registers(number if is_float else round(number), kind)
        )
