"""The public API for residents (issue 7): waste centres with their wait and forecast, traffic as
GeoJSON. A real migrated SQLite registry with the demo scenario's Villerupt waste centre and a
two-lane loop station (C1's registry functions), the embedded SQLite store holding what C1's
jobs write (``waste_wait`` and ``waste_forecast`` points made by C1's own point builders) and raw
``traffic`` readings, and a manual clock.

:func:`seed_residents` is the demo-like state reused by the browser test and the benchmark.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.api import API_PREFIX, ApiSettings
from cloud.registry.traffic_stations import add_traffic_lane
from cloud.registry.waste_centres import WasteCentreSpec, add_waste_centre
from cloud.residents.forecast import SlotForecast, forecast_points
from cloud.residents.wait import Level, WaitEstimate
from cloud.residents.waste_jobs import wait_point
from cloud.store import Point, TimeSeriesStore
from eclor.clock import to_epoch_ms
from simulators.scenario import load_scenario
from tests.integration.test_api_harness import NOW, Api, open_api

pytestmark = pytest.mark.integration

CENTRE = "vil-dech"
LOOPS = ("vil-c002", "vil-c002-loops")
TUESDAY = NOW + timedelta(days=1)
"""Tuesday 3 November 2026, 10:30 in Villerupt: the centre is open (09:00-12:00)."""
WAITS = f"{API_PREFIX}/waste-centres"
TRAFFIC = f"{API_PREFIX}/traffic"
D16 = [[5.92871234567, 49.46891234567], [5.9301, 49.4702]]


def seed_registry(sessions: sessionmaker[Session], *extra_centres: str) -> None:
    """The demo scenario's waste centre (hours, closed dates, bays) and a loop station whose
    lane 1 is a LineString and lane 2 a Point."""
    spec = next(g for g in load_scenario("demo").gateways if g.id == CENTRE)
    assert spec.waste_centre is not None
    with sessions.begin() as session:
        for centre_id in (CENTRE, *extra_centres):
            add_waste_centre(
                session,
                WasteCentreSpec(
                    centre_id=centre_id,
                    name=spec.site if centre_id == CENTRE else f"Déchetterie {centre_id}",
                    commune=spec.commune,
                    latitude=spec.latitude,
                    longitude=spec.longitude,
                    capacity=spec.waste_centre.bays,
                    opening_hours={d: list(p) for d, p in spec.waste_centre.opening_hours.items()},
                    closed_dates=tuple(d.isoformat() for d in spec.waste_centre.closed_dates),
                ),
            )
        gateway, device = LOOPS
        add_traffic_lane(
            session, gateway, device, 1, direction="north", segment="D16 nord",
            geometry={"type": "LineString", "coordinates": D16},
        )  # fmt: skip
        add_traffic_lane(
            session, gateway, device, 2, direction="south", segment="D16 sud",
            geometry={"type": "Point", "coordinates": D16[0]},
        )  # fmt: skip


def estimate(
    centre: str, at: datetime, *, wait: float | None, level: Level, open_: bool = True
) -> Point:
    """A published wait as C1's job writes it, from a gate reading 20 s before ``at``."""
    return wait_point(
        WaitEstimate(
            site=centre,
            commune="Villerupt",
            at=at,
            observed_at=at - timedelta(seconds=20),
            open=open_,
            level=level,
            stale=False,
            on_site=8 if open_ else 0,
            queue=6 if open_ else None,
            throughput_vph=30.0 if open_ else None,
            wait_min=wait,
            wait_low_min=None if wait is None else max(0.0, wait - 4.0),
            wait_high_min=None if wait is None else wait + 4.0,
        )
    )


def forecast(centre: str, now: datetime, waits: list[float]) -> list[Point]:
    """Forecast slots every 15 min from the slot after ``now`` (as C1's job writes them)."""
    first = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    slots = [
        SlotForecast(centre, first + timedelta(minutes=15 * (i + 1)), _level(w), w, 10)
        for i, w in enumerate(waits)
    ]
    return forecast_points(slots)


def loop_reading(at: datetime, *, interval_s: int = 60) -> Point:
    """One interval of the station: lane 1 fluid (7 vehicles, 8.5 %), lane 2 congested."""
    gateway, device = LOOPS
    fields = {
        "lane_count": 2,
        "interval_s": interval_s,
        "lane1_vehicle_count": 1007,
        "lane1_interval_count": 7,
        "lane1_occupancy_pct": 8.5,
        "lane1_speed_kmh": 48.2,
        "lane2_vehicle_count": 2016,
        "lane2_interval_count": 16,
        "lane2_occupancy_pct": 36.0,
        "lane2_speed_kmh": 17.0,
    }
    return Point("traffic", {"gateway": gateway, "device": device}, fields, to_epoch_ms(at))


async def seed_residents(
    sessions: sessionmaker[Session],
    store: TimeSeriesStore,
    now: datetime,
    extra_centres: Sequence[str] = (),
) -> None:
    """Registry and store as the residents' jobs leave them at ``now`` (the centre open);
    ``extra_centres`` have a day of minute waits each."""
    seed_registry(sessions, *extra_centres)
    day = [now - timedelta(minutes=m) for m in range(24 * 60, 0, -1)]
    for centre in extra_centres:
        await store.write([estimate(centre, at, wait=8.0, level=Level.FLUIDE) for at in day])
    await store.write(
        [
            estimate(CENTRE, now - timedelta(minutes=1), wait=14.0, level=Level.MODERE),
            *forecast(CENTRE, now, [18.0, 25.0, 9.0, 4.0, 6.0, 12.0]),
            loop_reading(now - timedelta(seconds=50)),
        ]
    )


def _level(wait: float) -> Level:
    return Level.FLUIDE if wait < 10 else Level.MODERE if wait < 20 else Level.CHARGE


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        api.clock.advance((TUESDAY - NOW).total_seconds())
        await seed_residents(api.sessions, api.store, TUESDAY)
        yield api


async def test_waste_centres_list_the_current_wait_with_its_observation_time(api: Api) -> None:
    response = await api.client.get(WAITS)
    assert response.status_code == 200
    [centre] = response.json()["items"]
    assert centre["id"] == CENTRE
    assert centre["name"] == "Déchetterie de Villerupt"
    assert centre["commune"] == "Villerupt"
    assert (centre["latitude"], centre["longitude"]) == (49.4612, 5.9195)
    wait = centre["wait"]
    assert (wait["level"], wait["wait_min"], wait["wait_low_min"], wait["wait_high_min"]) == (
        "modéré",
        14.0,
        10.0,
        18.0,
    )
    assert wait["queue"] == 6
    assert wait["open"] is True
    assert wait["stale"] is False
    assert wait["observed_at"] == "2026-11-03T09:28:40Z"
    assert wait["published_at"] == "2026-11-03T09:29:00Z"
    assert wait["age_s"] == 80
    assert centre["next_opening"] is None  # open now
    assert centre["href"] == f"{WAITS}/{CENTRE}"


async def test_no_token_is_needed_and_the_answer_is_public_for_one_refresh(api: Api) -> None:
    response = await api.client.get(WAITS)
    assert "authorization" not in response.request.headers
    # 09:30:00 exactly: the minute window has 60 s left.
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["x-content-type-options"] == "nosniff"
    api.clock.advance(45)
    response = await api.client.get(WAITS)
    assert response.headers["cache-control"] == "public, max-age=15"


async def test_an_etag_sent_back_gets_304_without_a_body(api: Api) -> None:
    first = await api.client.get(WAITS)
    again = await api.client.get(WAITS, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_the_answer_is_computed_once_per_minute(api: Api) -> None:
    first = (await api.client.get(WAITS)).json()
    await api.store.write([estimate(CENTRE, TUESDAY, wait=25.0, level=Level.CHARGE)])
    same_minute = (await api.client.get(WAITS)).json()
    assert same_minute == first
    api.clock.advance(60)
    next_minute = (await api.client.get(WAITS)).json()
    assert next_minute["items"][0]["wait"]["level"] == "chargé"
    assert api.app.state.public_cache.computed == 2


async def test_an_old_wait_is_stale_and_its_level_unknown(api: Api) -> None:
    api.clock.advance(6 * 60)  # last estimate 7 minutes old: the job stopped
    wait = (await api.client.get(WAITS)).json()["items"][0]["wait"]
    assert wait["stale"] is True
    assert wait["level"] == "inconnu"
    assert wait["observed_at"] == "2026-11-03T09:28:40Z"


async def test_a_closed_centre_says_so_with_its_next_opening(api: Api) -> None:
    noon = TUESDAY + timedelta(minutes=95)  # 12:05 in Villerupt: closed until 14:00
    api.clock.advance(95 * 60)
    await api.store.write([estimate(CENTRE, noon, wait=None, level=Level.FERME, open_=False)])
    centre = (await api.client.get(WAITS)).json()["items"][0]
    assert (centre["wait"]["level"], centre["wait"]["open"]) == ("fermé", False)
    assert centre["wait"]["wait_min"] is None
    assert centre["next_opening"] == "2026-11-03T13:00:00Z"


async def test_a_centre_without_published_wait_is_unknown(tmp_path: Path) -> None:
    async with open_api(tmp_path) as api:
        seed_registry(api.sessions)
        wait = (await api.client.get(WAITS)).json()["items"][0]["wait"]
        assert (wait["level"], wait["stale"], wait["observed_at"]) == ("inconnu", True, None)


async def test_centres_are_paged_with_a_next_link(tmp_path: Path) -> None:
    async with open_api(tmp_path) as api:
        seed_registry(api.sessions, "aud-dech", "rus-dech")
        first = await api.client.get(WAITS, params={"limit": 2})
        body = first.json()
        assert [c["id"] for c in body["items"]] == ["aud-dech", "rus-dech"]
        assert first.headers["link"] == f'<{body["next"]}>; rel="next"'
        second = (await api.client.get(body["next"])).json()
        assert [c["id"] for c in second["items"]] == [CENTRE]
        assert second["next"] is None


async def test_bad_paging_is_a_problem_naming_the_parameter(api: Api) -> None:
    for params, named in (
        ({"limit": 100_000}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": 0}, "limit"),
        ({"cursor": "nonsense"}, "cursor"),
    ):
        response = await api.client.get(WAITS, params=params)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert named in response.json()["detail"]


async def test_a_centre_has_its_forecast_and_best_time(api: Api) -> None:
    response = await api.client.get(f"{WAITS}/{CENTRE}")
    assert response.status_code == 200
    body = response.json()
    assert body["wait"]["level"] == "modéré"
    slots = body["forecast"]
    assert slots[0]["start"] == "2026-11-03T09:45:00Z"
    assert [s["wait_min"] for s in slots] == [18.0, 25.0, 9.0, 4.0, 6.0, 12.0]
    assert [s["level"] for s in slots[:3]] == ["modéré", "chargé", "fluide"]
    best = {"start": "2026-11-03T10:30:00Z", "level": "fluide", "wait_min": 4.0}
    assert body["best_time"] == best
    assert [s["wait_min"] for s in body["best_times"]] == [4.0, 6.0, 9.0]
    assert response.headers["cache-control"].startswith("public, max-age=")


async def test_an_unknown_centre_is_a_404_problem(api: Api) -> None:
    response = await api.client.get(f"{WAITS}/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "nowhere" in response.json()["detail"]
    response = await api.client.get(f"{WAITS}/Not%20An%20Id")
    assert response.status_code == 422


async def test_traffic_is_geojson_longitude_first_with_seven_decimals(api: Api) -> None:
    response = await api.client.get(TRAFFIC)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    by_lane = {f["properties"]["lane"]: f for f in body["features"]}
    assert set(by_lane) == {1, 2}
    north, south = by_lane[1], by_lane[2]
    assert north["type"] == "Feature"
    assert north["id"] == "vil-c002/vil-c002-loops/1"
    assert north["geometry"] == {
        "type": "LineString",
        "coordinates": [[5.9287123, 49.4689123], [5.9301, 49.4702]],
    }
    assert south["geometry"] == {"type": "Point", "coordinates": [5.9287123, 49.4689123]}
    props = south["properties"]
    assert props["level"] == "congested"
    assert (props["flow_vph"], props["occupancy_pct"], props["speed_kmh"]) == (960.0, 36.0, 17.0)
    assert (props["segment"], props["direction"]) == ("D16 sud", "south")
    assert props["observed_at"] == "2026-11-03T09:29:10Z"
    assert (props["age_s"], props["stale"], props["interval_s"]) == (50, False, 60)
    assert north["properties"]["level"] == "freeFlow"
    assert response.headers["cache-control"] == "public, max-age=60"


async def test_a_silent_station_turns_unknown_after_three_intervals(api: Api) -> None:
    api.clock.advance(3 * 60)
    features = (await api.client.get(TRAFFIC)).json()["features"]
    assert {f["properties"]["level"] for f in features} == {"unknown"}
    assert all(f["properties"]["stale"] for f in features)


async def test_traffic_is_cached_for_one_station_interval(api: Api) -> None:
    first = await api.client.get(TRAFFIC)
    again = await api.client.get(TRAFFIC, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    await api.store.write([loop_reading(TUESDAY + timedelta(seconds=10))])
    api.clock.advance(60)
    fresh = await api.client.get(TRAFFIC, headers={"If-None-Match": first.headers["etag"]})
    assert fresh.status_code == 200
    assert fresh.json()["features"][0]["properties"]["age_s"] == 50


async def test_too_many_requests_get_429_with_retry_after(tmp_path: Path) -> None:
    settings = ApiSettings(public_get_per_s=0.5, public_get_burst=3)
    async with open_api(tmp_path, settings=settings) as api:
        await seed_residents(api.sessions, api.store, NOW)
        statuses = [(await api.client.get(WAITS)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await api.client.get(TRAFFIC)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["content-type"] == "application/problem+json"
        other = api.client_at("192.0.2.7")
        async with other:
            assert (await other.get(WAITS)).status_code == 200


async def test_concurrent_requests_in_a_window_compute_the_answer_once(api: Api) -> None:
    answers = await asyncio.gather(*(api.client.get(WAITS) for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.headers["etag"] for a in answers}) == 1
    assert api.app.state.public_cache.computed == 1
