"""Carlo Gavazzi EM24-DIN three-phase energy meter.

Source: "EM24-DIN Communication Protocol" and ``reference/domain.md``. What a master sees:

- Functions 03 and 04 read the same registers; everything else here is exception 01 (the meter's
  set-up writes with function 06 are not simulated).
- At most 11 registers per request ("when not differently specified" in the manual); more is
  exception 03, a quantity the meter does not accept.
- INT32 values with the **least significant word first**, fixed scales: voltages ×0.1 V, currents
  ×0.001 A, powers ×0.1 W/VA/var, energies ×0.1 kWh/kvarh. Power factors INT16 ×0.001, frequency
  UINT16 ×0.1 Hz, phase sequence INT16 (0 = L1-L2-L3).
- Addresses 0x0000-0x0051 answer (reserved slots read 0); anything else is exception 02.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from pymodbus.constants import ExcCodes

from simulators.modbus import electrical as el
from simulators.modbus.codec import int16, int32, scaled, uint16
from simulators.modbus.datamodel import Registers, RegisterTable
from simulators.modbus.meter import MeterDevice
from simulators.state import MeterState

MAX_REGISTERS_PER_REQUEST = 11
BLOCKS = [(0x0000, 0x0052)]
V, A, W, PF, HZ, KWH = 0.1, 0.001, 0.1, 0.001, 0.1, 0.1


def i32(address: int, value: Callable[[], float], scale: float) -> Registers:
    """A read-only scaled INT32, least significant word first."""
    return Registers(address, 2, lambda: int32(scaled(value(), scale), word_order="little"))


class Em24(MeterDevice):
    """Carlo Gavazzi EM24: see the module docstring."""

    model: ClassVar[str] = "carlo-gavazzi-em24"
    functions: ClassVar[frozenset[int]] = frozenset({3, 4})

    def __init__(self, state: MeterState) -> None:
        super().__init__(state)
        self.inputs = RegisterTable(
            [*self._phase_runs(), *self._system_runs(), *self._energy_runs()], blocks=BLOCKS
        )

    def register_table(self, function_code: int) -> RegisterTable:
        return self.inputs

    def check_request(self, function_code: int, address: int, count: int) -> ExcCodes | None:
        if count > MAX_REGISTERS_PER_REQUEST:
            return ExcCodes.ILLEGAL_VALUE
        return None

    def _phase_runs(self) -> list[Registers]:
        return [run for p in range(3) for run in _phase_runs(self.state, p)]

    def _system_runs(self) -> list[Registers]:
        s = self.state
        return [
            i32(0x0024, lambda: el.mean(s.voltage_v), V),
            i32(0x0026, lambda: el.mean_line_to_line_v(s), V),
            i32(0x0028, lambda: s.total_power_w, W),
            i32(0x002A, lambda: el.total_apparent_power_va(s, 3), W),
            i32(0x002C, lambda: el.total_reactive_power_var(s, 3), W),
            Registers(0x0031, 1, lambda: int16(scaled(s.total_power_factor, PF))),
            Registers(0x0032, 1, lambda: int16(0)),
            Registers(0x0033, 1, lambda: uint16(scaled(s.frequency_hz, HZ))),
            i32(0x0038, lambda: s.total_power_w, W),
            i32(0x003A, lambda: self.peak("power", s.total_power_w), W),
        ]

    def _energy_runs(self) -> list[Registers]:
        s = self.state
        return [
            i32(0x0034, lambda: s.import_energy_kwh, KWH),
            i32(0x0036, lambda: 0.0, KWH),
            i32(0x004E, lambda: s.export_energy_kwh, KWH),
            i32(0x0050, lambda: 0.0, KWH),
        ]


def _phase_runs(s: MeterState, p: int) -> list[Registers]:
    """The registers of phase ``p`` (0-based)."""
    return [
        i32(0x0000 + 2 * p, lambda: s.voltage_v[p], V),
        i32(0x0006 + 2 * p, lambda: el.line_to_line_v(s, p, (p + 1) % 3), V),
        i32(0x000C + 2 * p, lambda: s.current_a[p], A),
        i32(0x0012 + 2 * p, lambda: s.power_w[p], W),
        i32(0x0018 + 2 * p, lambda: el.apparent_power_va(s, p), W),
        i32(0x001E + 2 * p, lambda: el.reactive_power_var(s, p), W),
        Registers(0x002E + p, 1, lambda: int16(scaled(s.power_factor[p], PF))),
    ]
