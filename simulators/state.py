"""The physical state of each simulated device: what the territory model drives and what the
protocol servers (Modbus, DALI) encode when asked, or change when written.

These are plain mutable dataclasses shared between the model and the servers, both running in one
event loop; no locking is needed. Units are in the field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MeterState:
    """An energy meter. Single-phase meters use index 0 of the per-phase lists."""

    serial_number: int = 1
    voltage_v: list[float] = field(default_factory=lambda: [230.0, 230.0, 230.0])
    current_a: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    power_w: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    power_factor: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    frequency_hz: float = 50.0
    import_energy_kwh: float = 0.0
    export_energy_kwh: float = 0.0

    @property
    def total_power_w(self) -> float:
        return sum(self.power_w)

    @property
    def total_power_factor(self) -> float:
        apparent = sum(v * i for v, i in zip(self.voltage_v, self.current_a, strict=True))
        return self.total_power_w / apparent if apparent > 0 else 1.0


@dataclass
class LaneState:
    vehicle_count: int = 0  # cumulative, wraps at 65536 on the wire
    occupancy_pct: float = 0.0  # over the last interval
    speed_kmh: float | None = None  # only with double loops
    interval_count: int = 0  # vehicles in the last complete interval


@dataclass
class LoopStationState:
    lanes: list[LaneState] = field(default_factory=lambda: [LaneState(), LaneState()])
    interval_s: int = 60


@dataclass
class GateControllerState:
    entries: int = 0  # cumulative since commissioning
    exits: int = 0
    queue_count: int = 0  # vehicles waiting on the access lane
    queue_occupancy_pct: float = 0.0
    barrier_open: bool = False
    capacity: int = 10


@dataclass
class CabinetState:
    """A lighting cabinet: contactor per circuit, door contact, and a dimming setpoint (0–100 %)."""

    contactors: list[bool] = field(default_factory=lambda: [False, False, False, False])
    door_open: bool = False
    dim_setpoint_pct: int = 100
    stuck_contactor: int | None = None  # a circuit whose contactor no longer follows its coil
