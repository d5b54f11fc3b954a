"""What the energy meters share: a :class:`MeterState`, the counter faults, and peak tracking."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from simulators.modbus.codec import float32
from simulators.modbus.datamodel import Registers
from simulators.modbus.device import ModbusDevice
from simulators.modbus.faults import LINK_FAULTS, Fault, FaultParams
from simulators.state import MeterState


class Peak:
    """The largest value seen since the last reset (a meter's "maximum demand")."""

    def __init__(self) -> None:
        self._peak: float | None = None

    def update(self, value: float) -> float:
        self._peak = value if self._peak is None else max(self._peak, value)
        return self._peak

    def reset(self) -> None:
        self._peak = None


class MeterDevice(ModbusDevice):
    """An energy meter over a :class:`MeterState`.

    ``COUNTER_RESET`` zeroes the energy registers; ``METER_REPLACED`` also gives the meter a new
    serial number (``serial_number=`` or the old one plus one) and forgets its peaks, as a new
    meter would.
    """

    supported_faults: ClassVar[frozenset[Fault]] = LINK_FAULTS | {
        Fault.COUNTER_RESET,
        Fault.METER_REPLACED,
    }

    def __init__(self, state: MeterState) -> None:
        super().__init__()
        self.state = state
        self.peaks: dict[str, Peak] = {}

    def peak(self, name: str, value: float) -> float:
        return self.peaks.setdefault(name, Peak()).update(value)

    def _apply_state_fault(self, fault: Fault, params: FaultParams | None) -> None:
        if fault is Fault.METER_REPLACED:
            new_serial = params.serial_number if params and params.serial_number else None
            self.state.serial_number = new_serial or self.state.serial_number + 1
            for peak in self.peaks.values():
                peak.reset()
        if fault in (Fault.COUNTER_RESET, Fault.METER_REPLACED):
            self.state.import_energy_kwh = 0.0
            self.state.export_energy_kwh = 0.0


def f32(address: int, value: Callable[[], float]) -> Registers:
    """A read-only float32, most significant register first."""
    return Registers(address, 2, lambda: float32(value()))
