"""Mains supply and the meter's instantaneous values.

The loads are constant-power LED drivers, so active power depends only on what is lit; the supply
voltage wanders (a slow daily swing, a fixed per-phase offset, a little noise) and the currents
follow: I = S / V with S = √(P² + Q²), i.e. I = P / (V·pf). Energy is integrated elsewhere from the
same noiseless active power, so the counter and the power register always agree.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from simulators.state import MeterState
from simulators.territory.lamps import reactive_var
from simulators.territory.localtime import local_hour

NOMINAL_V = 230.0
NOMINAL_HZ = 50.0
MAX_HZ_DEVIATION = 0.05


@dataclass
class PhaseLoad:
    """Active and reactive power drawn on one phase."""

    power_w: float = 0.0
    reactive_var: float = 0.0

    def add(self, power_w: float, power_factor: float) -> None:
        self.power_w += power_w
        self.reactive_var += reactive_var(power_w, power_factor)

    @property
    def apparent_va(self) -> float:
        return math.hypot(self.power_w, self.reactive_var)

    @property
    def power_factor(self) -> float:
        apparent = self.apparent_va
        return self.power_w / apparent if apparent > 0.0 else 1.0


class Supply:
    """The mains at one site, sampled whenever a meter is refreshed."""

    def __init__(self, rng: random.Random, zone: ZoneInfo) -> None:
        self._rng = rng
        self._zone = zone
        self._phase_offsets = [rng.uniform(-1.5, 1.5) for _ in range(3)]

    def voltages(self, moment: datetime) -> list[float]:
        """Line-to-neutral voltages: lower in the evening peak, higher at night."""
        hour = local_hour(moment, self._zone)
        swing = -2.5 * math.exp(-((hour - 19.0) ** 2) / 8.0) + 1.5 * math.cos(
            (hour - 3.0) / 24.0 * 2.0 * math.pi
        )
        return [
            NOMINAL_V + swing + offset + self._rng.gauss(0.0, 0.6) for offset in self._phase_offsets
        ]

    def frequency(self) -> float:
        drift = self._rng.gauss(0.0, 0.015)
        return NOMINAL_HZ + max(-MAX_HZ_DEVIATION, min(MAX_HZ_DEVIATION, drift))


def refresh_meter(
    meter: MeterState, loads: list[PhaseLoad], supply: Supply, moment: datetime
) -> None:
    """Write voltages, currents, powers, power factors and frequency for the given phase loads.

    ``loads`` has one entry for a single-phase meter (its other phases read 0 V and 0 A) and three
    for a three-phase one.
    """
    voltages = supply.voltages(moment)
    for phase in range(3):
        if phase >= len(loads):
            meter.voltage_v[phase] = 0.0
            meter.current_a[phase] = 0.0
            meter.power_w[phase] = 0.0
            meter.power_factor[phase] = 1.0
            continue
        load = loads[phase]
        meter.voltage_v[phase] = voltages[phase]
        meter.current_a[phase] = load.apparent_va / voltages[phase]
        meter.power_w[phase] = load.power_w
        meter.power_factor[phase] = load.power_factor
    meter.frequency_hz = supply.frequency()


def add_energy(meter: MeterState, watt_seconds: float) -> None:
    """Add imported energy (joules) to the meter's counter, kept in kWh."""
    meter.import_energy_kwh += watt_seconds / 3.6e6
