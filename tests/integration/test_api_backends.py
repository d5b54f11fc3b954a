"""The API on the production backends: the InfluxDB store (the ``influxdb`` fixture) and a
PostgreSQL registry (``postgres_url``), with the same answers as on SQLite."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from cloud.registry import make_engine
from cloud.store import InfluxSettings, InfluxStore
from tests.integration.test_api_harness import (
    NOW,
    energy_point,
    meter_points,
    open_api,
    seed_fleet,
    write,
)
from tests.services.influxdb import InfluxDBServer

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
async def influx_store(influxdb: InfluxDBServer) -> AsyncIterator[InfluxStore]:
    settings = InfluxSettings(url=influxdb.url, database=f"api_{secrets.token_hex(4)}")
    store = await InfluxStore.open(settings)
    yield store
    await store.close()


@pytest.fixture
def postgres_registry(postgres_url: str) -> Iterator[Engine]:
    """An engine on a schema of its own in the session's PostgreSQL database."""
    schema = f"api_{secrets.token_hex(6)}"
    admin = make_engine(postgres_url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(postgres_url, connect_args={"options": f"-c search_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


async def test_energy_and_latest_on_influxdb(tmp_path: Path, influx_store: InfluxStore) -> None:
    async with open_api(tmp_path, store=influx_store) as api:
        seed_fleet(api.sessions)
        start, end = datetime(2026, 3, 28, tzinfo=PARIS), datetime(2026, 3, 30, tzinfo=PARIS)
        await write(api.store, meter_points("cab-thil-04", start, end, kw=2))
        await write(api.store, [energy_point("cab-thil-04", NOW, 5000.0, voltage_l1_v=230.2)])
        headers = api.auth("energy-manager")
        energy = await api.client.get(
            "/api/v1/gateways/cab-thil-04/energy/daily?from=2026-03-29&to=2026-03-29",
            headers=headers,
        )
        (day,) = energy.json()["days"]
        assert (day["hours"], day["kwh"]) == (23, 46.0)
        latest = await api.client.get(
            "/api/v1/gateways/cab-thil-04/devices/cab-thil-04-meter/readings/latest",
            headers=headers,
        )
        fields = latest.json()["measurements"][0]["fields"]
        assert fields["voltage_l1_v"]["value"] == 230.2
        assert latest.json()["observed_at"] == "2026-11-02T09:30:00Z"
        health = (await api.client.get("/healthz")).json()
        assert health["store"] == {"ok": True, "backend": "influxdb"}


async def test_fleet_and_tokens_on_postgresql(tmp_path: Path, postgres_registry: Engine) -> None:
    async with open_api(tmp_path, registry=postgres_registry) as api:
        seed_fleet(api.sessions)
        admin = api.auth("admin")
        created = await api.client.post("/api/v1/gateways", json={"id": "cab-pg-01"}, headers=admin)
        assert created.status_code == 201
        page = await api.client.get("/api/v1/gateways?limit=2", headers=api.auth("technician"))
        body = page.json()
        assert [g["id"] for g in body["items"]] == ["cab-pg-01", "cab-thil-04"]
        rest = await api.client.get(body["next"], headers=api.auth("technician"))
        assert [g["id"] for g in rest.json()["items"]] == ["cab-thil-07", "cab-vil-01"]
        expiring = api.token("technician", expires_at=api.clock.now() + timedelta(minutes=1))
        api.clock.advance(60)
        refused = await api.client.get(
            "/api/v1/gateways", headers={"Authorization": f"Bearer {expiring}"}
        )
        assert refused.status_code == 401
        health = (await api.client.get("/healthz")).json()
        assert health["registry"] == {"ok": True, "backend": "postgresql"}
