"""The published waste-centre wait against the simulator's queueing model, through a real store.

The demo scenario's waste centre (``vil-dech``) runs in the simulator's event model for seven
simulated days with a fixed seed; its :class:`GateControllerState` is sampled every poll (60 s,
as the backfill does, not through Modbus) and written as ``waste_centre`` points into the store
(the embedded SQLite store and a real InfluxDB, each test on both). The residents' ``backfill``
job then reads them back and writes ``waste_wait``; each published minute is compared with the
true wait of the first vehicle that arrived after it (``WasteCentreModel.true_wait_at``).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import Conflict
from cloud.registry import upgrade
from cloud.registry.models_waste import WasteCentre
from cloud.registry.traffic_stations import add_traffic_lane, list_traffic_lanes
from cloud.registry.waste_centres import WasteCentreSpec, add_waste_centre, get_waste_centre
from cloud.residents.api import best_times, current_wait, current_waits, forecast
from cloud.residents.jobs import SETTINGS, backfill, run_forecasts
from cloud.residents.wait import CentreView, Level, WaitEstimate, level_of
from cloud.residents.waste_jobs import estimate_now, run_waits
from cloud.scheduler import JobContext
from cloud.store import InfluxSettings, SqliteSettings, SqliteStore, StoreSettings, open_store
from cloud.store.base import TimeSeriesStore
from cloud.store.points import Point, point_from_reading
from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import Reading
from simulators.backfill import backfill as sim_backfill
from simulators.scenario import WasteCentreSpec as SimSpec
from simulators.scenario import load_scenario
from simulators.state import GateControllerState
from simulators.territory.build import waste_config
from simulators.territory.waste import WasteCentreModel
from tests.integration.test_registry_db import clean_sessions, registry_engine
from tests.support.cloud_parts import sqlite_registry

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAYS = 7
POLL_S = 60
SEED = 20261129


def _row(spec: SimSpec) -> WasteCentre:
    """The registry row :func:`register` would store, without a database."""
    return WasteCentre(
        id="vil-dech",
        name="Déchetterie de Villerupt",
        commune="villerupt",
        latitude=49.4612,
        longitude=5.9195,
        timezone="Europe/Paris",
        device_id=None,
        capacity=spec.bays,
        has_queue_detector=True,
        poll_interval_s=POLL_S,
        opening_hours=dict(spec.opening_hours),
        closed_dates=[d.isoformat() for d in spec.closed_dates],
        wait_low_min=None,
        wait_high_min=None,
    )


def demo_centre() -> SimSpec:
    gateway = next(g for g in load_scenario("demo").gateways if g.id == "vil-dech")
    assert gateway.waste_centre is not None
    return gateway.waste_centre


@pytest.fixture(params=["sqlite", "influxdb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    """Both backends: the embedded SQLite store and a real InfluxDB."""
    if request.param == "sqlite":
        settings = StoreSettings(
            sqlite=SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None)
        )
    else:
        server = request.getfixturevalue("influxdb")
        database = f"residents_{uuid.uuid4().hex[:12]}"
        settings = StoreSettings(influxdb=InfluxSettings(url=server.url, database=database))
    opened = await open_store(settings)
    yield opened
    await opened.close()


async def simulate(store: TimeSeriesStore, spec: SimSpec) -> WasteCentreModel:
    """Seven days of the centre, its gate controller written to ``store`` every poll."""
    state = GateControllerState()
    model = WasteCentreModel(
        "vil-dech", waste_config(spec), state, ZoneInfo("Europe/Paris"), random.Random(SEED)
    )
    model.start(START)
    tags = {"gateway": "vil-dech", "device": "gate", "commune": "villerupt"}
    points: list[Point] = []
    moment = START
    for _ in range(DAYS * 86_400 // POLL_S):
        following = moment + timedelta(seconds=POLL_S)
        model.advance(moment, following)
        fields = {
            "entries": state.entries,
            "exits": state.exits,
            "queue_count": state.queue_count,
            "queue_occupancy_pct": state.queue_occupancy_pct,
            "barrier_open": state.barrier_open,
            "capacity": state.capacity,
        }
        points.append(Point("waste_centre", tags, fields, to_epoch_ms(following)))
        moment = following
    await store.write(points)
    return model


def register(tmp_path: Path, store: TimeSeriesStore, spec: SimSpec) -> JobContext:
    sessions = sqlite_registry(tmp_path)
    with sessions.begin() as session:
        add_waste_centre(
            session,
            WasteCentreSpec(
                centre_id="vil-dech",
                name="Déchetterie de Villerupt",
                commune="villerupt",
                latitude=49.4612,
                longitude=5.9195,
                capacity=spec.bays,
                opening_hours=dict(spec.opening_hours),
                closed_dates=tuple(d.isoformat() for d in spec.closed_dates),
                poll_interval_s=POLL_S,
            ),
        )
    return JobContext(sessions=sessions, store=store, clock=ManualClock(START))


async def published(
    store: TimeSeriesStore,
    field: str,
    start: datetime = START,
    end: datetime = START + timedelta(days=DAYS),
) -> dict[int, object]:
    series = await store.aggregate(
        "waste_wait",
        field,
        start_ms=to_epoch_ms(start),
        end_ms=to_epoch_ms(end),
        every_ms=60_000,
        fn="last",
        where={"site": "vil-dech"},
        group_by=(),
    )
    return {w.start_ms: w.value for s in series for w in s.windows}


async def agreement(store: TimeSeriesStore, model: WasteCentreModel) -> tuple[float, float, int]:
    """(share of open minutes whose level matches the true wait's, share whose range holds it,
    minutes compared)."""
    levels = await published(store, "level")
    lows = await published(store, "wait_low_min")
    highs = await published(store, "wait_high_min")
    matched = covered = compared = 0
    for time_ms, level in levels.items():
        if level in ("fermé", "inconnu"):
            continue
        true_s = model.true_wait_at(datetime.fromtimestamp(time_ms / 1000, UTC))
        if true_s is None:
            continue
        true_min = true_s / 60.0
        compared += 1
        matched += level == level_of(true_min, 10.0, 20.0)
        low, high = lows[time_ms], highs[time_ms]
        assert isinstance(low, float)
        assert isinstance(high, float)
        covered += low <= true_min <= high
    return matched / compared, covered / compared, compared


@pytest.mark.parametrize(
    ("store", "arrivals_per_hour"),
    [("sqlite", None), ("sqlite", 35.0), ("influxdb", 35.0)],
    ids=["demo-sqlite", "busy-sqlite", "busy-influxdb"],
    indirect=["store"],
)
async def test_published_wait_matches_the_queueing_model(
    tmp_path: Path, store: TimeSeriesStore, arrivals_per_hour: float | None
) -> None:
    spec = demo_centre()
    if arrivals_per_hour is not None:
        spec = spec.model_copy(update={"arrivals_per_hour": arrivals_per_hour})
    model = await simulate(store, spec)
    context = register(tmp_path, store, spec)
    await backfill(context, START, START + timedelta(days=DAYS))

    level_share, range_share, compared = await agreement(store, model)
    print(
        f"\n{arrivals_per_hour or spec.arrivals_per_hour} vehicles/h, {compared} open minutes: "
        f"level matches {level_share:.3f}, range holds the true wait {range_share:.3f}"
    )
    assert compared > 1500  # about 38 h open a week, minus minutes nobody came
    assert level_share >= 0.90
    assert range_share >= 0.80
    if arrivals_per_hour is not None:
        waits = [w for _, w in model.waits]
        assert max(waits) > 20 * 60  # the busy variant really reaches "chargé"


# Edge cases, through the store: a Tuesday (09:00-12:00 and 14:00-18:00 local, UTC+1).
TUESDAY_OPENING = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
Sample = tuple[int, int, int, int | None]  # (minutes after opening, entries, exits, queue)


async def gate_samples(store: TimeSeriesStore, samples: list[Sample]) -> None:
    tags = {"gateway": "vil-dech", "device": "gate", "commune": "villerupt"}
    points = []
    for minute, entries, exits, queue in samples:
        fields: dict[str, int | float | bool] = {"entries": entries, "exits": exits}
        if queue is not None:
            fields["queue_count"] = queue
        at = TUESDAY_OPENING + timedelta(minutes=minute)
        points.append(Point("waste_centre", tags, fields, to_epoch_ms(at)))
    await store.write(points)


async def estimate_at(
    tmp_path: Path, store: TimeSeriesStore, minutes_after_opening: float
) -> WaitEstimate:
    context = register(tmp_path, store, demo_centre())
    with context.sessions() as session:
        centre = CentreView.of(get_waste_centre(session, "vil-dech"), SETTINGS)
    at = TUESDAY_OPENING + timedelta(minutes=minutes_after_opening)
    return await estimate_now(store, centre, SETTINGS, at)


def steady(first: int, last: int, base: int, queue: int | None = 0) -> list[Sample]:
    """One vehicle in and one out every minute: the site keeps what it had."""
    return [(m, base + m, base + m - 5, queue) for m in range(first, last)]


async def test_a_counter_reset_mid_day_keeps_the_vehicles_on_site(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    before = [(m, 1000, 1000, 0) for m in range(-10, 1)]  # closed: nothing moves
    filling = [(m, 1000 + m, 1000, 0) for m in range(1, 4)]  # three in, nobody out
    # the controller restarts during minute 4: its counters start again from 0
    after = [(m, m - 3, 0, 0) for m in range(4, 7)]  # one in per minute, nobody out
    await gate_samples(store, before + filling + after)
    estimate = await estimate_at(tmp_path, store, 7)
    # a drop is read as a restart from 0, so the vehicle counted since the restart is kept:
    # 3 before, 1 in the reset minute, 2 after (a wrap reading would give 8, the full site)
    assert estimate.on_site == 6
    assert estimate.open
    assert not estimate.stale


async def test_counters_that_wrap_at_2_32_keep_counting(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    top = 2**32 - 2
    samples: list[Sample] = [(m, (top + max(m, 0)) % 2**32, top - 3, 0) for m in range(-5, 4)]
    await gate_samples(store, samples)
    estimate = await estimate_at(tmp_path, store, 4)
    assert estimate.on_site == 3  # entries went 2^32-2 → 1 across the wrap: 3 since opening


async def test_stale_gate_readings_publish_inconnu_with_their_time(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    await gate_samples(store, steady(-5, 30, 100))
    estimate = await estimate_at(tmp_path, store, 33.5)  # newest reading 4.5 min old > 3 polls
    assert estimate.stale
    assert estimate.open
    assert estimate.level is Level.INCONNU
    assert estimate.observed_at == TUESDAY_OPENING + timedelta(minutes=29)
    fresh = await estimate_at_again(store, 31)
    assert not fresh.stale
    assert fresh.level is Level.FLUIDE


async def estimate_at_again(store: TimeSeriesStore, minutes_after_opening: float) -> WaitEstimate:
    centre = CentreView.of(_row(demo_centre()), SETTINGS)
    at = TUESDAY_OPENING + timedelta(minutes=minutes_after_opening)
    return await estimate_now(store, centre, SETTINGS, at)


async def test_a_silent_queue_detector_leaves_only_a_state(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    full = [(m, 100 + m, 100, 3) for m in range(-5, 9)]  # eight in by minute 8, queue of 3
    silent = [(m, 108, 100, None) for m in range(9, 20)]  # the queue register stops answering
    await gate_samples(store, full + silent)
    with_queue = await estimate_at(tmp_path, store, 9)
    assert with_queue.queue == 3
    assert with_queue.wait_min is not None
    without = await estimate_at_again(store, 19)
    assert not without.stale
    assert without.queue is None
    assert without.wait_min is None
    assert without.level is Level.COMPLET  # 8 on site, 8 bays


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        (datetime(2026, 11, 8, 15, 0, tzinfo=ZoneInfo("Europe/Paris")), "Sunday afternoon"),
        (datetime(2026, 12, 25, 10, 0, tzinfo=ZoneInfo("Europe/Paris")), "Christmas"),
        (datetime(2026, 11, 3, 13, 0, tzinfo=ZoneInfo("Europe/Paris")), "lunch break"),
    ],
)
async def test_closed_times_publish_ferme(
    store: TimeSeriesStore, moment: datetime, why: str
) -> None:
    tags = {"gateway": "vil-dech", "device": "gate", "commune": "villerupt"}
    readings = [
        Point("waste_centre", tags, {"entries": 5, "exits": 5, "queue_count": 0}, ms)
        for ms in range(to_epoch_ms(moment) - 300_000, to_epoch_ms(moment), 60_000)
    ]
    await store.write(readings)
    estimate = await estimate_now(
        store, CentreView.of(_row(demo_centre()), SETTINGS), SETTINGS, moment
    )
    assert not estimate.open, why
    assert estimate.level is Level.FERME
    assert not estimate.stale


async def test_vehicles_left_after_closing_are_flagged_as_drift(store: TimeSeriesStore) -> None:
    # morning period 09:00-12:00: 10 in, 8 out, then nothing until 13:00
    closing = TUESDAY_OPENING + timedelta(hours=3)
    samples: list[Sample] = [(m, 10 if m > 0 else 0, 8 if m > 60 else 0, 0) for m in range(-5, 240)]
    await gate_samples(store, samples)
    centre = CentreView.of(_row(demo_centre()), SETTINGS)
    early = await estimate_now(store, centre, SETTINGS, closing + timedelta(minutes=30))
    assert early.drift is None  # vehicles may still be leaving
    late = await estimate_now(store, centre, SETTINGS, closing + timedelta(minutes=60))
    assert late.level is Level.FERME
    assert late.drift == 2


async def test_forecast_and_current_wait_from_a_week_of_history(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    spec = demo_centre().model_copy(update={"arrivals_per_hour": 35.0})
    await simulate(store, spec)
    context = register(tmp_path, store, spec)
    end = START + timedelta(days=DAYS)  # Monday 2026-11-09 00:00 UTC
    await backfill(context, START, end)

    [closed] = await current_waits(store, context.sessions, end)  # Monday 01:00 local
    assert closed.level is Level.FERME
    assert not closed.stale
    # the newest point is 23:59 UTC, estimated from the readings before it: 23:58
    assert closed.observed_at == end - timedelta(minutes=2)

    now = end + timedelta(hours=13, minutes=50)  # Monday 14:50 local: open since 14:00
    await run_waits(store, context.sessions, SETTINGS, now)
    await run_forecasts(replace(context, clock=ManualClock(now)))
    [current] = await current_waits(store, context.sessions, now)
    assert current.site == "vil-dech"
    assert current.open
    assert current.level is Level.INCONNU  # no gate reading after the simulated week: stale
    assert current.stale

    slots = await forecast(store, "vil-dech", now, hours=6)
    assert [s.start for s in slots] == [
        now + timedelta(minutes=10 + 15 * i) for i in range(24)
    ]  # 15:00 local to 20:45 local
    local = [s.start.astimezone(ZoneInfo("Europe/Paris")) for s in slots]
    for slot, moment in zip(slots, local, strict=True):
        if moment.hour >= 18:
            assert slot.level is Level.FERME
        else:
            assert slot.wait_min is not None, moment
            assert slot.level in (Level.FLUIDE, Level.MODERE, Level.CHARGE)
    best = await best_times(store, "vil-dech", now, hours=6)
    assert len(best) == 3
    assert [b.wait_min for b in best] == sorted(b.wait_min or 0.0 for b in best)
    assert best[0].wait_min == min(s.wait_min for s in slots if s.wait_min is not None)
    assert await current_wait(store, context.sessions, "no-such-centre", now) is None


async def test_the_live_job_with_fast_polls_is_fresh_and_stamps_the_minute(
    tmp_path: Path, store: TimeSeriesStore
) -> None:
    tags = {"gateway": "vil-dech", "device": "gate", "commune": "villerupt"}
    points = [
        Point(
            "waste_centre",
            tags,
            {"entries": 100 + max(0, s // 60), "exits": 100, "queue_count": 0},
            to_epoch_ms(TUESDAY_OPENING) + s * 1000,
        )
        for s in range(-300, 600, 5)  # every 5 s, one vehicle in per minute from the opening
    ]
    await store.write(points)
    sessions = sqlite_registry(tmp_path)
    with sessions.begin() as session:
        add_waste_centre(
            session,
            WasteCentreSpec(
                centre_id="vil-dech", name="Déchetterie", commune="villerupt",
                latitude=49.46, longitude=5.92, capacity=20,
                opening_hours={"tue": ["09:00-12:00"]}, poll_interval_s=5,
            ),
        )  # fmt: skip
    now = TUESDAY_OPENING + timedelta(seconds=595 + 3)  # 3 s after the newest reading
    [estimate] = await run_waits(store, sessions, SETTINGS, now)
    assert not estimate.stale
    assert estimate.observed_at == TUESDAY_OPENING + timedelta(seconds=595)
    assert estimate.on_site == 9  # minutes 1..9 (the opening minute's count is the baseline)
    assert estimate.queue == 0
    assert estimate.wait_min == 0.0
    [row] = await store.latest("waste_wait", group_by=("site",))
    assert row.time_ms == to_epoch_ms(TUESDAY_OPENING + timedelta(minutes=9))
    later = await run_waits(store, sessions, SETTINGS, now + timedelta(seconds=16))
    assert later[0].stale  # 19 s without a reading: more than 3 polls of 5 s


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    for engine in registry_engine(request, tmp_path):
        upgrade(engine)
        yield from clean_sessions(engine)


def test_waste_centres_and_lanes_round_trip_on_both_registries(
    registry: sessionmaker[Session],
) -> None:
    line = {"type": "LineString", "coordinates": [[5.9289, 49.4683], [5.93, 49.469]]}
    with registry.begin() as session:
        add_waste_centre(
            session,
            WasteCentreSpec(
                centre_id="vil-dech", name="Déchetterie de Villerupt", commune="villerupt",
                latitude=49.4612, longitude=5.9195, capacity=8, has_queue_detector=False,
                opening_hours={"sat": ["09:00-18:00"], "tue": [["14:00", "18:00"], "09:00-12:00"]},
                closed_dates=("2026-12-25", "2026-12-25", "2027-01-01"), wait_low_min=8.0,
                wait_high_min=15.0,
            ),
        )  # fmt: skip
        add_traffic_lane(
            session, "vil-c001", "loops", 1, direction="in", segment="D16", geometry=line
        )
    with registry() as session:
        centre = get_waste_centre(session, "vil-dech")
        assert centre.opening_hours == {
            "tue": [["09:00", "12:00"], ["14:00", "18:00"]],
            "sat": [["09:00", "18:00"]],
        }
        assert centre.closed_dates == ["2026-12-25", "2027-01-01"]
        assert not centre.has_queue_detector
        view = CentreView.of(centre, SETTINGS)
        assert (view.wait_low_min, view.wait_high_min) == (8.0, 15.0)
        [lane] = list_traffic_lanes(session)
        assert lane.geometry == line
    with registry.begin() as session, pytest.raises(Conflict):
        add_traffic_lane(
            session, "vil-c001", "loops", 1, direction="in", segment="D16", geometry=line
        )


async def test_history_from_eclor_sim_backfill_gives_waits_forecast_and_traffic(
    tmp_path: Path,
) -> None:
    """``eclor sim backfill``'s readings (the demo, 2 days), stored as the ingest stores them,
    then the residents' backfill: every minute has a published wait, the forecast has slots."""
    end = datetime(2026, 11, 10, tzinfo=UTC)  # Tuesday 01:00 local
    history = tmp_path / "history.jsonl"
    sim_backfill(load_scenario("demo"), end, 2, history)
    decoder = msgspec.json.Decoder(Reading)
    wanted = ("waste_centre", "traffic")
    readings = [decoder.decode(line) for line in history.read_bytes().splitlines()]
    points = [point_from_reading(r, r.tags["gateway"]) for r in readings if r.measurement in wanted]
    store = await SqliteStore.open(SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None))
    try:
        await store.write(points)
        context = register(tmp_path, store, demo_centre())
        with context.sessions.begin() as session:
            add_traffic_lane(
                session, "vil-c001", "loops", 1, direction="in", segment="D16",
                geometry={"type": "Point", "coordinates": [5.9289, 49.4683]},
            )  # fmt: skip
        start = end - timedelta(days=2)
        await backfill(replace(context, clock=ManualClock(end)), start, end)

        levels = await published(store, "level", start, end)
        assert len(levels) == 2 * 1440  # one point a minute
        assert {"fermé", "fluide"} <= set(map(str, levels.values()))
        days = await store.aggregate(
            "waste_attendance", "vehicles", start_ms=to_epoch_ms(start - timedelta(hours=1)),
            end_ms=to_epoch_ms(end), every_ms=3_600_000, fn="last", group_by=("site",),
        )  # fmt: skip
        per_day = [w.value for series in days for w in series.windows]
        assert len(per_day) == 3  # Sunday, Monday and the first hour of Tuesday
        assert all(isinstance(v, int) and v > 0 for v in per_day[:2])  # open days had visitors
        assert per_day[2] == 0  # Tuesday opens at 09:00
        noon = end + timedelta(hours=12)  # Tuesday 13:00 local
        await run_forecasts(replace(context, clock=ManualClock(noon)))
        slots = await forecast(store, "vil-dech", noon, hours=6)
        local = {s.start.astimezone(ZoneInfo("Europe/Paris")).hour: s for s in slots}
        assert local[13].level is Level.FERME
        assert local[15].wait_min is not None  # Tuesday 14:00-18:00: Monday's weekday profile
        assert local[18].level is Level.FERME
        traffic = await store.latest("traffic_level", group_by=("gateway", "lane"))
        assert [(r.tags["gateway"], r.tags["lane"]) for r in traffic] == [("vil-c001", "1")]
    finally:
        await store.close()


async def test_an_invalid_registry_row_is_skipped_not_fatal(
    tmp_path: Path, store: TimeSeriesStore, caplog: pytest.LogCaptureFixture
) -> None:
    context = register(tmp_path, store, demo_centre())
    with context.sessions.begin() as session:  # written around add_waste_centre's checks
        broken = _row(demo_centre())
        broken.id = "broken"
        broken.opening_hours = {"lundi": [["09:00", "12:00"]]}
        session.add(broken)
    estimates = await run_waits(store, context.sessions, SETTINGS, TUESDAY_OPENING)
    assert [e.site for e in estimates] == ["vil-dech"]
    assert "waste centre broken skipped" in caplog.text
    assert "unknown weekday 'lundi'" in caplog.text
