"""The parts of a territory, by reference, so faults and runners can find them.

References are ``gateway/device`` for a device (``vil-c001/meter``), ``gateway`` alone for a
cabinet or a waste centre, and ``gateway/line/address`` for a DALI control gear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from simulators.dali.line import DaliLine
from simulators.state import (
    CabinetState,
    GateControllerState,
    LoopStationState,
    MeterState,
)
from simulators.territory.cabinet import CabinetModel
from simulators.territory.traffic import LoopStationModel
from simulators.territory.waste import WasteCentreModel

if TYPE_CHECKING:
    from simulators.territory.faults import FaultAction

DeviceState = MeterState | CabinetState | LoopStationState | GateControllerState


class GearFaults(Protocol):
    """What the territory needs from a simulated DALI control gear to inject faults."""

    def set_lamp_failure(self, failed: bool) -> None: ...

    def set_gear_failure(self, failed: bool) -> None: ...


@dataclass
class Parts:
    cabinets: dict[str, CabinetModel] = field(default_factory=dict)  # by gateway id
    waste_centres: dict[str, WasteCentreModel] = field(default_factory=dict)  # by gateway id
    loop_stations: dict[str, LoopStationModel] = field(default_factory=dict)  # by device ref
    meters: dict[str, MeterState] = field(default_factory=dict)  # by device ref
    meter_cabinet: dict[str, str] = field(default_factory=dict)  # meter ref → gateway id
    device_states: dict[str, DeviceState] = field(default_factory=dict)  # by device ref
    gear: dict[str, GearFaults] = field(default_factory=dict)  # by gear ref
    dali_lines: dict[str, DaliLine] = field(default_factory=dict)  # by gateway/line
    event_sinks: dict[str, Callable[[FaultAction], None]] = field(default_factory=dict)
    """Device ref → who applies a meter event instead of the model (the Modbus device, which
    also forgets its peaks on a replacement); set by the runner."""

    def cabinet_for(self, ref: str) -> CabinetModel:
        """The cabinet named by a gateway id or by one of its devices' references."""
        gateway = ref.split("/", 1)[0]
        cabinet = self.cabinets.get(gateway)
        if cabinet is None:
            raise KeyError(f"{ref!r} is not a cabinet nor a device of one")
        return cabinet

    def meter(self, ref: str) -> MeterState:
        meter = self.meters.get(ref)
        if meter is None:
            raise KeyError(f"{ref!r} is not a meter")
        return meter

    def gear_at(self, ref: str) -> GearFaults:
        gear = self.gear.get(ref)
        if gear is None:
            raise KeyError(f"{ref!r} is not a DALI control gear (gateway/line/address)")
        return gear
