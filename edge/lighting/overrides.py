"""Overrides and raises of a group's level, with a start and an end, kept until they expire.

Two modes (see the ``set_level`` command in ``docs/edge.md``):

- ``override``: the group goes to ``level_pct`` from ``starts_at`` to ``until`` whatever the
  program says; when several overlap, the one received last wins.
- ``raise``: the level is at least ``level_pct``, only while the program has the light on (adaptive
  lighting, from the cloud policy or an edge-local rule); several raises take their maximum.

Expiry needs no message: the book is asked at every tick what holds *now*.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Mode = Literal["override", "raise"]


@dataclass(frozen=True, slots=True)
class Override:
    group: str
    level_pct: float
    starts_at: int
    """epoch ms"""
    until: int
    """epoch ms, exclusive"""
    mode: Mode = "override"
    source: str = "operator"
    fade_s: float | None = None
    command_id: str = ""
    device: str | None = None
    """A single DALI gear inside the group, or None for the whole group."""
    order: int = 0
    """Arrival order: among overlapping overrides the highest wins."""

    def holds(self, now_ms: int) -> bool:
        return self.starts_at <= now_ms < self.until

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Override:
        override = cls(**data)
        if override.mode not in ("override", "raise"):
            raise ValueError(f"unknown override mode {override.mode!r}")
        if not 0 <= override.level_pct <= 100:
            raise ValueError(f"level_pct {override.level_pct} outside 0-100")
        return override


class OverrideBook:
    """The overrides and raises in force or to come, per group (and per device)."""

    def __init__(self, overrides: list[Override] | None = None) -> None:
        self._items: list[Override] = list(overrides or [])
        self._order = max((o.order for o in self._items), default=0)

    def add(self, override: Override) -> Override:
        """Store ``override`` as the newest; returns it with its arrival order set."""
        self._order += 1
        stamped = Override(**{**asdict(override), "order": self._order})
        self._items.append(stamped)
        return stamped

    def clear(self, group: str, *, modes: tuple[Mode, ...] = ("override",)) -> int:
        """Drop the group's overrides (of ``modes``), its devices' included; returns how many."""
        kept = [o for o in self._items if not (o.group == group and o.mode in modes)]
        dropped = len(self._items) - len(kept)
        self._items = kept
        return dropped

    def expire(self, now_ms: int) -> list[Override]:
        """Drop the overrides that ended; returns them."""
        ended = [o for o in self._items if o.until <= now_ms]
        if ended:
            self._items = [o for o in self._items if o.until > now_ms]
        return ended

    def override_for(self, group: str, now_ms: int, device: str | None = None) -> Override | None:
        """The newest ``override`` in force for the group (or, with ``device``, for that gear)."""
        holding = [
            o
            for o in self._items
            if o.group == group and o.mode == "override" and o.device == device and o.holds(now_ms)
        ]
        return max(holding, key=lambda o: o.order, default=None)

    def raise_for(self, group: str, now_ms: int) -> Override | None:
        """The highest ``raise`` in force for the group."""
        holding = [
            o
            for o in self._items
            if o.group == group and o.mode == "raise" and o.device is None and o.holds(now_ms)
        ]
        return max(holding, key=lambda o: (o.level_pct, o.order), default=None)

    def device_levels(self, group: str, now_ms: int) -> dict[str, float]:
        """Gear of the group with an override in force → its level (the newest override wins)."""
        levels: dict[str, float] = {}
        for o in sorted(self._items, key=lambda o: o.order):
            if o.group == group and o.device is not None and o.holds(now_ms):
                levels[o.device] = o.level_pct
        return levels

    def clear_device(self, device: str) -> int:
        """Drop the overrides of one gear; returns how many."""
        kept = [o for o in self._items if o.device != device]
        dropped = len(self._items) - len(kept)
        self._items = kept
        return dropped

    def next_change(self, now_ms: int) -> int | None:
        """The next start or end after ``now_ms`` (epoch ms), if any."""
        moments = [t for o in self._items for t in (o.starts_at, o.until) if t > now_ms]
        return min(moments, default=None)

    def snapshot(self) -> list[Override]:
        return list(self._items)
