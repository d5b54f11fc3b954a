"""How old a published value is."""

from __future__ import annotations

from datetime import datetime

from eclor.clock import to_epoch_ms


def age_s(observed_ms: int, now: datetime) -> int:
    """Whole seconds since ``observed_ms`` (0 for a time in the future: clocks drift)."""
    return max(0, (to_epoch_ms(now) - observed_ms) // 1000)
