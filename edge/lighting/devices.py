"""Overrides of a single DALI gear inside a lighting group (``set_level`` on ``device:<gear id>``).

A group command (DAPC to the DALI group or broadcast) reaches every gear of the group, a gear with
its own override included; so after every group send the overridden gear are sent their own level
again, and when a gear's override ends it is sent the group's level once. Gear are found by id on
the lines' last discovery (``find``); a gear not found yet (line down, not discovered) is retried
at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from edge.lighting.actuators.base import Actuator
from edge.lighting.overrides import OverrideBook

log = logging.getLogger(__name__)

GearLookup = Callable[[str], tuple[str, Actuator] | None]
"""Gear id → (its lighting group, an actuator for it alone), or None when not on this gateway."""
Send = Callable[[str, Actuator, float], Awaitable[bool]]


def no_gear(_device: str) -> tuple[str, Actuator] | None:
    return None


class DeviceLevels:
    def __init__(self, book: OverrideBook, find: GearLookup) -> None:
        self._book = book
        self.find = find
        self._applied: dict[str, dict[str, float]] = {}  # group → gear → level sent
        self._missing: set[str] = set()

    def wanted(self, group: str, now_ms: int, group_level: float) -> dict[str, float]:
        """Gear → level to hold: overrides in force, and the group's level for those that ended."""
        active = self._book.device_levels(group, now_ms)
        applied = self._applied.get(group, {})
        restore = {device: group_level for device in applied if device not in active}
        return {**restore, **active}

    def pending(self, group: str, now_ms: int, group_level: float) -> bool:
        applied = self._applied.get(group, {})
        wanted = self.wanted(group, now_ms, group_level)
        return any(applied.get(device) != level for device, level in wanted.items())

    async def apply(
        self, group: str, now_ms: int, group_level: float, group_sent: bool, send: Send
    ) -> None:
        """Send what :meth:`wanted` says and was not sent (all of it after a group send)."""
        if group_sent:
            self._applied[group] = {}
        applied = self._applied.setdefault(group, {})
        for device, level in self.wanted(group, now_ms, group_level).items():
            if applied.get(device) == level:
                continue
            found = self.find(device)
            if found is None:
                if device not in self._missing:
                    log.warning("gear %s of an override is not on a DALI line yet", device)
                    self._missing.add(device)
                continue
            self._missing.discard(device)
            if await send(group, found[1], level):
                applied[device] = level
