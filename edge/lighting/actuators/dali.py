"""DALI back-end of a lighting group: DAPC to a DALI group or to the whole line, with fade.

The fade is stored in the gear (FADE TIME, or DALI-2 EXTENDED FADE TIME beyond 90.5 s) only when
it differs from what this actuator last stored since the line (re)connected, so a steady program
costs one frame per level change. Read-back is QUERY ACTUAL LEVEL on the first member of the group
that answers (mid-fade it is the level reached so far).

Street-lighting DALI gear usually take their mains through the cabinet's contactor, which the
executor closes just before this DAPC: gear still booting can miss it (and the fade setting) and
stay at their POWER ON LEVEL. So on each switch-on (0 → lit) the fade and DAPC of the latest level
are sent again ``POWER_UP_S`` later, in the background, and the gear are rediscovered if none was
known (they had no mains at the last discovery), so that read-back finds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator
from typing import Any

from dali.address import Address, GearBroadcast, GearGroup, GearShort
from dali.gear import general as g

from edge.errors import ActuatorError
from edge.lighting.backends_config import DaliTarget
from edge.lighting.dali_levels import FadeSetting, arc_to_percent, fade_setting, percent_to_arc
from edge.lighting.dali_line import DaliLine

log = logging.getLogger(__name__)

POWER_UP_S = 0.6
"""IEC 62386-102 gives gear 0.6 s after mains returns to be at their POWER ON LEVEL."""


class DaliActuator:
    def __init__(self, line: DaliLine, target: DaliTarget) -> None:
        if target.line != line.name:
            raise ValueError(f"target on line {target.line!r} given line {line.name!r}")
        self.line = line
        self.target = target
        self.name = f"dali:{target.label}"
        self._address = GearBroadcast() if target.broadcast else GearGroup(target.group)
        self._fade: tuple[int, FadeSetting] | None = None  # (line generation, setting stored)
        self._wanted: tuple[int, FadeSetting] = (0, fade_setting(0))  # latest (arc, fade)
        self._resend: asyncio.Task[None] | None = None

    async def apply(self, level_pct: float, fade_s: float) -> None:
        arc = percent_to_arc(level_pct)
        setting = fade_setting(fade_s)
        switching_on = arc > 0 and self._wanted[0] == 0
        self._wanted = (arc, setting)
        if arc == 0 and self._resend is not None:
            self._resend.cancel()
        if switching_on:
            self._fade = None  # gear that had no mains did not store it
            if self._resend is None or self._resend.done():
                self._resend = asyncio.create_task(self._after_power_up())
        if self._fade != (self.line.generation, setting):
            await self._store_fade(setting)
        await self.line.send(g.DAPC(self._address, arc))

    async def _after_power_up(self) -> None:
        await asyncio.sleep(POWER_UP_S)
        try:
            await self.line.send(self._resend_sequence(), frames=8)
            if not self.line.present:
                await self.line.refresh_gear()
        except ActuatorError as exc:
            log.info("%s: resend after power-up failed (%s)", self.name, exc)

    def _resend_sequence(self) -> Generator[Any, Any, None]:
        # The latest level is read when the transaction starts, under the line's lock, so an
        # apply() queued meanwhile cannot be overtaken by an older level.
        arc, setting = self._wanted
        yield from _fade_sequence(self._address, setting)
        yield g.DAPC(self._address, arc)
        self._fade = (self.line.generation, setting)

    async def _store_fade(self, setting: FadeSetting) -> None:
        # One transaction: a poll's memory-bank read between DTR0 and its use would overwrite it.
        await self.line.send(_fade_sequence(self._address, setting), frames=6)
        self._fade = (self.line.generation, setting)

    def _members(self) -> list[int]:
        return self.line.members(None if self.target.broadcast else self.target.group)

    async def read_back(self) -> float | None:
        for address in self._members():
            response = await self.line.send(g.QueryActualLevel(GearShort(address)))
            raw = response.raw_value
            if raw is not None and not raw.error:
                return round(arc_to_percent(int(raw.as_integer)), 2)
        return None

    async def close(self) -> None:
        """Stop a pending resend; the line is shared by its groups: ``build`` closes it."""
        if self._resend is not None:
            self._resend.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resend


def _fade_sequence(address: Address, setting: FadeSetting) -> Generator[Any, Any, None]:
    yield g.DTR0(setting.fade_code)
    yield g.SetFadeTime(address)
    yield g.DTR0(setting.extended)
    yield g.SetExtendedFadeTime(address)
