"""Eclor traffic-loop station: per-lane counts, occupancy and speed over Modbus.

Our own device, so the register map is ours; it is documented for installers in
``firmware_configs/profiles/README.md`` and described by ``eclor-loop-station.yaml``. All values
are UINT16; addresses are zero-based.

Input registers (function 04)::

    0x0000  device type code            0xEC10
    0x0001  register map version        1
    0x0002  lane count                  1-4
    0x0003  interval length             s
    0x0010 + 4·n  lane n: vehicle count, cumulative, wraps at 65536
    0x0011 + 4·n  lane n: occupancy over the last interval, ×0.1 %
    0x0012 + 4·n  lane n: mean speed over the last interval, ×0.1 km/h, 0xFFFF without double loop
    0x0013 + 4·n  lane n: vehicles in the last complete interval

Holding registers (functions 03, 06, 16)::

    0x0000  interval length, s, 10-3600 (other values: exception 03)

The four lane slots are always mapped, like the four channels of a detector card: a lane the
station does not have reads as an unconnected channel (counts 0, occupancy 0, speed 0xFFFF), so
one profile serves every station and a master reads all lanes in one 16-register request.
"""

from __future__ import annotations

from typing import ClassVar

from simulators.modbus.codec import scaled, uint16, wrap
from simulators.modbus.datamodel import Registers, RegisterTable
from simulators.modbus.device import ModbusDevice
from simulators.modbus.faults import LINK_FAULTS, Fault, FaultParams
from simulators.state import LoopStationState

TYPE_CODE = 0xEC10
MAP_VERSION = 1
LANE_BASE = 0x0010
LANE_STRIDE = 4
MAX_LANES = 4
NO_SPEED = 0xFFFF
INTERVAL_RANGE = range(10, 3601)


class LoopStation(ModbusDevice):
    """An Eclor loop station over a :class:`LoopStationState` (``COUNTER_RESET`` zeroes the
    cumulative vehicle counts, as a power loss on the counter card would)."""

    model: ClassVar[str] = "eclor-loop-station"
    functions: ClassVar[frozenset[int]] = frozenset({3, 4, 6, 8, 16})
    accepts_broadcast: ClassVar[bool] = True
    supported_faults: ClassVar[frozenset[Fault]] = LINK_FAULTS | {Fault.COUNTER_RESET}

    def __init__(self, state: LoopStationState) -> None:
        if not 1 <= len(state.lanes) <= MAX_LANES:
            raise ValueError(f"a loop station has 1-{MAX_LANES} lanes, not {len(state.lanes)}")
        super().__init__()
        self.state = state
        self.inputs = RegisterTable([*self._header_runs(), *self._lane_runs()])
        self.holding = RegisterTable([self._interval_setting()])

    def _header_runs(self) -> list[Registers]:
        s = self.state
        return [
            Registers(0x0000, 1, lambda: uint16(TYPE_CODE)),
            Registers(0x0001, 1, lambda: uint16(MAP_VERSION)),
            Registers(0x0002, 1, lambda: uint16(len(s.lanes))),
            Registers(0x0003, 1, lambda: uint16(s.interval_s)),
        ]

    def _lane_runs(self) -> list[Registers]:
        return [_lane_run(self.state, n) for n in range(MAX_LANES)]

    def _interval_setting(self) -> Registers:
        def write(registers: list[int]) -> None:
            self.state.interval_s = registers[0]

        return Registers(
            0x0000,
            1,
            lambda: uint16(self.state.interval_s),
            write=write,
            valid=lambda registers: registers[0] in INTERVAL_RANGE,
        )

    def _apply_state_fault(self, fault: Fault, params: FaultParams | None) -> None:
        if fault is Fault.COUNTER_RESET:
            for lane in self.state.lanes:
                lane.vehicle_count = 0


def _lane_run(state: LoopStationState, n: int) -> Registers:
    address = LANE_BASE + LANE_STRIDE * n
    return Registers(address, LANE_STRIDE, lambda: _encode_lane(state, n))


def _encode_lane(state: LoopStationState, n: int) -> list[int]:
    if n >= len(state.lanes):
        return [0, 0, NO_SPEED, 0]
    lane = state.lanes[n]
    speed = NO_SPEED
    if lane.speed_kmh is not None:
        speed = min(max(scaled(lane.speed_kmh, 0.1), 0), NO_SPEED - 1)
    return [
        wrap(lane.vehicle_count, 16),
        uint16(scaled(lane.occupancy_pct, 0.1))[0],
        speed,
        uint16(lane.interval_count)[0],
    ]
