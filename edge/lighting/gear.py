"""One DALI control gear addressed alone, for a ``set_level`` on ``device:<gear id>``.

The gear keeps the fade time its group's actuator stored; the level goes by DAPC to its short
address and is read back with QUERY ACTUAL LEVEL. Gear ids are the DALI line's
(``dali-<line>-gear-<short address>``), as in the ``dali`` readings and events.
"""

from __future__ import annotations

from collections.abc import Mapping

from dali.address import GearShort
from dali.gear import general as g

from edge.lighting.dali_levels import arc_to_percent, percent_to_arc
from edge.lighting.dali_line import MAX_SHORT_ADDRESS, DaliLine


class GearActuator:
    def __init__(self, line: DaliLine, address: int) -> None:
        self.line = line
        self.address = address
        self.name = line.gear_id(address)

    async def apply(self, level_pct: float, fade_s: float) -> None:
        await self.line.send(g.DAPC(GearShort(self.address), percent_to_arc(level_pct)))

    async def read_back(self) -> float | None:
        response = await self.line.send(g.QueryActualLevel(GearShort(self.address)))
        raw = response.raw_value
        if raw is None or raw.error:
            return None
        return round(arc_to_percent(int(raw.as_integer)), 2)

    async def close(self) -> None:
        """The line belongs to the back-ends."""


def find_gear(lines: Mapping[str, DaliLine], device: str) -> tuple[str, GearActuator] | None:
    """The lighting group and an actuator for gear ``device`` (``dali-<line>-gear-<n>``).

    The group comes from the line's groups: any address on a broadcast line, else the DALI groups
    its last discovery found for the gear (gear behind an open contactor cannot be discovered).
    """
    for line in lines.values():
        prefix = line.gear_id(0)[:-1]
        number = device.removeprefix(prefix)
        if number == device or not number.isdigit() or int(number) > MAX_SHORT_ADDRESS:
            continue
        group = line.lighting_group(int(number))
        return None if group is None else (group, GearActuator(line, int(number)))
    return None
