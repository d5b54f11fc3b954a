"""From a validated scenario to a :class:`~simulators.territory.model.Territory` and its states.

Everything random (meter serials and the counters they already show, supply noise, traffic,
arrivals at waste centres) comes from streams named after the part and seeded by the scenario, so a
scenario and a seed always give the same territory.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from eclor.clock import Clock
from simulators.dali.line import DaliLine
from simulators.scenario import (
    SINGLE_PHASE_MODELS,
    WEEKDAYS,
    CabinetControllerSpec,
    DimStepSpec,
    GateControllerSpec,
    GatewaySpec,
    LoopStationSpec,
    MeterSpec,
    Scenario,
    WasteCentreSpec,
    parse_period,
)
from simulators.state import GateControllerState, LoopStationState, MeterState
from simulators.territory.cabinet import CabinetConfig, CabinetModel
from simulators.territory.dali_feed import DaliFeed
from simulators.territory.electrical import Supply
from simulators.territory.faults import FaultAction
from simulators.territory.model import Territory
from simulators.territory.parts import Parts
from simulators.territory.program import DimStep, LocalProgram
from simulators.territory.randomness import stream
from simulators.territory.sun import SunSchedule
from simulators.territory.traffic import LaneConfig, LoopStationModel
from simulators.territory.waste import WasteCentreConfig, WasteCentreModel, daily_hours
from simulators.territory.watched import WatchedCabinetState

LIT_HOURS_PER_YEAR = 4100.0
MAX_FLOAT32_EXACT = 16_777_216  # serials travel as float32 on Eastron meters


def build_territory(scenario: Scenario, clock: Clock, start: datetime | None = None) -> Territory:
    """The territory of ``scenario`` at ``start`` (default: the clock's now), faults scheduled.

    DALI gear get ``clock`` (they integrate lazily up to ``clock.monotonic()``), so the territory
    must then be advanced to the same clock's ``now()``.
    """
    builder = _Builder(scenario, clock)
    for gateway in scenario.gateways:
        builder.add_gateway(gateway)
    territory = Territory(builder.parts, start or clock.now())
    for fault in scenario.faults:
        action = FaultAction(
            kind=fault.kind,
            device=fault.device,
            circuit=fault.circuit,
            count=fault.count,
            closed=fault.closed,
            serial=fault.serial,
            initial_kwh=fault.initial_kwh,
            duration_s=fault.duration_s,
        )
        if fault.at is not None:
            territory.schedule(fault.at, action)
        else:
            territory.schedule_after(fault.after_s or 0.0, action)
    return territory


class _Builder:
    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self.scenario = scenario
        self.clock = clock
        self.zone = scenario.zone
        self.parts = Parts()

    def add_gateway(self, gateway: GatewaySpec) -> None:
        for line in gateway.dali_lines:
            self._add_dali_line(gateway, line.id, line.gear, line.rated_w)
        if gateway.cabinet is not None:
            self._add_cabinet(gateway)
        if gateway.waste_centre is not None:
            self._add_waste_centre(gateway, gateway.waste_centre)
        for device in gateway.devices:
            if isinstance(device, LoopStationSpec):
                self._add_loop_station(gateway, device)

    def _add_dali_line(self, gateway: GatewaySpec, line: str, count: int, rated_w: float) -> None:
        ref = f"{gateway.id}/{line}"
        dali = DaliLine(count, clock=self.clock, rated_power_w=rated_w)
        self.parts.dali_lines[ref] = dali
        for address, gear in enumerate(dali.gear):
            self.parts.gear[f"{ref}/{address}"] = gear

    def _add_cabinet(self, gateway: GatewaySpec) -> None:
        spec = gateway.cabinet
        assert spec is not None
        lighting = self.scenario.lighting
        meter_spec = gateway.meter()
        config = cabinet_config(
            spec.installed_w,
            spec.circuits,
            spec.luminaire_w or lighting.luminaire_w,
            lighting.standby_w,
            phases=1 if meter_spec and meter_spec.model in SINGLE_PHASE_MODELS else 3,
        )
        sun = SunSchedule(
            gateway.latitude,
            gateway.longitude,
            self.zone,
            timedelta(minutes=_pick(spec.on_offset_min, lighting.on_offset_min)),
            timedelta(minutes=_pick(spec.off_offset_min, lighting.off_offset_min)),
        )
        steps = spec.dim_steps if spec.dim_steps is not None else lighting.dim_steps
        program = LocalProgram(sun, self.zone, _dim_steps(steps))
        state = WatchedCabinetState(contactors=[False] * spec.circuits)
        meter = self._meter(gateway, meter_spec, config) if meter_spec else None
        feeds = [
            DaliFeed(line.circuit, self.parts.dali_lines[f"{gateway.id}/{line.id}"].gear)
            for line in gateway.dali_lines
        ]
        supply = Supply(stream(self.scenario.seed, gateway.id, "supply"), self.zone)
        cabinet = CabinetModel(gateway.id, config, program, state, supply, meter, feeds)
        self.parts.cabinets[gateway.id] = cabinet
        for device in gateway.devices:
            if isinstance(device, CabinetControllerSpec):
                self.parts.device_states[f"{gateway.id}/{device.id}"] = state

    def _meter(self, gateway: GatewaySpec, spec: MeterSpec, config: CabinetConfig) -> MeterState:
        ref = f"{gateway.id}/{spec.id}"
        rng = stream(self.scenario.seed, ref, "commissioning")
        years = rng.uniform(0.2, 6.0)
        meter = MeterState(
            serial_number=spec.serial or _serial(ref),
            import_energy_kwh=round(config.installed_w * LIT_HOURS_PER_YEAR * years / 1000.0, 1),
        )
        self.parts.meters[ref] = meter
        self.parts.meter_cabinet[ref] = gateway.id
        self.parts.device_states[ref] = meter
        return meter

    def _add_waste_centre(self, gateway: GatewaySpec, spec: WasteCentreSpec) -> None:
        state = GateControllerState()
        rng = stream(self.scenario.seed, gateway.id, "arrivals")
        centre = WasteCentreModel(gateway.id, waste_config(spec), state, self.zone, rng)
        self.parts.waste_centres[gateway.id] = centre
        for device in gateway.devices:
            if isinstance(device, GateControllerSpec):
                self.parts.device_states[f"{gateway.id}/{device.id}"] = state

    def _add_loop_station(self, gateway: GatewaySpec, spec: LoopStationSpec) -> None:
        ref = f"{gateway.id}/{spec.id}"
        state = LoopStationState(interval_s=spec.interval_s)
        lanes = [
            LaneConfig(lane.peak_vph, lane.profile, lane.free_speed_kmh, lane.truck_share)
            for lane in spec.lanes
        ]
        rng = stream(self.scenario.seed, ref, "traffic")
        station = LoopStationModel(ref, lanes, state, self.zone, rng, spec.double_loop)
        self.parts.loop_stations[ref] = station
        self.parts.device_states[ref] = state


def cabinet_config(
    installed_w: float, circuits: int, luminaire_w: float, standby_w: float, phases: int
) -> CabinetConfig:
    """Luminaires of about ``luminaire_w`` adding up to exactly ``installed_w``, over circuits."""
    count = max(circuits, round(installed_w / luminaire_w))
    per_circuit = tuple(
        count // circuits + (1 if i < count % circuits else 0) for i in range(circuits)
    )
    return CabinetConfig(per_circuit, installed_w / count, standby_w, phases)


def waste_config(spec: WasteCentreSpec) -> WasteCentreConfig:
    opening = {
        WEEKDAYS.index(day): daily_hours([parse_period(p) for p in periods])
        for day, periods in spec.opening_hours.items()
    }
    return WasteCentreConfig(
        bays=spec.bays,
        opening=opening,
        closed_dates=frozenset(spec.closed_dates),
        arrivals_per_hour=spec.arrivals_per_hour,
        day_factors={WEEKDAYS.index(day): f for day, f in spec.day_factors.items()},
        service_min=spec.service_min,
        service_cv=spec.service_cv,
        max_queue=spec.max_queue,
        queue_lane_m=spec.queue_lane_m,
    )


def _dim_steps(specs: list[DimStepSpec]) -> tuple[DimStep, ...]:
    return tuple(DimStep(s.start, s.end, s.level_pct) for s in specs)


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _serial(ref: str) -> int:
    return 1_000_000 + zlib.crc32(ref.encode("utf-8")) % (MAX_FLOAT32_EXACT - 1_000_000)
