"""The whole chain: simulated meter → edge agent → Mosquitto → ingest → InfluxDB → API.

A simulated day runs in about half a minute (one shared clock, 2880 times real time). The API's
kWh for that local day must match the simulator's own integral of the meter's power over the day.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from cloud.config import ApiConfig, CloudConfig, MqttConfig, RegistryConfig
from cloud.registry.tokens import create_token
from cloud.runtime import CloudRuntime
from cloud.store.settings import InfluxSettings, StoreSettings
from demo.wiring import gateway_config, register
from eclor.clock import ScaledClock
from edge.agent import EdgeAgent
from edge.config import Broker, LoadedConfig, Uplink
from edge.profiles import default_profiles_dir, load_profiles
from simulators.runner import start_territory
from simulators.scenario import load_scenario
from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
SPEED = 2880.0
DAY = datetime(2026, 11, 28, tzinfo=PARIS)
START = DAY - timedelta(minutes=90)
SCENARIO = """
name: e2e
timezone: Europe/Paris
seed: 7
tick_s: 0.02
lighting: {on_offset_min: 15, off_offset_min: 15, luminaire_w: 55, standby_w: 4,
           dim_steps: [{from: "22:00", to: "06:00", level_pct: 50}]}
gateways:
  - id: thi-c001
    site: Thil — rue de la Gare
    commune: Thil
    latitude: 49.4731
    longitude: 5.9075
    bus: {kind: tcp}
    cabinet: {installed_w: 3300, circuits: 2}
    devices:
      - {id: meter, model: sdm630, unit: 1}
      - {id: controller, model: cabinet_controller, unit: 2}
"""


class EnergyLog:
    """Samples the simulated meter's counter on the shared clock, to integrate exactly."""

    def __init__(self) -> None:
        self.samples: list[tuple[datetime, float]] = []

    def at(self, moment: datetime) -> float:
        for (t0, e0), (t1, e1) in zip(self.samples, self.samples[1:], strict=False):
            if t0 <= moment <= t1:
                return e0 + (e1 - e0) * (moment - t0) / (t1 - t0)
        raise AssertionError(f"no sample around {moment}")


async def test_a_simulated_day_through_the_whole_chain(
    tmp_path: Path, mosquitto: MosquittoServer, influxdb: InfluxDBServer
) -> None:
    (tmp_path / "e2e.yaml").write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(str(tmp_path / "e2e.yaml"))
    clock = ScaledClock(START, SPEED)
    territory = await start_territory(scenario, clock, speed=SPEED)
    state = territory.devices["thi-c001/meter"].state  # type: ignore[attr-defined]

    cloud = CloudRuntime(
        CloudConfig(
            mqtt=MqttConfig(host=mosquitto.host, port=mosquitto.port),
            store=StoreSettings(influxdb=InfluxSettings(url=influxdb.url, database="e2e")),
            registry=RegistryConfig(url=f"sqlite:///{tmp_path / 'registry.sqlite'}"),
            api=ApiConfig(port=0),
        ),
        # the chain of readings: at 2880x the scheduler's jobs would run every wall second and
        # compete with the polls this test times (the jobs have their own tests)
        roles=("ingest", "api"),
        clock=clock,
    )
    cloud_stop = asyncio.Event()
    cloud_task = asyncio.create_task(cloud.run(cloud_stop))
    await asyncio.wait_for(cloud.ready.wait(), 30)
    profiles = load_profiles(default_profiles_dir())
    config = gateway_config(
        territory.gateways[0],
        scenario,
        Broker(host=mosquitto.host, port=mosquitto.port),
        tmp_path / "edge",
        profiles,
        poll_interval_s=300,
        uplink=Uplink(ack_timeout_s=86_400, status_interval_s=5),
    )
    with cloud.sessions.begin() as session:
        register(session, config, datetime.now(UTC))
        token = create_token(session, "e2e", ["energy-manager"], now=datetime.now(UTC)).secret
    agent = EdgeAgent(LoadedConfig(source=tmp_path, config=config, profiles=profiles), clock)
    agent_stop = asyncio.Event()
    agent_task = asyncio.create_task(agent.run(agent_stop))
    log = EnergyLog()
    end = DAY + timedelta(days=1, minutes=30)
    try:
        while clock.now() < end:
            log.samples.append((clock.now(), state.import_energy_kwh))
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)  # let the last batches be stored
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{cloud.api_port}",
            headers={"Authorization": f"Bearer {token}"},
        ) as api:
            energy = (
                await api.get(
                    "/api/v1/gateways/thi-c001/energy/daily",
                    params={"from": "2026-11-28", "to": "2026-11-28"},
                )
            ).json()
            latest = (
                await api.get("/api/v1/gateways/thi-c001/devices/thi-c001-meter/readings/latest")
            ).json()
    finally:
        agent_stop.set()
        await agent_task
        cloud_stop.set()
        await cloud_task
        await territory.stop()

    expected = log.at(DAY + timedelta(days=1)) - log.at(DAY)
    (day,) = energy["days"]
    poll_energy = 300 / 3600 * 3.3  # one poll interval at full installed power, kWh
    assert expected > 10, "the cabinet burned through the night"
    assert day["kwh"] == pytest.approx(expected, abs=2 * poll_energy)
    assert day["hours"] == 24
    fields = {
        name: value["value"]
        for group in latest["measurements"]
        for name, value in group["fields"].items()
    }
    assert fields["voltage_l1_v"] == pytest.approx(state.voltage_v[0], abs=5)
