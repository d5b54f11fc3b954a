"""The demo's waste centre and loop lanes land in the registry from the scenario."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cloud.registry.traffic_stations import list_traffic_lanes
from cloud.registry.waste_centres import get_waste_centre, list_waste_centres
from demo.residents_seed import seed_residents
from demo.wiring import gateway_config
from edge.config import Broker
from edge.profiles import load_profiles
from simulators.backfill import PROFILE_OF_MODEL, default_profiles_dir
from simulators.runner import DeviceEndpoint, GatewayEndpoint
from simulators.scenario import load_scenario
from tests.support.cloud_parts import sqlite_registry

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def test_seeding_the_demo_registers_its_waste_centre_and_lanes(tmp_path: Path) -> None:
    scenario = load_scenario("demo")
    profiles = load_profiles(default_profiles_dir())
    sessions = sqlite_registry(tmp_path)
    for spec in scenario.gateways:
        endpoint = GatewayEndpoint(
            spec.id, spec.site, spec.commune, spec.latitude, spec.longitude, "tcp",
            "127.0.0.1", 502,
            tuple(DeviceEndpoint(d.id, d.model, PROFILE_OF_MODEL[d.model], d.unit)
                  for d in spec.devices),
        )  # fmt: skip
        config = gateway_config(
            endpoint, scenario, Broker(host="127.0.0.1", port=1883), tmp_path, profiles
        )
        for _ in range(2):  # idempotent
            with sessions.begin() as session:
                seed_residents(session, config, NOW)
    with sessions() as session:
        [centre] = list_waste_centres(session)
        assert centre.id == "vil-dech"
        assert centre.capacity == 8
        assert centre.commune == "villerupt"  # as the edge tags the readings
        assert centre.device_id is None  # "vil-dech-gate" live, "gate" in a sim backfill
        assert centre.poll_interval_s == 5.0  # as the demo polls
        assert centre.opening_hours["mon"] == [["14:00", "18:00"]]
        assert "2026-12-25" in centre.closed_dates
        assert get_waste_centre(session, "vil-dech").has_queue_detector
        lanes = [
            (r.gateway_id, r.device_id, r.lane, r.direction) for r in list_traffic_lanes(session)
        ]
    assert lanes == [
        ("aud-c001", "aud-c001-loops", 1, "north"),
        ("aud-c001", "aud-c001-loops", 2, "south"),
        ("vil-c001", "vil-c001-loops", 1, "in"),
        ("vil-c001", "vil-c001-loops", 2, "out"),
    ]
