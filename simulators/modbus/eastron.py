"""Eastron SDM630 (three-phase) and SDM120 (single-phase) energy meters.

Source: "Eastron SDM630Modbus Smart Meter Modbus Protocol Implementation V1.8" and
``reference/domain.md``. What a master sees:

- Function codes 03, 04, 08 (sub-function 0 only) and 16; anything else is exception 01. No
  broadcast.
- Every value is an IEEE-754 float32 in two registers, most significant register first.
- Start address and register count must both be even (half a float is exception 02); at most 40
  values (80 registers) per read, more is exception 02; a write sets exactly one value (count 2).
  The manual adds that "any single input or holding register read" gets "an instrument type
  specific value" without saying which, so a count of 1 is answered 02 like any odd count.
- Input registers are answered within the documented address blocks; a parameter the wiring does
  not have, and reserved slots inside a block, read 0.0 (the manual: "any parameter with a cross
  will return the value zero"); an address outside every block is exception 02.
- Holding registers: demand period, system type, pulse settings, password lock, parity/stop code,
  node address (0x0014), baud code (0x001C), serial number as two floats at 0x002A (high 16 bits)
  and 0x002C (low 16 bits), and the V1.8 read-only UINT32 serial number at 0xFC00. Writes to the
  network settings are stored and read back but, as on the meter, only take effect after a restart,
  so the simulated bus address never moves.

Values the state does not hold (reactive energy, harmonic distortion, per-phase energy) read 0.0;
demands are the present values, and maximum demands the largest present value read so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable
from typing import ClassVar

from pymodbus.constants import ExcCodes

from simulators.modbus import electrical as el
from simulators.modbus.codec import decode_float32, float32, uint32
from simulators.modbus.datamodel import Registers, RegisterTable
from simulators.modbus.meter import MeterDevice, f32
from simulators.state import MeterState

MAX_REGISTERS_PER_READ = 80
BAUD_CODES = {2400: 0, 4800: 1, 9600: 2, 19200: 3, 38400: 4}
PARITY_CODES = {("N", 1): 0, ("E", 1): 1, ("O", 1): 2, ("N", 2): 3}

SDM630_INPUT_BLOCKS = [
    (0x0000, 0x0058),
    (0x0064, 0x006C),
    (0x00C8, 0x00D0),
    (0x00E0, 0x00E2),
    (0x00EA, 0x00FC),
    (0x0102, 0x010E),
    (0x014E, 0x017E),
]
SDM120_INPUT_BLOCKS = [(0x0000, 0x0060), (0x0102, 0x010A), (0x0156, 0x015A)]
HOLDING_BLOCKS = [(0x0000, 0x002E), (0x0056, 0x0058), (0xFC00, 0xFC02)]


class Sdm630(MeterDevice):
    """Eastron SDM630: see the module docstring for the rules it enforces."""

    model: ClassVar[str] = "eastron-sdm630"
    functions: ClassVar[frozenset[int]] = frozenset({3, 4, 8, 16})
    phases: ClassVar[int] = 3
    system_type: ClassVar[float] = 3.0  # 3p4w

    def __init__(
        self,
        state: MeterState,
        *,
        node_address: int = 1,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
    ) -> None:
        super().__init__(state)
        line = (parity.upper(), stopbits)
        if baudrate not in BAUD_CODES or line not in PARITY_CODES:
            raise ValueError(f"an Eastron meter cannot run at {baudrate} baud {parity}/{stopbits}")
        self.settings: dict[int, float] = {
            0x0002: 60.0,  # demand period, minutes
            0x000C: 100.0,  # pulse 1 width, ms
            0x0012: float(PARITY_CODES[line]),
            0x0014: float(node_address),
            0x0016: 0.0,  # pulse 1 divisor index
            0x0018: 0.0,  # password
            0x001C: float(BAUD_CODES[baudrate]),
            0x0056: 4.0,  # pulse 1 energy type
        }
        self.inputs = RegisterTable(self._input_runs(), blocks=self._input_blocks())
        self.holding = RegisterTable(self._holding_runs(), blocks=HOLDING_BLOCKS)

    def check_request(self, function_code: int, address: int, count: int) -> ExcCodes | None:
        if function_code not in (3, 4, 16):
            return None
        if address % 2 or count % 2:
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code == 16 and count != 2:
            return ExcCodes.ILLEGAL_ADDRESS
        if count > MAX_REGISTERS_PER_READ:
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    def _input_blocks(self) -> list[tuple[int, int]]:
        return SDM630_INPUT_BLOCKS

    def _input_runs(self) -> list[Registers]:
        return [*self._per_phase_runs(), *self._system_runs(), *self._energy_runs()]

    def _per_phase_runs(self) -> Iterable[Registers]:
        s = self.state
        for p in range(self.phases):
            yield from _phase_runs(s, p, self.peak)

    def _system_runs(self) -> list[Registers]:
        s, n = self.state, self.phases
        return [
            f32(0x002A, lambda: el.mean(s.voltage_v[:n])),
            f32(0x002E, lambda: el.mean(s.current_a[:n])),
            f32(0x0030, lambda: sum(s.current_a[:n])),
            f32(0x0034, lambda: s.total_power_w),
            f32(0x0038, lambda: el.total_apparent_power_va(s, n)),
            f32(0x003C, lambda: el.total_reactive_power_var(s, n)),
            f32(0x003E, lambda: s.total_power_factor),
            f32(0x0042, lambda: el.phase_angle_deg(s.total_power_factor)),
            f32(0x0046, lambda: s.frequency_hz),
            f32(0x0054, lambda: s.total_power_w),
            f32(0x0056, lambda: self.peak("power", s.total_power_w)),
            f32(0x0064, lambda: el.total_apparent_power_va(s, n)),
            f32(0x0066, lambda: self.peak("va", el.total_apparent_power_va(s, n))),
            f32(0x0068, lambda: el.neutral_current_a(s)),
            f32(0x006A, lambda: self.peak("neutral", el.neutral_current_a(s))),
            f32(0x00C8, lambda: el.line_to_line_v(s, 0, 1)),
            f32(0x00CA, lambda: el.line_to_line_v(s, 1, 2)),
            f32(0x00CC, lambda: el.line_to_line_v(s, 2, 0)),
            f32(0x00CE, lambda: el.mean_line_to_line_v(s)),
            f32(0x00E0, lambda: el.neutral_current_a(s)),
        ]

    def _energy_runs(self) -> list[Registers]:
        s = self.state
        return [
            f32(0x0048, lambda: s.import_energy_kwh),
            f32(0x004A, lambda: s.export_energy_kwh),
            f32(0x0156, lambda: s.import_energy_kwh + s.export_energy_kwh),
        ]

    def _holding_runs(self) -> list[Registers]:
        s = self.state
        return [
            self._setting(0x0002, {0, 5, 8, 10, 15, 20, 30, 60}),
            f32(0x000A, lambda: self.system_type),
            self._setting(0x000C, {60, 100, 200}),
            f32(0x000E, lambda: 0.0),  # password lock: locked
            self._setting(0x0012, set(PARITY_CODES.values())),
            self._setting(0x0014, range(1, 248)),
            self._setting(0x0016, range(6)),
            self._setting(0x0018, range(10000)),
            self._setting(0x001C, set(BAUD_CODES.values())),
            f32(0x002A, lambda: float(s.serial_number >> 16 & 0xFFFF)),
            f32(0x002C, lambda: float(s.serial_number & 0xFFFF)),
            self._setting(0x0056, {1, 2, 4, 5, 6, 8}),
            Registers(0xFC00, 2, lambda: uint32(s.serial_number)),
        ]

    def _setting(self, address: int, allowed: Container[int]) -> Registers:
        """A read/write float set-up register accepting only whole values in ``allowed``."""

        def valid(registers: list[int]) -> bool:
            value = decode_float32(registers)
            return math.isfinite(value) and value.is_integer() and int(value) in allowed

        def write(registers: list[int]) -> None:
            self.settings[address] = decode_float32(registers)

        return Registers(
            address, 2, lambda: float32(self.settings[address]), write=write, valid=valid
        )


class Sdm120(Sdm630):
    """Eastron SDM120: the single-phase subset of the SDM630 map, at the same addresses.

    Phase 2 and 3 slots inside the blocks read 0.0; the three-phase-only blocks (line-to-line
    voltages, neutral current, harmonic distortion) are not mapped (exception 02).
    """

    model: ClassVar[str] = "eastron-sdm120"
    phases: ClassVar[int] = 1
    system_type: ClassVar[float] = 1.0  # 1p2w

    def _input_blocks(self) -> list[tuple[int, int]]:
        return SDM120_INPUT_BLOCKS

    def _system_runs(self) -> list[Registers]:
        s = self.state
        return [
            f32(0x0046, lambda: s.frequency_hz),
            f32(0x0054, lambda: s.power_w[0]),
            f32(0x0056, lambda: self.peak("power", s.power_w[0])),
            f32(0x0058, lambda: max(s.power_w[0], 0.0)),
            f32(0x005A, lambda: self.peak("import", max(s.power_w[0], 0.0))),
            f32(0x005C, lambda: max(-s.power_w[0], 0.0)),
            f32(0x005E, lambda: self.peak("export", max(-s.power_w[0], 0.0))),
        ]


def _phase_runs(s: MeterState, p: int, peak: Callable[[str, float], float]) -> list[Registers]:
    """The per-phase input registers of phase ``p`` (0-based)."""
    return [
        f32(0x0000 + 2 * p, lambda: s.voltage_v[p]),
        f32(0x0006 + 2 * p, lambda: s.current_a[p]),
        f32(0x000C + 2 * p, lambda: s.power_w[p]),
        f32(0x0012 + 2 * p, lambda: el.apparent_power_va(s, p)),
        f32(0x0018 + 2 * p, lambda: el.reactive_power_var(s, p)),
        f32(0x001E + 2 * p, lambda: s.power_factor[p]),
        f32(0x0024 + 2 * p, lambda: el.phase_angle_deg(s.power_factor[p])),
        f32(0x0102 + 2 * p, lambda: s.current_a[p]),
        f32(0x0108 + 2 * p, lambda: peak(f"current{p}", s.current_a[p])),
    ]
