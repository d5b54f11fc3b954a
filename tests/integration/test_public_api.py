"""The public API for residents (issue 7): waste centres with their wait and forecast, traffic as
GeoJSON. Real migrated SQLite registry, embedded SQLite store holding the derived series
(``waste_wait``, ``waste_forecast``, ``traffic_level``) and raw ``traffic`` readings, manual clock.

:func:`seed_residents` is the demo-like state reused by the browser test and the benchmark.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.api import API_PREFIX, ApiSettings
from cloud.registry import SiteKind, add_commune, add_site, enroll_gateway
from cloud.store import Point, TimeSeriesStore
from eclor.clock import to_epoch_ms
from tests.integration.test_api_harness import NOW, Api, open_api

pytestmark = pytest.mark.integration

VILLERUPT = "57683"
CENTRE = "vil-dech"
LOOPS_GATEWAY = "vil-c002"
DEMO_HOURS = {
    "mon": ["14:00-18:00"],
    "tue": ["09:00-12:00", "14:00-18:00"],
    "wed": ["09:00-12:00", "14:00-18:00"],
    "thu": ["09:00-12:00", "14:00-18:00"],
    "fri": ["09:00-12:00", "14:00-18:00"],
    "sat": ["09:00-18:00"],
    "sun": ["09:00-12:00"],
    "closed_dates": ["2026-12-25", "2027-01-01"],
}
WAITS = f"{API_PREFIX}/waste-centres"


def seed_registry(sessions: sessionmaker[Session], now: datetime = NOW) -> None:
    """The demo's Villerupt waste centre and a cabinet with a loop station, as sites."""
    with sessions.begin() as session:
        add_commune(session, VILLERUPT, "Villerupt")
        add_site(
            session,
            CENTRE,
            name="Déchetterie de Villerupt",
            commune=VILLERUPT,
            kind=SiteKind.WASTE_CENTRE,
            latitude=49.4612,
            longitude=5.9195,
            opening_hours=DEMO_HOURS,
        )
        enroll_gateway(session, CENTRE, now=now, site_id=CENTRE)
        add_site(
            session,
            LOOPS_GATEWAY,
            name="Armoire rue Clemenceau",
            commune=VILLERUPT,
            kind=SiteKind.CABINET,
            latitude=49.46891234567,
            longitude=5.92871234567,
        )
        enroll_gateway(session, LOOPS_GATEWAY, now=now, site_id=LOOPS_GATEWAY)


def wait_point(
    centre: str, at: datetime, *, wait: float, level: str, queue: int | None = 6, **extra: object
) -> Point:
    fields: dict[str, object] = {
        "open": level != "fermé",
        "on_site": 8,
        "throughput_vph": 30.0,
        "wait_min": wait,
        "wait_low_min": max(0.0, wait - 4.0),
        "wait_high_min": wait + 4.0,
        "level": level,
        "stale": False,
        **extra,
    }
    if queue is not None:
        fields["queue"] = queue
    return Point(
        "waste_wait",
        {"site": centre, "commune": "Villerupt"},
        fields,
        to_epoch_ms(at),  # type: ignore[arg-type]
    )


def forecast_points(centre: str, now: datetime, waits: list[float]) -> list[Point]:
    """Forecast slots every 15 min from the slot holding ``now``."""
    start = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    return [
        Point(
            "waste_forecast",
            {"site": centre},
            {"wait_min": wait, "level": _level(wait)},
            to_epoch_ms(start + timedelta(minutes=15 * i)),
        )
        for i, wait in enumerate(waits)
    ]


def lane_points(at: datetime, *, interval_s: int = 60) -> list[Point]:
    """One interval of a two-lane double-loop station: lane 1 fluid, lane 2 congested."""
    tags = {"gateway": LOOPS_GATEWAY, "device": "loops"}
    lanes = [
        Point(
            "traffic_level",
            {**tags, "lane": "1", "segment": "D16 nord"},
            {"flow_vph": 420.0, "occupancy_pct": 8.5, "speed_kmh": 48.2, "level": "freeFlow"},
            to_epoch_ms(at),
        ),
        Point(
            "traffic_level",
            {**tags, "lane": "2", "segment": "D16 sud"},
            {"flow_vph": 960.0, "occupancy_pct": 36.0, "speed_kmh": 17.0, "level": "congested"},
            to_epoch_ms(at),
        ),
    ]
    raw = Point(
        "traffic",
        tags,
        {"lane_count": 2, "interval_s": interval_s, "lane1_vehicle_count": 7},
        to_epoch_ms(at),
    )
    return [*lanes, raw]


async def seed_residents(
    sessions: sessionmaker[Session], store: TimeSeriesStore, now: datetime = NOW
) -> None:
    """Registry and store as the residents' jobs would leave them at ``now``."""
    seed_registry(sessions, now)
    await store.write(
        [
            wait_point(CENTRE, now - timedelta(minutes=2), wait=14.0, level="modéré"),
            *forecast_points(CENTRE, now, [14.0, 18.0, 25.0, 9.0, 4.0, 6.0, 12.0]),
            *lane_points(now - timedelta(seconds=50)),
        ]
    )


def _level(wait: float) -> str:
    return "fluide" if wait < 10 else "modéré" if wait < 20 else "chargé"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        await seed_residents(api.sessions, api.store)
        yield api


async def test_waste_centres_list_the_current_wait_with_its_observation_time(api: Api) -> None:
    response = await api.client.get(WAITS)
    assert response.status_code == 200
    [centre] = response.json()["items"]
    assert centre["id"] == CENTRE
    assert centre["name"] == "Déchetterie de Villerupt"
    assert centre["commune"] == "Villerupt"
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
    assert wait["observed_at"] == "2026-11-02T09:28:00Z"
    assert wait["age_s"] == 120
    # Monday 10:30 in Paris; Mondays open at 14:00 local (13:00 UTC).
    assert centre["next_opening"] == "2026-11-02T14:00:00+01:00"
    assert centre["href"] == f"{WAITS}/{CENTRE}"


async def test_no_token_is_needed_and_the_answer_is_public_for_one_refresh(api: Api) -> None:
    response = await api.client.get(WAITS)
    assert "authorization" not in response.request.headers
    # 09:30:00 exactly: the minute window has 60 s left.
    assert response.headers["cache-control"] == "public, max-age=60"
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
    await api.store.write([wait_point(CENTRE, NOW, wait=25.0, level="chargé")])
    same_minute = (await api.client.get(WAITS)).json()
    assert same_minute == first
    api.clock.advance(60)
    next_minute = (await api.client.get(WAITS)).json()
    assert next_minute["items"][0]["wait"]["level"] == "chargé"
    assert api.app.state.public_cache.computed == 2


async def test_an_old_wait_is_stale_and_its_level_unknown(api: Api) -> None:
    api.clock.advance(6 * 60)  # last estimate 8 minutes old: the job stopped
    wait = (await api.client.get(WAITS)).json()["items"][0]["wait"]
    assert wait["stale"] is True
    assert wait["level"] == "inconnu"
    assert wait["observed_at"] == "2026-11-02T09:28:00Z"
    assert wait["wait_min"] == 14.0  # the last figures stay, flagged


async def test_a_wait_flagged_stale_by_the_model_is_stale(api: Api) -> None:
    await api.store.write(
        [wait_point(CENTRE, NOW, wait=3.0, level="fluide", queue=None, stale=True)]
    )
    wait = (await api.client.get(WAITS)).json()["items"][0]["wait"]
    assert (wait["stale"], wait["level"]) == (True, "inconnu")


async def test_a_closed_centre_says_so_with_its_next_opening(api: Api) -> None:
    await api.store.write([wait_point(CENTRE, NOW, wait=0.0, level="fermé", queue=None)])
    centre = (await api.client.get(WAITS)).json()["items"][0]
    assert (centre["wait"]["level"], centre["wait"]["open"]) == ("fermé", False)
    assert centre["next_opening"] == "2026-11-02T14:00:00+01:00"


async def test_centres_are_paged_with_a_next_link(api: Api) -> None:
    await api.store.write(
        [wait_point(f"centre-{i}", NOW, wait=5.0, level="fluide") for i in range(3)]
    )
    first = await api.client.get(WAITS, params={"limit": 2})
    body = first.json()
    assert [c["id"] for c in body["items"]] == ["centre-0", "centre-1"]
    assert first.headers["link"] == f'<{body["next"]}>; rel="next"'
    second = (await api.client.get(body["next"])).json()
    assert [c["id"] for c in second["items"]] == ["centre-2", CENTRE]
    assert second["next"] is None
    # A centre known only from the store has its id as name and no position.
    assert second["items"][0]["name"] == "centre-2"
    assert second["items"][0]["latitude"] is None


async def test_bad_paging_is_a_problem_naming_the_parameter(api: Api) -> None:
    response = await api.client.get(WAITS, params={"limit": 100_000})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "limit" in response.json()["detail"]
    response = await api.client.get(WAITS, params={"cursor": "nonsense"})
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


async def test_a_centre_has_its_forecast_and_best_time(api: Api) -> None:
    response = await api.client.get(f"{WAITS}/{CENTRE}")
    assert response.status_code == 200
    body = response.json()
    assert body["wait"]["level"] == "modéré"
    slots = body["forecast"]
    assert slots[0]["start"] == "2026-11-02T09:30:00Z"
    assert [s["wait_min"] for s in slots] == [14.0, 18.0, 25.0, 9.0, 4.0, 6.0, 12.0]
    assert [s["level"] for s in slots[:3]] == ["modéré", "modéré", "chargé"]
    assert body["best_time"] == {
        "start": "2026-11-02T10:30:00Z",
        "wait_min": 4.0,
        "level": "fluide",
    }
    assert response.headers["cache-control"].startswith("public, max-age=")


async def test_an_unknown_centre_is_a_404_problem(api: Api) -> None:
    response = await api.client.get(f"{WAITS}/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "nowhere" in response.json()["detail"]
    response = await api.client.get(f"{WAITS}/Not%20An%20Id")
    assert response.status_code == 422


async def test_traffic_is_geojson_longitude_first_with_seven_decimals(api: Api) -> None:
    response = await api.client.get(f"{API_PREFIX}/traffic")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    by_lane = {f["properties"]["lane"]: f for f in body["features"]}
    assert set(by_lane) == {"1", "2"}
    lane = by_lane["2"]
    assert lane["type"] == "Feature"
    assert lane["id"] == f"{LOOPS_GATEWAY}/loops/2"
    assert lane["geometry"] == {"type": "Point", "coordinates": [5.9287123, 49.4689123]}
    props = lane["properties"]
    assert props["level"] == "congested"
    assert (props["flow_vph"], props["occupancy_pct"], props["speed_kmh"]) == (960.0, 36.0, 17.0)
    assert props["segment"] == "D16 sud"
    assert props["observed_at"] == "2026-11-02T09:29:10Z"
    assert (props["age_s"], props["stale"], props["interval_s"]) == (50, False, 60)
    assert response.headers["cache-control"].startswith("public, max-age=")


async def test_a_silent_station_turns_unknown_after_three_intervals(api: Api) -> None:
    api.clock.advance(3 * 60)
    features = (await api.client.get(f"{API_PREFIX}/traffic")).json()["features"]
    assert {f["properties"]["level"] for f in features} == {"unknown"}
    assert all(f["properties"]["stale"] for f in features)
    assert features[0]["properties"]["flow_vph"] is not None


async def test_traffic_is_cached_for_one_station_interval(api: Api) -> None:
    first = await api.client.get(f"{API_PREFIX}/traffic")
    again = await api.client.get(
        f"{API_PREFIX}/traffic", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    await api.store.write(lane_points(NOW + timedelta(seconds=10)))
    api.clock.advance(60)
    fresh = await api.client.get(
        f"{API_PREFIX}/traffic", headers={"If-None-Match": first.headers["etag"]}
    )
    assert fresh.status_code == 200
    assert json.loads(fresh.content)["features"][0]["properties"]["age_s"] == 50


async def test_too_many_requests_get_429_with_retry_after(tmp_path: Path) -> None:
    settings = ApiSettings(public_get_per_s=0.5, public_get_burst=3)
    async with open_api(tmp_path, settings=settings) as api:
        await seed_residents(api.sessions, api.store)
        statuses = [(await api.client.get(WAITS)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await api.client.get(f"{API_PREFIX}/traffic")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["content-type"] == "application/problem+json"
        other = api.client_at("192.0.2.7")
        async with other:
            assert (await other.get(WAITS)).status_code == 200
