"""Register a demo gateway's waste centre and loop-station lanes for the residents' models.

Called from :func:`demo.wiring.register` for every gateway. The opening hours, bays and lanes
come from the scenario (``demo`` unless another is given), found by gateway id; a gateway that is
not in it, or has neither a gate controller nor loops, registers nothing. Idempotent.

Lane geometry: the scenario has no road geometry, so each lane is a GeoJSON Point at the
gateway's position, and its segment is named after the site and the lane's direction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cloud.registry.models_waste import TrafficLane, WasteCentre
from cloud.registry.traffic_stations import add_traffic_lane
from cloud.registry.waste_centres import WasteCentreSpec, add_waste_centre
from edge.config import GatewayConfig
from simulators.scenario import GatewaySpec, LoopStationSpec, Scenario, load_scenario

GATE_PROFILE = "eclor-gate-controller"
LOOP_PROFILE = "eclor-loop-station"


def seed_residents(
    session: Session, config: GatewayConfig, now: datetime, scenario: Scenario | None = None
) -> None:
    """``now`` is unused (kept for the wiring's call shape): the rows carry no time."""
    scenario = scenario or load_scenario("demo")
    spec = next((g for g in scenario.gateways if g.id == config.gateway.id), None)
    if spec is None:
        return
    _waste_centre(session, config, spec)
    _lanes(session, config, spec)


def _waste_centre(session: Session, config: GatewayConfig, spec: GatewaySpec) -> None:
    gate = next((d for d in config.devices if d.profile == GATE_PROFILE), None)
    centre = spec.waste_centre
    if gate is None or centre is None or session.get(WasteCentre, spec.id) is not None:
        return
    add_waste_centre(
        session,
        WasteCentreSpec(
            centre_id=spec.id,
            name=spec.site,
            commune=gate.tags.get("commune", spec.commune),
            latitude=spec.latitude,
            longitude=spec.longitude,
            capacity=centre.bays,
            opening_hours={day: list(periods) for day, periods in centre.opening_hours.items()},
            closed_dates=tuple(d.isoformat() for d in centre.closed_dates),
            has_queue_detector=True,  # the gate controller's profile reads the queue lane
            device_id=None,  # the gateway's one gate controller, whatever its id
            poll_interval_s=gate.poll_interval_s,
        ),
    )


def _lanes(session: Session, config: GatewayConfig, spec: GatewaySpec) -> None:
    loops = {d.id: d for d in config.devices if d.profile == LOOP_PROFILE}
    position = {"type": "Point", "coordinates": [spec.longitude, spec.latitude]}
    for device in spec.devices:
        edge_id = f"{spec.id}-{device.id}"
        if not isinstance(device, LoopStationSpec) or edge_id not in loops:
            continue
        for number, lane in enumerate(device.lanes, start=1):
            if session.get(TrafficLane, (spec.id, edge_id, number)) is not None:
                continue
            add_traffic_lane(
                session,
                spec.id,
                edge_id,
                number,
                direction=lane.direction,
                segment=f"{spec.site} ({lane.direction})",
                geometry=position,
                interval_s=device.interval_s,
            )
