"""Traffic levels per lane from loop-station readings in a real store.

The demo's double-loop station (``vil-c001/loops``) runs in the simulator's traffic model over a
weekday morning peak, sampled every interval (not through Modbus) into the store (SQLite, InfluxDB);
the residents' backfill and job turn it into ``traffic_level``. A synthetic single-loop station
with one lane per occupancy band checks the DATEX II states, and staleness.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.registry.traffic_stations import add_traffic_lane
from cloud.residents.api import traffic_levels
from cloud.residents.jobs import backfill, run_traffic
from cloud.residents.traffic import TrafficState
from cloud.scheduler import JobContext
from cloud.store import InfluxSettings, SqliteSettings, StoreSettings, open_store
from cloud.store.base import TimeSeriesStore
from cloud.store.points import FieldValue, Point
from eclor.clock import ManualClock, to_epoch_ms
from simulators.scenario import load_scenario
from simulators.state import LoopStationState
from simulators.territory.traffic import LaneConfig, LoopStationModel
from tests.support.cloud_parts import sqlite_registry

pytestmark = pytest.mark.integration

MORNING = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)  # Tuesday 06:00 local
LINE = {"type": "LineString", "coordinates": [[5.92891, 49.46831], [5.93102, 49.46902]]}


@pytest.fixture(params=["sqlite", "influxdb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    if request.param == "sqlite":
        settings = StoreSettings(
            sqlite=SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None)
        )
    else:
        server = request.getfixturevalue("influxdb")
        database = f"traffic_{uuid.uuid4().hex[:12]}"
        settings = StoreSettings(influxdb=InfluxSettings(url=server.url, database=database))
    opened = await open_store(settings)
    yield opened
    await opened.close()


def station_fields(state: LoopStationState) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {"lane_count": len(state.lanes), "interval_s": state.interval_s}
    for number, lane in enumerate(state.lanes, start=1):
        fields[f"lane{number}_vehicle_count"] = lane.vehicle_count % 65_536
        fields[f"lane{number}_interval_count"] = lane.interval_count
        fields[f"lane{number}_occupancy_pct"] = round(lane.occupancy_pct, 1)
        if lane.speed_kmh is not None:
            fields[f"lane{number}_speed_kmh"] = round(lane.speed_kmh, 1)
    return fields


async def simulate_demo_station(
    store: TimeSeriesStore, hours: int
) -> tuple[LoopStationModel, list[Point]]:
    gateway = next(g for g in load_scenario("demo").gateways if g.id == "vil-c001")
    spec = next(d for d in gateway.devices if d.id == "loops")
    lanes = [LaneConfig(x.peak_vph, x.profile, x.free_speed_kmh) for x in spec.lanes]  # type: ignore[attr-defined]
    state = LoopStationState(interval_s=60)
    model = LoopStationModel(
        "vil-c001/loops", lanes, state, ZoneInfo("Europe/Paris"), random.Random(5), True
    )
    tags = {"gateway": "vil-c001", "device": "loops"}
    points = []
    moment = MORNING
    for _ in range(hours * 60):
        following = moment + timedelta(seconds=60)
        model.advance(moment, following)
        points.append(Point("traffic", tags, station_fields(state), to_epoch_ms(following)))
        moment = following
    await store.write(points)
    return model, points


def register_lanes(sessions: sessionmaker[Session], rows: list[dict[str, Any]]) -> None:
    with sessions.begin() as session:
        for row in rows:
            add_traffic_lane(session, **row)


async def test_the_demo_station_gives_flow_speed_and_level_per_interval(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    model, readings = await simulate_demo_station(store, hours=3)
    sessions = sqlite_registry(tmp_path)
    register_lanes(
        sessions,
        [
            {
                "gateway_id": "vil-c001",
                "device_id": "loops",
                "lane": n,
                "direction": d,
                "segment": "D16 Villerupt",
                "geometry": LINE,
            }
            for n, d in ((1, "in"), (2, "out"))
        ],
    )
    end = MORNING + timedelta(hours=3, minutes=1)
    context = JobContext(sessions=sessions, store=store, clock=ManualClock(end))
    await backfill(context, MORNING, end)

    start_ms, end_ms = to_epoch_ms(MORNING), to_epoch_ms(end)
    for lane in ("1", "2"):
        where = {"gateway": "vil-c001", "lane": lane}
        flows = await store.aggregate(
            "traffic_level",
            "flow_vph",
            start_ms=start_ms,
            end_ms=end_ms,
            every_ms=60_000,
            fn="last",
            where=where,
            group_by=(),
        )
        published = {w.start_ms: w.value for s in flows for w in s.windows}
        assert len(published) == len(readings)
        for reading in readings:
            count = reading.fields[f"lane{lane}_interval_count"]
            assert isinstance(count, int)
            assert published[reading.time_ms] == pytest.approx(count * 60.0)
        peak_hour = MORNING + timedelta(hours=1, minutes=30)  # 07:30-08:30 local
        flows_then = [
            float(v)  # type: ignore[arg-type]
            for t, v in published.items()
            if to_epoch_ms(peak_hour) <= t < to_epoch_ms(peak_hour + timedelta(hours=1))
        ]
        mean = sum(flows_then) / len(flows_then)
        truth = [model.rate_vph(int(lane) - 1, peak_hour + timedelta(minutes=m)) for m in range(60)]
        expected = sum(truth) / len(truth)
        assert mean == pytest.approx(expected, rel=0.15)  # the model's own rate, ± Poisson noise
    speeds = await store.latest("traffic_level", fields=["speed_kmh", "level"], group_by=("lane",))
    for row in speeds:
        assert 20 < float(row.fields["speed_kmh"].value) < 60  # type: ignore[arg-type]
        assert row.fields["level"].value == TrafficState.FREE_FLOW  # occupancy stays under 15 %

    levels = await traffic_levels(store, sessions, end)
    assert [lv.lane.lane for lv in levels] == [1, 2]
    assert all(not lv.stale for lv in levels)
    assert levels[0].lane.geometry == LINE


async def test_occupancy_bands_give_datex_states_and_stale_stations_are_unknown(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    fields: dict[str, FieldValue] = {"lane_count": 4, "interval_s": 60}
    for number, occupancy in enumerate((10.0, 20.0, 40.0, 60.0), start=1):
        fields[f"lane{number}_interval_count"] = 10 * number
        fields[f"lane{number}_occupancy_pct"] = occupancy
    read_at = MORNING + timedelta(minutes=1)
    tags = {"gateway": "aud-c001", "device": "loops"}
    await store.write([Point("traffic", tags, fields, to_epoch_ms(read_at))])
    sessions = sqlite_registry(tmp_path)
    point = {"type": "Point", "coordinates": [5.9547, 49.4722]}
    register_lanes(
        sessions,
        [
            {
                "gateway_id": "aud-c001",
                "device_id": "loops",
                "lane": n,
                "direction": "north",
                "segment": "Rue de Russange",
                "geometry": point,
            }
            for n in range(1, 5)
        ],
    )
    fresh = await traffic_levels(store, sessions, read_at + timedelta(seconds=30))
    assert [lv.level for lv in fresh] == [
        TrafficState.FREE_FLOW,
        TrafficState.HEAVY,
        TrafficState.CONGESTED,
        TrafficState.IMPOSSIBLE,
    ]
    assert [lv.flow_vph for lv in fresh] == [600.0, 1200.0, 1800.0, 2400.0]
    assert all(lv.speed_kmh is None for lv in fresh)  # single loops measure no speed

    stale_at = read_at + timedelta(minutes=3, seconds=1)  # three intervals without a reading
    stale = await traffic_levels(store, sessions, stale_at)
    assert all(lv.stale for lv in stale)
    assert all(lv.level is TrafficState.UNKNOWN for lv in stale)
    assert all(lv.observed_at == read_at for lv in stale)
    context = JobContext(sessions=sessions, store=store, clock=ManualClock(stale_at))
    assert await run_traffic(context) == 0  # nothing new to publish for a stale station
    context = JobContext(sessions=sessions, store=store, clock=ManualClock(read_at))
    assert await run_traffic(context) == 4
