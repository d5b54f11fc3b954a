"""Debounced alarm conditions: raise after N consecutive true observations, clear after N false.

Several conditions may feed one alarm (``device``, ``kind``): the alarm is raised when the first of
them becomes active and cleared when the last one clears, so the cloud sees one open/clear pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Debounced:
    needed: int
    active: bool = False
    streak: int = 0

    def see(self, condition: bool) -> bool | None:
        """Feed one observation; the new state when it flips, else None."""
        if condition == self.active:
            self.streak = 0
            return None
        self.streak += 1
        if self.streak < self.needed:
            return None
        self.active, self.streak = condition, 0
        return condition


@dataclass
class Alarm:
    """One (device, kind) alarm fed by named conditions."""

    device: str
    kind: str
    sources: set[str] = field(default_factory=set)

    def update(self, source: str, active: bool) -> bool | None:
        """Record ``source``'s new state; the alarm's new state when it flips, else None."""
        was = bool(self.sources)
        if active:
            self.sources.add(source)
        else:
            self.sources.discard(source)
        now = bool(self.sources)
        return None if now == was else now


@dataclass
class AlarmBoard:
    needed: int
    _conditions: dict[tuple[str, str, str], Debounced] = field(default_factory=dict)
    _alarms: dict[tuple[str, str], Alarm] = field(default_factory=dict)

    def see(self, device: str, kind: str, source: str, condition: bool | None) -> bool | None:
        """Feed ``condition`` (None: cannot tell now, nothing changes); alarm flip or None."""
        if condition is None:
            return None
        key = (device, kind, source)
        debounced = self._conditions.setdefault(key, Debounced(self.needed))
        flipped = debounced.see(condition)
        if flipped is None:
            return None
        alarm = self._alarms.setdefault((device, kind), Alarm(device, kind))
        return alarm.update(source, flipped)

    def active(self, device: str, kind: str) -> bool:
        alarm = self._alarms.get((device, kind))
        return alarm is not None and bool(alarm.sources)
