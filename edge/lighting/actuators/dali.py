"""DALI back-end of a lighting group: DAPC to a DALI group or to the whole line, with fade.

The fade is stored in the gear (FADE TIME, or DALI-2 EXTENDED FADE TIME beyond 90.5 s) only when
it differs from what this actuator last stored since the line (re)connected, so a steady program
costs one frame per level change. Read-back is QUERY ACTUAL LEVEL on the first member of the group
that answers (mid-fade it is the level reached so far).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from dali.address import Address, GearBroadcast, GearGroup, GearShort
from dali.gear import general as g

from edge.lighting.backends_config import DaliTarget
from edge.lighting.dali_levels import FadeSetting, arc_to_percent, fade_setting, percent_to_arc
from edge.lighting.dali_line import DaliLine


class DaliActuator:
    def __init__(self, line: DaliLine, target: DaliTarget) -> None:
        if target.line != line.name:
            raise ValueError(f"target on line {target.line!r} given line {line.name!r}")
        self.line = line
        self.target = target
        self.name = f"dali:{target.label}"
        self._address = GearBroadcast() if target.broadcast else GearGroup(target.group)
        self._fade: tuple[int, FadeSetting] | None = None  # (line generation, setting stored)

    async def apply(self, level_pct: float, fade_s: float) -> None:
        arc = percent_to_arc(level_pct)
        setting = fade_setting(fade_s)
        if self._fade != (self.line.generation, setting):
            await self._store_fade(setting)
        await self.line.send(g.DAPC(self._address, arc))

    async def _store_fade(self, setting: FadeSetting) -> None:
        # One transaction: a poll's memory-bank read between DTR0 and its use would overwrite it.
        await self.line.send(_fade_sequence(self._address, setting), frames=6)
        self._fade = (self.line.generation, setting)

    async def read_back(self) -> float | None:
        for address in self.line.members(None if self.target.broadcast else self.target.group):
            response = await self.line.send(g.QueryActualLevel(GearShort(address)))
            raw = response.raw_value
            if raw is not None and not raw.error:
                return round(arc_to_percent(int(raw.as_integer)), 2)
        return None

    async def close(self) -> None:
        """The line is shared by the groups on it: ``build`` closes it, not each actuator."""


def _fade_sequence(address: Address, setting: FadeSetting) -> Generator[Any, Any, None]:
    yield g.DTR0(setting.fade_code)
    yield g.SetFadeTime(address)
    yield g.DTR0(setting.extended)
    yield g.SetExtendedFadeTime(address)
