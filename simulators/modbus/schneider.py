"""Schneider Electric iEM3155 three-phase energy meter.

Source: the iEM3100/iEM3200 series user manual register list and ``reference/domain.md``. The
manual numbers registers from 1, so a value the manual lists at register N is at protocol address
N − 1 (what goes in the request); addresses in this module are protocol addresses.

- Function 03 (read holding registers) for every value; 04 and the rest are exception 01. The
  meter's command interface (writes) is not simulated. No broadcast.
- Float32 values most significant register first: currents (A), voltages (V), powers in **kW**,
  kVAR and kVA, power factor, frequency (Hz).
- Energies as INT64 in **Wh**, four registers, most significant first.
- Identification: meter name, model and manufacturer as 20-register UTF-8 strings, serial number
  as UINT32.
- Reads are answered inside the documented blocks; reserved float slots in a block read as NaN
  (0xFFC00000), as Schneider meters answer for values they do not have; any address outside the
  blocks is exception 02. Up to 125 registers per request, no alignment rule.
"""

from __future__ import annotations

from typing import ClassVar

from simulators.modbus import electrical as el
from simulators.modbus.codec import NAN_FLOAT32, int64, string, uint32
from simulators.modbus.datamodel import Block, Registers, RegisterTable
from simulators.modbus.meter import MeterDevice, f32
from simulators.state import MeterState

BLOCKS = [
    Block(29, 89),  # meter name, model, manufacturer
    Block(129, 131),  # serial number
    Block(2999, 3011, NAN_FLOAT32),  # currents, average current
    Block(3019, 3037, NAN_FLOAT32),  # voltages L-L, L-N, averages
    Block(3053, 3061, NAN_FLOAT32),  # active power per phase and total
    Block(3067, 3069),  # total reactive power
    Block(3075, 3077),  # total apparent power
    Block(3083, 3085),  # total power factor
    Block(3109, 3111),  # frequency
    Block(3203, 3211),  # total active energy import, export
    Block(3219, 3227),  # total reactive energy import, export
]


class Iem3155(MeterDevice):
    """Schneider iEM3155: see the module docstring."""

    model: ClassVar[str] = "schneider-iem3155"
    functions: ClassVar[frozenset[int]] = frozenset({3})

    def __init__(self, state: MeterState, *, meter_name: str = "Energy Meter") -> None:
        super().__init__(state)
        self.meter_name = meter_name
        self.holding = RegisterTable(
            [*self._identity_runs(), *self._measurement_runs()], blocks=BLOCKS
        )

    def _identity_runs(self) -> list[Registers]:
        return [
            Registers(29, 20, lambda: string(self.meter_name, 20)),
            Registers(49, 20, lambda: string("iEM3155", 20)),
            Registers(69, 20, lambda: string("Schneider Electric", 20)),
            Registers(129, 2, lambda: uint32(self.state.serial_number)),
        ]

    def _measurement_runs(self) -> list[Registers]:
        s = self.state
        return [
            f32(2999, lambda: s.current_a[0]),
            f32(3001, lambda: s.current_a[1]),
            f32(3003, lambda: s.current_a[2]),
            f32(3009, lambda: el.mean(s.current_a)),
            f32(3019, lambda: el.line_to_line_v(s, 0, 1)),
            f32(3021, lambda: el.line_to_line_v(s, 1, 2)),
            f32(3023, lambda: el.line_to_line_v(s, 2, 0)),
            f32(3025, lambda: el.mean_line_to_line_v(s)),
            f32(3027, lambda: s.voltage_v[0]),
            f32(3029, lambda: s.voltage_v[1]),
            f32(3031, lambda: s.voltage_v[2]),
            f32(3035, lambda: el.mean(s.voltage_v)),
            f32(3053, lambda: s.power_w[0] / 1000),
            f32(3055, lambda: s.power_w[1] / 1000),
            f32(3057, lambda: s.power_w[2] / 1000),
            f32(3059, lambda: s.total_power_w / 1000),
            f32(3067, lambda: el.total_reactive_power_var(s, 3) / 1000),
            f32(3075, lambda: el.total_apparent_power_va(s, 3) / 1000),
            f32(3083, lambda: s.total_power_factor),
            f32(3109, lambda: s.frequency_hz),
            Registers(3203, 4, lambda: int64(round(s.import_energy_kwh * 1000))),
            Registers(3207, 4, lambda: int64(round(s.export_energy_kwh * 1000))),
            Registers(3219, 4, lambda: int64(0)),
            Registers(3223, 4, lambda: int64(0)),
        ]
