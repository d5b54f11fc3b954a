"""From a dimming level to what the mains sees: an LED street-lighting load.

* The DALI logarithmic curve (arc level n ↔ 10^((n−1)/(253/3) − 1) % of light) is shared with the
  DALI simulator (:mod:`simulators.dali.physics`). A cabinet's dim setpoint, in percent of light, is
  carried to the luminaires as the nearest arc level, so what they emit is quantised by the curve
  (50 % → arc 229 → 49.9 %).
* An LED luminaire draws power roughly proportional to its light output, plus a small driver loss
  that weighs more at low levels: P = rated × (loss + (1 − loss) × light). A driver that is powered
  but dimmed to off still draws a fraction of a watt.
* Its power factor is about 0.97 at full output and falls towards 0.85 at low levels; a cabinet's
  own electronics (controller, modem, photocell) draw a few watts at a poor power factor.
"""

from __future__ import annotations

import math

from simulators.dali.physics import arc_level_for_percent, light_fraction

DRIVER_LOSS = 0.07
DRIVER_STANDBY_W = 0.4
STANDBY_POWER_FACTOR = 0.5


def setpoint_light(dim_pct: float) -> float:
    """Light (0–1) the luminaires emit for a dim setpoint in % of light, via the DALI arc level."""
    return light_fraction(arc_level_for_percent(dim_pct))


def luminaire_power_w(rated_w: float, light: float) -> float:
    """Mains power of one powered LED luminaire emitting ``light`` (0–1) of its full output."""
    if light <= 0.0:
        return DRIVER_STANDBY_W
    return rated_w * (DRIVER_LOSS + (1.0 - DRIVER_LOSS) * light)


def luminaire_power_factor(light: float) -> float:
    """Power factor of an LED driver at ``light`` (0–1) of full output."""
    if light <= 0.0:
        return STANDBY_POWER_FACTOR
    return 0.85 + 0.12 * math.sqrt(min(1.0, light))


def reactive_var(power_w: float, power_factor: float) -> float:
    """Reactive power of a load drawing ``power_w`` at ``power_factor`` (inductive, positive)."""
    if power_w <= 0.0 or power_factor >= 1.0:
        return 0.0
    return power_w * math.tan(math.acos(power_factor))
