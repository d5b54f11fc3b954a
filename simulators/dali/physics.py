"""Numbers of a DALI luminaire: the logarithmic dimming curve, fade times and rates, power draw.

Everything here is pure arithmetic on the values of IEC 62386-102:

* arc power level ``n`` (1–254) gives ``10 ** ((n - 1) / (253 / 3) - 1)`` % of full light, so
  1 → 0.1 %, 170 → 10 %, 229 → 50 %, 254 → 100 %; 0 is off and 255 is MASK ("no change");
* fade time code ``X`` (1–15) is ``0.5 * sqrt(2 ** X)`` seconds (0.707 … 90.5 s); code 0 selects
  the DALI-2 extended fade time, ``(base + 1) * multiplier`` with multipliers 0, 0.1, 1, 10, 60 s
  (so up to 16 minutes);
* fade rate code ``Y`` (1–15) is ``506 / sqrt(2 ** Y)`` steps per second (used by UP and DOWN).

Levels are handled as floats while a fade runs (a fade is linear in arc level, hence exponential in
light) and rounded only when the gear reports them.
"""

from __future__ import annotations

import math

MASK = 255
MAX_ARC_LEVEL = 254
_DECADE = 253 / 3  # arc levels per factor of ten in light output

EXTENDED_FADE_MULTIPLIERS_S = (0.0, 0.1, 1.0, 10.0, 60.0)


def light_percent(level: float) -> float:
    """Light output in % of full for an arc level (0 is off)."""
    if level <= 0:
        return 0.0
    level = min(level, MAX_ARC_LEVEL)
    return float(10 ** ((level - 1) / _DECADE - 1))


def light_fraction(level: float) -> float:
    """Light output as a fraction of full (0.0–1.0)."""
    return light_percent(level) / 100.0


def arc_level_for_percent(percent: float) -> int:
    """The arc level (1–254) closest to a light output in %; 0 for 0 % or less."""
    if percent <= 0:
        return 0
    level = 1 + _DECADE * (math.log10(percent) + 1)
    return max(1, min(MAX_ARC_LEVEL, round(level)))


def fade_time_s(code: int) -> float:
    """Duration of a fade for fade time code 1–15 (code 0: see ``extended_fade_time_s``)."""
    if not 0 <= code <= 15:
        raise ValueError(f"fade time code must be 0..15, got {code}")
    if code == 0:
        return 0.0
    return 0.5 * math.sqrt(2**code)


def fade_rate_steps_per_s(code: int) -> float:
    """Steps per second for fade rate code 1–15."""
    if not 1 <= code <= 15:
        raise ValueError(f"fade rate code must be 1..15, got {code}")
    return 506 / math.sqrt(2**code)


def extended_fade_time_s(base: int, multiplier: int) -> float:
    """DALI-2 extended fade time from its base (0–15, meaning 1–16) and multiplier code (0–4)."""
    if not 0 <= base <= 15 or not 0 <= multiplier <= 4:
        return 0.0
    return (base + 1) * EXTENDED_FADE_MULTIPLIERS_S[multiplier]


def light_integral(level_from: float, level_to: float, duration_s: float) -> float:
    """∫ light_fraction(level(t)) dt over a fade that moves linearly from one level to another.

    Both ends must be lit levels (≥ 1): a fade never passes through "off" (it starts from, or ends
    at, the minimum level and switches the lamp on or off at its ends).
    """
    if duration_s <= 0:
        return 0.0
    slope = (level_to - level_from) / duration_s  # levels per second
    if abs(slope) < 1e-9:
        return light_fraction(level_from) * duration_s
    k = slope * math.log(10) / _DECADE  # d(ln fraction)/dt
    return (light_fraction(level_to) - light_fraction(level_from)) / k


def power_w(rated_w: float, standby_w: float, fraction: float, lamp_on: bool) -> float:
    """Electrical input power: standby plus rated power scaled by the light fraction."""
    return standby_w + (rated_w * fraction if lamp_on else 0.0)
