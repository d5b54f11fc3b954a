"""DALI arithmetic: percent ↔ logarithmic arc level (IEC 62386-102), and fade settings.

Arc level n (1–254) gives 10^((n−1)/(253/3) − 1) % of light: 10 % → 170, 25 % → 203, 50 % → 229,
100 % → 254; 0 is off. A fade is carried by FADE TIME (code 1–15: 0.5·√(2^code) s, 0.7–90.5 s)
or, for longer or finer fades, by the DALI-2 EXTENDED FADE TIME ((base+1) × multiplier, up to
16 min), which the gear uses only while FADE TIME is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_ARC = 254
_STEPS_PER_DECADE = 253 / 3
_EXTENDED_MULTIPLIERS_S = {1: 0.1, 2: 1.0, 3: 10.0, 4: 60.0}


def percent_to_arc(percent: float) -> int:
    """0 → 0 (off); any positive percent → 1–254, rounded to the nearest arc level."""
    if not 0 <= percent <= 100:
        raise ValueError(f"level {percent} % outside 0–100")
    if percent == 0:
        return 0
    arc = 1 + _STEPS_PER_DECADE * (math.log10(percent) + 1)
    return max(1, min(MAX_ARC, round(arc)))


def arc_to_percent(arc: int) -> float:
    if not 0 <= arc <= MAX_ARC:
        raise ValueError(f"arc level {arc} outside 0–254")
    if arc == 0:
        return 0.0
    return float(10 ** ((arc - 1) / _STEPS_PER_DECADE - 1))


def fade_time_s(code: int) -> float:
    return 0.0 if code == 0 else 0.5 * math.sqrt(2**code)


@dataclass(frozen=True)
class FadeSetting:
    """What to store in the gear: ``fade_code`` (FADE TIME) and ``extended`` (DTR0 byte)."""

    fade_code: int
    extended: int
    seconds: float


def fade_setting(fade_s: float) -> FadeSetting:
    """The gear setting closest to ``fade_s``: FADE TIME up to 90.5 s, extended fade beyond.

    Below 0.35 s the change is a jump (fade 0, extended 0).
    """
    if fade_s < 0:
        raise ValueError(f"fade {fade_s} s is negative")
    if fade_s < 0.35:
        return FadeSetting(0, 0, 0.0)
    if fade_s <= fade_time_s(15) * 1.05:
        code = min(range(1, 16), key=lambda c: abs(fade_time_s(c) - fade_s))
        return FadeSetting(code, 0, fade_time_s(code))
    best = min(
        ((base, mult) for mult in _EXTENDED_MULTIPLIERS_S for base in range(16)),
        key=lambda bm: abs((bm[0] + 1) * _EXTENDED_MULTIPLIERS_S[bm[1]] - fade_s),
    )
    base, mult = best
    return FadeSetting(0, (mult << 4) | base, (base + 1) * _EXTENDED_MULTIPLIERS_S[mult])
