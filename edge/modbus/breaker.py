"""A per-device circuit breaker: a dead device costs one timeout per back-off window.

After ``threshold`` consecutive transport failures the breaker opens; the device is then tried
once when the window ends (a probe), and the window doubles after each failed probe up to
``max_s``, with ±10 % jitter so that devices that died together do not probe together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class CircuitBreaker:
    base_s: float = 5.0
    max_s: float = 300.0
    threshold: int = 2
    rng: random.Random = field(default_factory=random.Random)
    consecutive_failures: int = 0
    opened: int = 0
    retry_at: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.consecutive_failures >= self.threshold

    def allows(self, now: float) -> bool:
        return not self.is_open or now >= self.retry_at

    def retry_in(self, now: float) -> float:
        return max(0.0, self.retry_at - now) if self.is_open else 0.0

    def record_success(self) -> bool:
        """Close the breaker; True when the device was unreachable until now."""
        was_open = self.is_open
        self.consecutive_failures = 0
        self.opened = 0
        return was_open

    def record_failure(self, now: float) -> bool:
        """Count a transport failure; True when this one opened the breaker."""
        self.consecutive_failures += 1
        if not self.is_open:
            return False
        window = min(self.max_s, self.base_s * 2**self.opened)
        self.retry_at = now + window * self.rng.uniform(0.9, 1.1)
        self.opened += 1
        return self.opened == 1
