"""A device's latest readings: values with their observation times, the newest observation,
the staleness flag, the measurement filter, short caching with ETag/304."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from cloud.registry import add_device
from cloud.store import Point
from eclor.clock import to_epoch_ms
from tests.integration.test_api_harness import NOW, Api, energy_point, open_api, seed_fleet, write

pytestmark = pytest.mark.integration
LATEST = "/api/v1/gateways/cab-thil-04/devices/{device}/readings/latest"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        seed_fleet(api.sessions)
        older, newer = NOW - timedelta(minutes=2), NOW - timedelta(seconds=40)
        await write(
            api.store,
            [
                energy_point("cab-thil-04", older, 18234.5, voltage_l1_v=229.8, power_w=2712.5),
                energy_point("cab-thil-04", newer, 18234.75, voltage_l1_v=230.2),
                energy_point("cab-thil-07", newer, 5.0, voltage_l1_v=231.0),
                Point(
                    "cabinet",
                    {"gateway": "cab-thil-04", "device": "cab-thil-04-ctrl"},
                    {"contactor_1": True, "door_open": False, "dim_setpoint_pct": 50},
                    to_epoch_ms(older),
                ),
            ],
        )
        yield api


async def test_latest_values_with_their_times(api: Api) -> None:
    response = await api.client.get(
        LATEST.format(device="cab-thil-04-meter"), headers=api.auth("technician")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["observed_at"] == "2026-11-02T09:29:20Z"
    assert body["stale"] is False
    assert [m["measurement"] for m in body["measurements"]] == ["energy"]
    fields = body["measurements"][0]["fields"]
    assert fields == {
        "energy_import_kwh": {"value": 18234.75, "time": "2026-11-02T09:29:20Z"},
        "voltage_l1_v": {"value": 230.2, "time": "2026-11-02T09:29:20Z"},
        "power_w": {"value": 2712.5, "time": "2026-11-02T09:28:00Z"},
    }


async def test_every_type_of_value_keeps_its_type(api: Api) -> None:
    response = await api.client.get(
        LATEST.format(device="cab-thil-04-ctrl"), headers=api.auth("technician")
    )
    (cabinet,) = response.json()["measurements"]
    assert cabinet["measurement"] == "cabinet"
    values = {name: field["value"] for name, field in cabinet["fields"].items()}
    assert values == {"contactor_1": True, "door_open": False, "dim_setpoint_pct": 50}
    assert type(values["dim_setpoint_pct"]) is int


async def test_measurement_filter(api: Api) -> None:
    headers = api.auth("energy-manager")
    path = LATEST.format(device="cab-thil-04-meter")
    energy = await api.client.get(path, params={"measurement": "energy"}, headers=headers)
    assert len(energy.json()["measurements"]) == 1
    nothing = await api.client.get(path, params={"measurement": "traffic"}, headers=headers)
    assert nothing.json()["measurements"] == []


async def test_stale_when_old_or_never_read(api: Api) -> None:
    headers = api.auth("technician")
    path = LATEST.format(device="cab-thil-04-meter")
    fresh = await api.client.get(path, headers=headers)
    api.clock.advance(15 * 60)
    stale = await api.client.get(path, headers={**headers, "If-None-Match": fresh.headers["etag"]})
    assert stale.status_code == 200
    assert stale.json()["stale"] is True
    with api.sessions.begin() as session:
        add_device(session, "cab-thil-04", "new-meter", profile="eastron-sdm120", now=NOW)
    never = await api.client.get(LATEST.format(device="new-meter"), headers=headers)
    assert never.json() == {
        "gateway_id": "cab-thil-04",
        "device_id": "new-meter",
        "observed_at": None,
        "stale": True,
        "stale_after_s": 900,
        "measurements": [],
    }


async def test_short_cache_and_304(api: Api) -> None:
    headers = api.auth("technician")
    path = LATEST.format(device="cab-thil-04-meter")
    first = await api.client.get(path, headers=headers)
    assert first.headers["cache-control"] == "private, max-age=10"
    again = await api.client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    await write(api.store, [energy_point("cab-thil-04", NOW, 18235.0)])
    changed = await api.client.get(
        path, headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200
    assert changed.json()["observed_at"] == "2026-11-02T09:30:00Z"


async def test_unknown_device_is_404(api: Api) -> None:
    response = await api.client.get(LATEST.format(device="ghost"), headers=api.auth("admin"))
    assert response.status_code == 404
