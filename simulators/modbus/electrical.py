"""Quantities a meter derives from what :class:`simulators.state.MeterState` holds.

The state keeps, per phase, the line-to-neutral voltage, current, active power and power factor;
a meter also shows apparent and reactive power, phase angles, line-to-line voltages and the
neutral current. They are computed here for a balanced three-phase system (phases 120° apart),
the same way for every meter model, so two meters fed the same state agree with each other.
"""

from __future__ import annotations

import cmath
import math

from simulators.state import MeterState

PHASE_SHIFT = 2 * math.pi / 3


def apparent_power_va(state: MeterState, phase: int) -> float:
    return state.voltage_v[phase] * state.current_a[phase]


def reactive_power_var(state: MeterState, phase: int) -> float:
    """Positive (inductive); the state does not say which way the current lags."""
    apparent = apparent_power_va(state, phase)
    return math.sqrt(max(apparent**2 - state.power_w[phase] ** 2, 0.0))


def phase_angle_deg(power_factor: float) -> float:
    return math.degrees(math.acos(min(max(power_factor, -1.0), 1.0)))


def line_to_line_v(state: MeterState, first: int, second: int) -> float:
    """|V_a − V_b| for two phases 120° apart."""
    va, vb = state.voltage_v[first], state.voltage_v[second]
    return math.sqrt(va * va + vb * vb + va * vb)


def mean_line_to_line_v(state: MeterState) -> float:
    return mean([line_to_line_v(state, a, (a + 1) % 3) for a in range(3)])


def neutral_current_a(state: MeterState) -> float:
    """|I1 + I2 + I3| with each current lagging its voltage by its power-factor angle."""
    total = complex(0.0, 0.0)
    for phase, current in enumerate(state.current_a):
        angle = -phase * PHASE_SHIFT - math.acos(min(max(state.power_factor[phase], -1.0), 1.0))
        total += cmath.rect(current, angle)
    return abs(total)


def total_apparent_power_va(state: MeterState, phases: int) -> float:
    return sum(apparent_power_va(state, p) for p in range(phases))


def total_reactive_power_var(state: MeterState, phases: int) -> float:
    return sum(reactive_power_var(state, p) for p in range(phases))


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
