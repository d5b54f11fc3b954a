"""History export (issue 7, item 7): CSV streamed from the real embedded store, one UTC day per
store query, through the operator API with real tokens."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloud.api import API_PREFIX
from cloud.public.history import WASTE_EXPORT, Period, csv_chunks, traffic_export
from cloud.store import Point
from eclor.clock import to_epoch_ms
from tests.integration.test_api_harness import Api, open_api

pytestmark = pytest.mark.integration

START = datetime(2026, 10, 30, 22, 0, tzinfo=UTC)
HOURS = 50
"""Minute readings from Friday 22:00 to Sunday 24:00 UTC: three UTC days, two boundaries."""
TRAFFIC = f"{API_PREFIX}/export/traffic.csv"
WASTE = f"{API_PREFIX}/export/waste-centres.csv"


def traffic_points() -> list[Point]:
    """Two stations; lane 1 of ``vil-c002`` counts 3 vehicles a minute and rolls over at 65536."""
    points = []
    for minute in range(HOURS * 60):
        at = to_epoch_ms(START + timedelta(minutes=minute))
        count = (65_000 + 3 * minute) % 65_536
        for gateway in ("vil-c002", "thi-c001"):
            fields: dict[str, int | float] = {
                "lane_count": 2,
                "interval_s": 60,
                "lane1_vehicle_count": count,
                "lane1_occupancy_pct": 10.0 if minute % 2 else 20.0,
                "lane2_vehicle_count": minute,
                "lane2_occupancy_pct": 40.0,
            }
            if gateway == "vil-c002":
                fields["lane1_speed_kmh"] = 50.0
            points.append(Point("traffic", {"gateway": gateway, "device": "loops"}, fields, at))
    return points


def waste_points() -> list[Point]:
    """Gate counters near 2^32 that roll over; a published wait every minute."""
    points = []
    for minute in range(HOURS * 60):
        at = to_epoch_ms(START + timedelta(minutes=minute))
        tags = {"gateway": "vil-dech", "device": "gate", "site": "vil-dech", "commune": "x"}
        entries = (2**32 - 100 + 2 * minute) % 2**32
        fields = {"entries": entries, "exits": minute, "queue_count": minute % 7, "capacity": 8}
        points.append(Point("waste_centre", tags, fields, at))
        derived = {"wait_min": 12.0, "level": "modéré" if minute < 60 else "fluide"}
        points.append(Point("waste_wait", {"site": "vil-dech", "commune": "x"}, derived, at))
    return points


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        await api.store.write(traffic_points())
        await api.store.write(waste_points())
        yield api


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_traffic_rows_per_window_and_lane_across_days(api: Api) -> None:
    params = {"from": "2026-10-30T22:00:00Z", "to": "2026-11-01T00:00:00Z", "step": 3600}
    response = await api.client.get(TRAFFIC, params=params, headers=api.auth("technician"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response.text)
    assert list(rows[0]) == [
        "window_start_utc", "gateway", "device", "lane", "vehicles", "occupancy_pct", "speed_kmh",
    ]  # fmt: skip
    assert len(rows) == 26 * 2 * 2  # 26 hours, two stations, two lanes; no window twice
    keys = [(r["window_start_utc"], r["gateway"], r["lane"]) for r in rows]
    assert keys == sorted(set(keys))
    midnight = [r for r in rows if r["window_start_utc"] == "2026-10-31T00:00:00Z"]
    lane1 = next(r for r in midnight if r["gateway"] == "vil-c002" and r["lane"] == "1")
    # 60 minutes of 3 vehicles; the roll-over at 65536 (after ~179 min) is not a reset.
    assert lane1["vehicles"] == "180"
    assert lane1["occupancy_pct"] == "15.0"
    assert lane1["speed_kmh"] == "50.0"
    other = next(r for r in midnight if r["gateway"] == "thi-c001" and r["lane"] == "1")
    assert other["speed_kmh"] == ""  # single loops: no data, not zero
    assert [r["vehicles"] for r in rows if r["gateway"] == "vil-c002" and r["lane"] == "1"][1:] == [
        "180"
    ] * 25


async def test_traffic_of_one_gateway(api: Api) -> None:
    params = {"from": "2026-10-31T10:00:00Z", "to": "2026-10-31T10:30:00Z", "gateway": "thi-c001"}
    response = await api.client.get(TRAFFIC, params=params, headers=api.auth("energy-manager"))
    rows = rows_of(response.text)
    assert {r["gateway"] for r in rows} == {"thi-c001"}
    assert [r["window_start_utc"] for r in rows if r["lane"] == "2"] == [
        "2026-10-31T10:00:00Z",
        "2026-10-31T10:15:00Z",
    ]
    assert rows[1]["vehicles"] == "15"  # lane 2 grows by 1 a minute: 15 per 15-minute window


async def test_waste_centre_rows_join_gate_counters_and_published_waits(api: Api) -> None:
    params = {"from": "2026-10-30T22:00:00Z", "to": "2026-10-31T00:00:00Z", "step": 3600}
    response = await api.client.get(WASTE, params=params, headers=api.auth("admin"))
    assert response.status_code == 200
    rows = rows_of(response.text)
    assert list(rows[0]) == [
        "window_start_utc", "site", "entries", "exits", "queue_max", "queue_occupancy_pct",
        "wait_min", "level",
    ]  # fmt: skip
    assert [r["window_start_utc"] for r in rows] == [
        "2026-10-30T22:00:00Z",
        "2026-10-30T23:00:00Z",
    ]
    first, second = rows
    assert first["site"] == "vil-dech"
    assert first["entries"] == "118"  # 59 steps of 2 inside the first hour, across 2^32
    assert second["entries"] == "120"
    assert (second["exits"], second["queue_max"], second["queue_occupancy_pct"]) == ("60", "6", "")
    assert (first["wait_min"], first["level"], second["level"]) == ("12.0", "modéré", "fluide")


async def test_the_store_is_read_one_utc_day_at_a_time(api: Api) -> None:
    period = Period.of(START, START + timedelta(hours=HOURS), 900)
    saturday = to_epoch_ms(datetime(2026, 10, 31, tzinfo=UTC))
    sunday = to_epoch_ms(datetime(2026, 11, 1, tzinfo=UTC))
    assert period.chunks()[:2] == [(to_epoch_ms(START), saturday), (saturday, sunday)]
    pieces = [piece async for piece in csv_chunks(api.store, traffic_export(2), period, None)]
    assert len(pieces) == 1 + 3  # the header, then one piece per UTC day holding data
    assert pieces[1].decode().splitlines()[-1].startswith("2026-10-30T23:45:00Z")
    assert pieces[2].decode().startswith("2026-10-31T00:00:00Z")
    waste = [p async for p in csv_chunks(api.store, WASTE_EXPORT, period, "nowhere")]
    assert waste == [waste[0]]  # header only for a gateway without data


async def test_export_needs_an_operator_token(api: Api) -> None:
    params = {"from": "2026-10-31T00:00:00Z", "to": "2026-10-31T01:00:00Z"}
    assert (await api.client.get(TRAFFIC, params=params)).status_code == 401
    refused = await api.client.get(WASTE, params=params, headers=api.auth("public"))
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": "2026-10-31T02:00:00Z", "to": "2026-10-31T01:00:00Z"}, "to"),
        ({"from": "2026-10-31T00:00:00", "to": "2026-10-31T01:00:00Z"}, "from"),
        ({"from": "2026-10-31T00:00:00Z", "to": "2026-10-31T01:00:00Z", "step": 7}, "step"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-10-31T01:00:00Z"}, "to"),
        ({"from": "yesterday", "to": "2026-10-31T01:00:00Z"}, "from"),
        ({"to": "2026-10-31T01:00:00Z"}, "from"),
        ({"from": "2026-10-31T00:00:00Z", "to": "2026-10-31T01:00Z", "gateway": "A B"}, "gateway"),
    ],
)  # fmt: skip
async def test_a_bad_period_is_a_problem_naming_the_parameter(
    api: Api, params: dict[str, str | int], named: str
) -> None:
    response = await api.client.get(TRAFFIC, params=params, headers=api.auth("technician"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert named in problem["detail"] or any(e["loc"][-1] == named for e in problem["errors"])
