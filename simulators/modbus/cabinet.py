"""Eclor lighting-cabinet controller: contactor coils, their feedback, the door, the dimming
setpoint.

Our own device; the map is documented in ``firmware_configs/profiles/README.md`` and described by
``eclor-cabinet-controller.yaml``. Addresses are zero-based; circuit ``c`` (1-based on the
cabinet's labels) is at offset ``c − 1``.

Coils (functions 01, 05, 15)::

    0x0000 + c−1  contactor command of circuit c     1 = close (lights on)

Discrete inputs (function 02)::

    0x0000 + c−1  contactor feedback (auxiliary contact) of circuit c, 1 = closed
    0x0010        cabinet door                        1 = open

Holding registers (functions 03, 06, 16)::

    0x0000        dimming setpoint, %                 0-100 (other values: exception 03)

Input registers (function 04)::

    0x0000  device type code 0xEC30       0x0004  command bitmap (bit c−1 = circuit c)
    0x0001  register map version 1        0x0005  feedback bitmap
    0x0002  circuit count                 0x0006  discrepancy bitmap (command ≠ feedback)
    0x0003  status: bit 0 door open, bit 1 a contactor disagrees with its command

A coil write closes or opens the contactor in the shared state, unless that circuit is stuck
(``CabinetState.stuck_contactor``, set by the territory or by ``Fault.STUCK_CONTACTOR``): then the
coil reads back what was written but the feedback input stays, which is how the edge detects it.
"""

from __future__ import annotations

from typing import ClassVar

from simulators.modbus.codec import uint16
from simulators.modbus.datamodel import Bit, BitTable, Registers, RegisterTable
from simulators.modbus.device import ModbusDevice
from simulators.modbus.faults import LINK_FAULTS, Fault, FaultParams
from simulators.state import CabinetState

TYPE_CODE = 0xEC30
MAP_VERSION = 1
MAX_CIRCUITS = 16
DOOR_INPUT = 0x0010


class CabinetController(ModbusDevice):
    """An Eclor cabinet controller over a :class:`CabinetState`."""

    model: ClassVar[str] = "eclor-cabinet-controller"
    functions: ClassVar[frozenset[int]] = frozenset({1, 2, 3, 4, 5, 6, 8, 15, 16})
    accepts_broadcast: ClassVar[bool] = True
    supported_faults: ClassVar[frozenset[Fault]] = LINK_FAULTS | {Fault.STUCK_CONTACTOR}

    def __init__(self, state: CabinetState) -> None:
        if not 1 <= len(state.contactors) <= MAX_CIRCUITS:
            count = len(state.contactors)
            raise ValueError(f"a cabinet has 1-{MAX_CIRCUITS} circuits, not {count}")
        super().__init__()
        self.state = state
        self.commanded = list(state.contactors)
        circuits = range(len(state.contactors))
        self.coils = BitTable(self._coil(c) for c in circuits)
        self.discrete_inputs = BitTable(
            [*(_feedback(state, c) for c in circuits), Bit(DOOR_INPUT, lambda: state.door_open)]
        )
        self.holding = RegisterTable([self._setpoint()])
        self.inputs = RegisterTable(self._status_runs())

    def _coil(self, circuit: int) -> Bit:
        def write(value: bool) -> None:
            self.commanded[circuit] = value
            if self.state.stuck_contactor != circuit:
                self.state.contactors[circuit] = value

        return Bit(circuit, lambda: self.commanded[circuit], write)

    def _setpoint(self) -> Registers:
        def write(registers: list[int]) -> None:
            self.state.dim_setpoint_pct = registers[0]

        return Registers(
            0x0000,
            1,
            lambda: uint16(self.state.dim_setpoint_pct),
            write=write,
            valid=lambda registers: 0 <= registers[0] <= 100,
        )

    def _status_runs(self) -> list[Registers]:
        s = self.state
        return [
            Registers(0x0000, 1, lambda: uint16(TYPE_CODE)),
            Registers(0x0001, 1, lambda: uint16(MAP_VERSION)),
            Registers(0x0002, 1, lambda: uint16(len(s.contactors))),
            Registers(0x0003, 1, lambda: [int(s.door_open) | (bool(self.discrepancies()) << 1)]),
            Registers(0x0004, 1, lambda: [_bitmap(self.commanded)]),
            Registers(0x0005, 1, lambda: [_bitmap(s.contactors)]),
            Registers(0x0006, 1, lambda: [self.discrepancies()]),
        ]

    def discrepancies(self) -> int:
        """Bitmap of circuits whose contactor is not where its coil was last commanded."""
        return _bitmap(self.commanded) ^ _bitmap(self.state.contactors)

    def _apply_state_fault(self, fault: Fault, params: FaultParams | None) -> None:
        if fault is not Fault.STUCK_CONTACTOR:
            return
        if params is None:
            stuck, self.state.stuck_contactor = self.state.stuck_contactor, None
            if stuck is not None:
                self.state.contactors[stuck] = self.commanded[stuck]
            return
        last = len(self.state.contactors) - 1
        if not 0 <= params.circuit <= last:
            raise ValueError(f"circuit index {params.circuit} is not 0-{last}")
        self.state.stuck_contactor = params.circuit


def _feedback(state: CabinetState, circuit: int) -> Bit:
    return Bit(circuit, lambda: state.contactors[circuit])


def _bitmap(bits: list[bool]) -> int:
    return sum(1 << i for i, bit in enumerate(bits) if bit)
