"""Setpoint back-end: the level, rounded to a whole percent, written to a holding register."""

from __future__ import annotations

from edge.lighting.actuators.modbus_point import ModbusDevice, ModbusPoint
from edge.lighting.backends_config import SetpointTarget


class SetpointActuator:
    def __init__(self, device: ModbusDevice, target: SetpointTarget) -> None:
        self.name = f"setpoint:{device.id}"
        self._register = ModbusPoint(device, target.output, self.name)

    async def apply(self, level_pct: float, fade_s: float) -> None:
        await self._register.write(round(level_pct))

    async def read_back(self) -> float | None:
        value = await self._register.read()
        return None if value is None else float(value)

    async def close(self) -> None:
        """The Modbus bus belongs to the agent."""
