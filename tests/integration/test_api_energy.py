"""kWh per local day (Europe/Paris) from the meters' counters: 23- and 25-hour days at the clock
changes, a counter reset, sums per site and commune, missing days, today's partial day, caching."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.test_api_harness import (
    NOW,
    Api,
    energy_point,
    meter_points,
    open_api,
    seed_fleet,
    write,
)

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
POWER_KW = {"cab-thil-04": 2.0, "cab-thil-07": 1.0, "cab-vil-01": 5.0}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        seed_fleet(api.sessions)
        yield api


async def daily(api: Api, path: str, **params: str) -> dict[str, Any]:
    response = await api.client.get(path, params=params, headers=api.auth("energy-manager"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def kwh_by_day(body: dict[str, Any]) -> dict[str, float | None]:
    return {d["day"]: d["kwh"] for d in body["days"]}


async def test_the_spring_change_day_has_23_hours(api: Api) -> None:
    await write(
        api.store, meter_points("cab-thil-04", local(2026, 3, 27), local(2026, 3, 31), kw=2)
    )
    body = await daily(
        api,
        "/api/v1/gateways/cab-thil-04/energy/daily",
        **{"from": "2026-03-28", "to": "2026-03-30"},
    )
    assert kwh_by_day(body) == {"2026-03-28": 48.0, "2026-03-29": 46.0, "2026-03-30": 48.0}
    change = body["days"][1]
    assert change["hours"] == 23
    assert change["start"] == "2026-03-29T00:00:00+01:00"
    assert change["end"] == "2026-03-30T00:00:00+02:00"
    assert all(d["complete"] and d["gateways_reporting"] == 1 for d in body["days"])
    assert body["total_kwh"] == 142.0
    assert body["timezone"] == "Europe/Paris"
    assert (body["scope"], body["id"], body["gateways"]) == (
        "gateway",
        "cab-thil-04",
        ["cab-thil-04"],
    )


async def test_the_autumn_change_day_has_25_hours(api: Api) -> None:
    await write(
        api.store, meter_points("cab-thil-04", local(2026, 10, 23), local(2026, 10, 27), kw=2)
    )
    body = await daily(
        api,
        "/api/v1/gateways/cab-thil-04/energy/daily",
        **{"from": "2026-10-24", "to": "2026-10-26"},
    )
    assert kwh_by_day(body) == {"2026-10-24": 48.0, "2026-10-25": 50.0, "2026-10-26": 48.0}
    assert [d["hours"] for d in body["days"]] == [24, 25, 24]
    assert body["days"][1]["start"] == "2026-10-25T00:00:00+02:00"
    assert body["days"][1]["end"] == "2026-10-26T00:00:00+01:00"


async def test_a_counter_reset_counts_from_zero(api: Api) -> None:
    before = list(meter_points("cab-thil-04", local(2026, 10, 29), local(2026, 10, 30, 12), kw=2))
    # The meter is replaced at noon: the new one reads 0.0 and counts up from there.
    after = list(
        meter_points(
            "cab-thil-04", local(2026, 10, 30, 12), local(2026, 11, 1), kw=2, counter_kwh=0.0
        )
    )
    # 35.75 h from 29 Oct 00:00 to the old meter's last reading at 11:45, at 2 kW.
    assert before[-1].fields["energy_import_kwh"] == 1000 + 35.75 * 2
    await write(api.store, before + after)
    body = await daily(
        api,
        "/api/v1/gateways/cab-thil-04/energy/daily",
        **{"from": "2026-10-30", "to": "2026-10-31"},
    )
    # 48 kWh less the quarter hour between the old meter's last reading and the new meter's first.
    assert kwh_by_day(body) == {"2026-10-30": 47.5, "2026-10-31": 48.0}


async def test_two_meters_of_a_gateway_add_up(api: Api) -> None:
    main = meter_points("cab-thil-04", local(2026, 10, 27), local(2026, 10, 29), kw=2)
    second = meter_points(
        "cab-thil-04",
        local(2026, 10, 27),
        local(2026, 10, 29),
        kw=1,
        counter_kwh=10.0,
        device="cab-thil-04-meter-2",
    )
    await write(api.store, [*main, *second])
    body = await daily(
        api,
        "/api/v1/gateways/cab-thil-04/energy/daily",
        **{"from": "2026-10-28", "to": "2026-10-28"},
    )
    assert kwh_by_day(body) == {"2026-10-28": 48.0 + 24.0}


async def test_sites_and_communes_sum_their_gateways(api: Api) -> None:
    for gateway, kw in POWER_KW.items():
        await write(
            api.store, meter_points(gateway, local(2026, 10, 24), local(2026, 10, 27), kw=kw)
        )
    window = {"from": "2026-10-25", "to": "2026-10-26"}
    thil = await daily(api, "/api/v1/communes/57672/energy/daily", **window)
    assert thil["gateways"] == ["cab-thil-04", "cab-thil-07"]
    assert kwh_by_day(thil) == {"2026-10-25": 75.0, "2026-10-26": 72.0}
    assert [d["gateways_reporting"] for d in thil["days"]] == [2, 2]
    villerupt = await daily(api, "/api/v1/communes/57683/energy/daily", **window)
    assert kwh_by_day(villerupt) == {"2026-10-25": 125.0, "2026-10-26": 120.0}
    site = await daily(api, "/api/v1/sites/cab-thil-07/energy/daily", **window)
    assert (site["scope"], site["gateways"]) == ("site", ["cab-thil-07"])
    assert kwh_by_day(site) == {"2026-10-25": 25.0, "2026-10-26": 24.0}


async def test_days_without_data_are_null_not_zero(api: Api) -> None:
    await write(
        api.store, meter_points("cab-thil-04", local(2026, 10, 27), local(2026, 10, 28), kw=2)
    )
    body = await daily(
        api,
        "/api/v1/gateways/cab-thil-04/energy/daily",
        **{"from": "2026-10-26", "to": "2026-10-29"},
    )
    assert kwh_by_day(body) == {
        "2026-10-26": None,
        "2026-10-27": 47.5,  # the day's first sample has nothing before it
        "2026-10-28": None,
        "2026-10-29": None,
    }
    assert [d["gateways_reporting"] for d in body["days"]] == [0, 1, 0, 0]
    empty = await daily(
        api,
        "/api/v1/gateways/cab-vil-01/energy/daily",
        **{"from": "2026-10-26", "to": "2026-10-29"},
    )
    assert empty["total_kwh"] is None


async def test_today_is_partial_and_cached_briefly(api: Api) -> None:
    await write(api.store, meter_points("cab-thil-04", local(2026, 10, 31), NOW, kw=2))
    headers = api.auth("technician")
    response = await api.client.get("/api/v1/gateways/cab-thil-04/energy/daily", headers=headers)
    body = response.json()
    assert body["first_day"] == "2026-10-27"
    assert body["last_day"] == "2026-11-02"
    today = body["days"][-1]
    assert today["day"] == "2026-11-02"
    assert today["complete"] is False
    assert today["kwh"] == 21.0  # 00:00 to 10:30 local, in quarter hours
    assert [d["complete"] for d in body["days"]] == [True] * 6 + [False]
    assert response.headers["cache-control"] == "private, max-age=60"

    past = await api.client.get(
        "/api/v1/gateways/cab-thil-04/energy/daily?from=2026-10-31&to=2026-11-01", headers=headers
    )
    assert past.headers["cache-control"] == "private, max-age=3600"
    cached = await api.client.get(
        "/api/v1/gateways/cab-thil-04/energy/daily?from=2026-10-31&to=2026-11-01",
        headers={**headers, "If-None-Match": past.headers["etag"]},
    )
    assert cached.status_code == 304
    # Late data for a past day changes the answer, and its ETag.
    await write(api.store, [energy_point("cab-thil-04", local(2026, 10, 30, 23, 45), 990.0)])
    late = await api.client.get(
        "/api/v1/gateways/cab-thil-04/energy/daily?from=2026-10-31&to=2026-11-01",
        headers={**headers, "If-None-Match": past.headers["etag"]},
    )
    assert late.status_code == 200
    # 47.5 (the first sample had nothing before it) + 10 from the late 990.0 to the first 1000.0.
    assert kwh_by_day(late.json())["2026-10-31"] == 57.5
