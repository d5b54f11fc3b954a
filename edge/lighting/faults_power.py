"""The metered-power checks of one meter, whatever number of lighting groups it feeds.

Several groups of a cabinet often share its meter: the expected power is then the sum of each
group's expectation at its commanded level, and "lit" means above the sum of their standby plus
5 % of their rated power. A verdict is None where the reading cannot tell (a command too recent
for its fade to have settled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from edge.lighting.backends_config import MeterTarget


class Commanded(Protocol):
    """What the checks need of the executor's ``GroupCommand``."""

    @property
    def target_pct(self) -> float: ...
    @property
    def lit(self) -> bool: ...
    @property
    def since_ms(self) -> int: ...
    @property
    def fade_s(self) -> float: ...


@dataclass(frozen=True)
class Fed:
    """One group behind the meter: its meter settings, its command, whether it has a contactor."""

    meter: MeterTarget
    command: Commanded
    contactor: bool


@dataclass(frozen=True)
class PowerVerdict:
    expected_w: float
    lit_above_w: float
    day_burner: bool | None
    contactor_error: bool | None
    out_of_tolerance: bool | None


def judge_power(
    power_w: float, fed: Sequence[Fed], *, now_ms: int, daylight: bool, settle_s: float
) -> PowerVerdict:
    settled = all(now_ms - f.command.since_ms >= (f.command.fade_s + settle_s) * 1000 for f in fed)
    on = [f for f in fed if f.command.lit and f.command.target_pct > 0]
    expected = sum(f.meter.expected_w(f.command.target_pct) for f in on)
    threshold = sum(f.meter.lit_above_w for f in fed)
    lit_seen = power_w > threshold
    tolerance = min(f.meter.tolerance_pct for f in fed) / 100
    if not settled:
        return PowerVerdict(expected, threshold, None if not on else False, None, None)
    switched = any(f.contactor for f in fed)
    stuck = (not on and not daylight and lit_seen) or (bool(on) and not lit_seen)
    return PowerVerdict(
        expected_w=expected,
        lit_above_w=threshold,
        day_burner=not on and daylight and lit_seen,
        contactor_error=stuck if switched else None,
        out_of_tolerance=bool(on) and lit_seen and abs(power_w - expected) > tolerance * expected,
    )
