"""Contactor back-end: level > 0 closes the listed coils, 0 opens them."""

from __future__ import annotations

from edge.lighting.actuators.modbus_point import ModbusDevice, ModbusPoint
from edge.lighting.backends_config import ContactorTarget


class ContactorActuator:
    def __init__(self, device: ModbusDevice, target: ContactorTarget) -> None:
        self.name = f"contactor:{device.id}"
        self._coils = [ModbusPoint(device, output, self.name) for output in target.outputs]

    async def apply(self, level_pct: float, fade_s: float) -> None:
        closed = level_pct > 0
        for coil in self._coils:
            await coil.write(closed)

    async def read_back(self) -> float | None:
        """100 when every coil is closed, 0 when all are open, None if mixed or unknown."""
        states = {await coil.read() for coil in self._coils}
        if states == {True}:
            return 100.0
        if states == {False}:
            return 0.0
        return None

    async def close(self) -> None:
        """The Modbus bus belongs to the agent."""
