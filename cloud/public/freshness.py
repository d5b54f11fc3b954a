"""How old a published value is, and whether it is too old to trust."""

from __future__ import annotations

from datetime import datetime

from eclor.clock import from_epoch_ms, to_epoch_ms


def age_s(observed_ms: int, now: datetime) -> int:
    """Whole seconds since ``observed_ms`` (0 for a time in the future: clocks drift)."""
    return max(0, (to_epoch_ms(now) - observed_ms) // 1000)


def is_stale(observed_ms: int | None, now: datetime, stale_after_s: int) -> bool:
    """Stale when never observed or observed more than ``stale_after_s`` seconds ago."""
    return observed_ms is None or age_s(observed_ms, now) > stale_after_s


def observed_at(observed_ms: int | None) -> datetime | None:
    return None if observed_ms is None else from_epoch_ms(observed_ms)
