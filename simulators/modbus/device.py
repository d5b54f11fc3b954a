"""What every simulated Modbus device is: four tables, the function codes it accepts, its quirks,
and its faults.

Subclasses fill ``coils``, ``discrete_inputs``, ``holding`` and ``inputs`` from the shared state
(:mod:`simulators.state`) in their constructor, list their function codes, and override
:meth:`ModbusDevice.check_request` for rules a real device enforces beyond the Modbus
specification (the Eastron even-alignment rule, a smaller request limit). A device knows nothing
about unit ids, framing or transports: the servers in :mod:`simulators.modbus.tcp_server` and
:mod:`simulators.modbus.rtu_server` put it on a bus.
"""

from __future__ import annotations

from typing import ClassVar

from pymodbus.constants import ExcCodes

from simulators.modbus.datamodel import BitTable, RegisterTable
from simulators.modbus.faults import LINK_FAULTS, Fault, FaultParams, FaultSet

READ_REGISTERS = frozenset({3, 4})
WRITE_REGISTERS = frozenset({6, 16})


class ModbusDevice:
    """Base of every simulated device; see the module docstring."""

    model: ClassVar[str] = "generic"
    """The device model, as named by its profile in ``firmware_configs/profiles/<model>.yaml``."""

    functions: ClassVar[frozenset[int]] = frozenset({3, 4})
    """Function codes the device implements; any other is answered with exception 01."""

    accepts_broadcast: ClassVar[bool] = False
    """Whether writes to unit 0 are executed (never answered) on an RTU bus."""

    supported_faults: ClassVar[frozenset[Fault]] = LINK_FAULTS

    def __init__(self) -> None:
        self.faults = FaultSet(self.model, self.supported_faults, self._apply_state_fault)
        self.coils = BitTable()
        self.discrete_inputs = BitTable()
        self.holding = RegisterTable()
        self.inputs = RegisterTable()
        self.requests_seen = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model}>"

    def register_table(self, function_code: int) -> RegisterTable:
        """The table a register function reads or writes (03/06/16 holding, 04 input)."""
        return self.inputs if function_code == 4 else self.holding

    def check_request(self, function_code: int, address: int, count: int) -> ExcCodes | None:
        """A device-specific refusal of a well-formed request, before the tables are touched."""
        return None

    def _apply_state_fault(self, fault: Fault, params: FaultParams | None) -> None:
        """Apply an event, or set (``params``) / release (``None``) a condition, on the state."""
        raise NotImplementedError(f"{self.model} declares {fault.value} but does not apply it")
