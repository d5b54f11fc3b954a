"""Setpoint back-end: the level, rounded to a whole percent, written to a holding register.

With ``hold_when_off`` (the group also has a contactor, which does the switching off), level 0
leaves the setpoint where it is: the contactor switches the lamps off, and a contactor that stays
closed (a day-burner, a stuck contactor) then shows as power drawn, not hidden by a 0 % setpoint.
"""

from __future__ import annotations

from edge.lighting.actuators.modbus_point import ModbusDevice, ModbusPoint
from edge.lighting.backends_config import SetpointTarget


class SetpointActuator:
    def __init__(
        self, device: ModbusDevice, target: SetpointTarget, *, hold_when_off: bool = False
    ) -> None:
        self.name = f"setpoint:{device.id}"
        self.hold_when_off = hold_when_off
        self._register = ModbusPoint(device, target.output, self.name)

    async def apply(self, level_pct: float, fade_s: float) -> None:
        if level_pct == 0 and self.hold_when_off:
            return
        await self._register.write(round(level_pct))

    async def read_back(self) -> float | None:
        value = await self._register.read()
        return None if value is None else float(value)

    async def close(self) -> None:
        """The Modbus bus belongs to the agent."""
