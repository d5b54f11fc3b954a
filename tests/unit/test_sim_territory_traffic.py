"""Traffic-loop stations of the territory twin: daily profile shape, intervals, occupancy, speed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from simulators.state import LoopStationState
from simulators.territory.traffic import LaneConfig, LoopStationModel, Profile

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = datetime(2026, 11, 25, tzinfo=PARIS)
SUNDAY = datetime(2026, 11, 29, tzinfo=PARIS)


def station(*, seed: int = 3, double_loop: bool = True, interval_s: int = 60) -> LoopStationModel:
    lanes = [LaneConfig(600.0, Profile.URBAN), LaneConfig(600.0, Profile.URBAN)]
    state = LoopStationState(interval_s=interval_s)
    return LoopStationModel("s", lanes, state, PARIS, random.Random(seed), double_loop)


def hourly_counts(model: LoopStationModel, day: datetime) -> list[int]:
    """Vehicles per local hour on both lanes, from the per-interval counts."""
    counts = [0] * 24
    now = day
    for minute in range(24 * 60):
        nxt = now + timedelta(minutes=1)
        model.advance(now, nxt)
        counts[minute // 60] += sum(lane.interval_count for lane in model.state.lanes)
        now = nxt
    return counts


def mean(values: list[int]) -> float:
    return sum(values) / len(values)


def test_weekday_has_a_morning_and_an_evening_peak() -> None:
    counts = hourly_counts(station(), WEDNESDAY)
    midday = mean(counts[12:14])
    assert counts[7] + counts[8] > 2 * 1.6 * midday  # morning peak around 08:00
    assert counts[17] > 1.6 * midday  # evening peak around 17:30
    assert mean(counts[2:4]) < 0.1 * counts[8]  # quiet night
    assert 1000 < counts[8] < 1400  # about 2 × 600 veh/h at the peak


def test_weekend_has_one_midday_hump_and_less_traffic() -> None:
    weekday = hourly_counts(station(), WEDNESDAY)
    sunday = hourly_counts(station(), SUNDAY)
    assert mean(sunday[12:14]) > 2 * sunday[8]
    assert sunday[8] < weekday[8] / 2
    assert sum(sunday) < 0.75 * sum(weekday)


def test_commuter_lanes_peak_in_opposite_directions() -> None:
    lanes = [LaneConfig(600.0, Profile.COMMUTER_IN), LaneConfig(600.0, Profile.COMMUTER_OUT)]
    model = LoopStationModel("s", lanes, LoopStationState(), PARIS, random.Random(1), False)
    morning = WEDNESDAY.replace(hour=8)
    assert model.rate_vph(0, morning) == pytest.approx(600.0, rel=0.01)
    assert model.rate_vph(0, morning) > 1.5 * model.rate_vph(1, morning)
    evening = WEDNESDAY.replace(hour=17, minute=30)
    assert model.rate_vph(1, evening) > 1.5 * model.rate_vph(0, evening)


def test_interval_statistics_follow_flow_length_and_speed() -> None:
    model = station()
    start = WEDNESDAY.replace(hour=8)
    model.advance(start - timedelta(minutes=1), start)  # align on an interval
    counted_before = [lane.vehicle_count for lane in model.state.lanes]
    totals = [0, 0]
    for minute in range(30):
        now = start + timedelta(minutes=minute)
        model.advance(now, now + timedelta(minutes=1))
        for index, lane in enumerate(model.state.lanes):
            totals[index] += lane.interval_count
            if lane.interval_count:
                assert lane.speed_kmh is not None
                assert 30 < lane.speed_kmh < 60
                all_cars = lane.interval_count * (4.5 + 2.0) / (lane.speed_kmh / 3.6)
                all_trucks = lane.interval_count * (14.0 + 2.0) / ((lane.speed_kmh - 5) / 3.6)
                assert 100 * all_cars / 60 * 0.9 <= lane.occupancy_pct <= 100 * all_trucks / 60
    assert [
        lane.vehicle_count - before
        for lane, before in zip(model.state.lanes, counted_before, strict=True)
    ] == totals


def test_single_loops_give_no_speed_and_big_steps_close_every_interval() -> None:
    model = station(double_loop=False, interval_s=300)
    start = WEDNESDAY.replace(hour=8)
    model.advance(start, start + timedelta(hours=1, minutes=2))  # one step, twelve intervals
    lane = model.state.lanes[0]
    assert lane.speed_kmh is None
    assert 20 < lane.interval_count < 90  # the last 5-minute interval only (~50 expected)
    assert lane.vehicle_count > 400  # the whole hour


def test_same_seed_same_traffic() -> None:
    assert hourly_counts(station(seed=5), WEDNESDAY) == hourly_counts(station(seed=5), WEDNESDAY)
    assert hourly_counts(station(seed=5), WEDNESDAY) != hourly_counts(station(seed=6), WEDNESDAY)
