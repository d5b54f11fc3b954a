"""Eclor waste-centre gate controller: entries, exits, the access-lane queue and the barrier.

Our own device; the map is documented in ``firmware_configs/profiles/README.md`` and described by
``eclor-gate-controller.yaml``. Addresses are zero-based; 32-bit values are most significant word
first.

Input registers (function 04)::

    0x0000     device type code               0xEC20
    0x0001     register map version           1
    0x0002-03  entries, cumulative            UINT32, wraps at 2^32
    0x0004-05  exits, cumulative              UINT32, wraps at 2^32
    0x0006     vehicles queued on access lane UINT16
    0x0007     access-lane detector occupancy UINT16 ×0.1 %

Discrete inputs (function 02)::

    0x0000     barrier open                   1 = open

Holding registers (functions 03, 06, 16)::

    0x0000     site capacity, vehicles        1-1000 (other values: exception 03)
"""

from __future__ import annotations

from typing import ClassVar

from simulators.modbus.codec import scaled, uint16, uint32, wrap
from simulators.modbus.datamodel import Bit, BitTable, Registers, RegisterTable
from simulators.modbus.device import ModbusDevice
from simulators.modbus.faults import LINK_FAULTS, Fault, FaultParams
from simulators.state import GateControllerState

TYPE_CODE = 0xEC20
MAP_VERSION = 1
CAPACITY_RANGE = range(1, 1001)


class GateController(ModbusDevice):
    """An Eclor gate controller over a :class:`GateControllerState` (``COUNTER_RESET`` zeroes
    entries and exits, as a controller replaced or re-initialised would)."""

    model: ClassVar[str] = "eclor-gate-controller"
    functions: ClassVar[frozenset[int]] = frozenset({2, 3, 4, 6, 8, 16})
    accepts_broadcast: ClassVar[bool] = True
    supported_faults: ClassVar[frozenset[Fault]] = LINK_FAULTS | {Fault.COUNTER_RESET}

    def __init__(self, state: GateControllerState) -> None:
        super().__init__()
        self.state = state
        s = state
        self.inputs = RegisterTable(
            [
                Registers(0x0000, 1, lambda: uint16(TYPE_CODE)),
                Registers(0x0001, 1, lambda: uint16(MAP_VERSION)),
                Registers(0x0002, 2, lambda: uint32(wrap(s.entries, 32))),
                Registers(0x0004, 2, lambda: uint32(wrap(s.exits, 32))),
                Registers(0x0006, 1, lambda: uint16(s.queue_count)),
                Registers(0x0007, 1, lambda: uint16(scaled(s.queue_occupancy_pct, 0.1))),
            ]
        )
        self.discrete_inputs = BitTable([Bit(0x0000, lambda: s.barrier_open)])
        self.holding = RegisterTable([self._capacity_setting()])

    def _capacity_setting(self) -> Registers:
        def write(registers: list[int]) -> None:
            self.state.capacity = registers[0]

        return Registers(
            0x0000,
            1,
            lambda: uint16(self.state.capacity),
            write=write,
            valid=lambda registers: registers[0] in CAPACITY_RANGE,
        )

    def _apply_state_fault(self, fault: Fault, params: FaultParams | None) -> None:
        if fault is Fault.COUNTER_RESET:
            self.state.entries = 0
            self.state.exits = 0
