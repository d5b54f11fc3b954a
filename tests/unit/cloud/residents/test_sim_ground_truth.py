"""The simulator's record of true waits, the ground truth of the wait model's validation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulators.state import GateControllerState
from simulators.territory.waste import OpeningPeriod, WasteCentreConfig, WasteCentreModel

START = datetime(2026, 11, 7, 8, 0, tzinfo=UTC)  # Saturday 09:00 local


def busy_saturday() -> WasteCentreModel:
    config = WasteCentreConfig(
        bays=4,
        opening={5: (OpeningPeriod(time(9), time(12)),)},
        arrivals_per_hour=40.0,
        service_min=10.0,
    )
    model = WasteCentreModel(
        "wc", config, GateControllerState(), ZoneInfo("Europe/Paris"), random.Random(3)
    )
    model.start(START)
    moment = START
    for _ in range(4 * 60):
        model.advance(moment, moment + timedelta(minutes=1))
        moment += timedelta(minutes=1)
    return model


def test_every_admitted_vehicle_has_its_wait_in_arrival_order() -> None:
    model = busy_saturday()
    arrivals = [a for a, _ in model.waits]
    assert arrivals == sorted(arrivals)
    assert len(model.waits) == model.state.entries
    assert any(w == 0.0 for _, w in model.waits)
    assert max(w for _, w in model.waits) > 10 * 60  # 4 bays for ~70 vehicles/h: a queue
    assert all(w >= 0.0 for _, w in model.waits)


def test_true_wait_at_is_the_next_arrival_s_wait_within_the_horizon() -> None:
    model = busy_saturday()
    arrival, wait = model.waits[len(model.waits) // 2]
    moment = datetime.fromtimestamp(arrival, UTC)
    assert model.true_wait_at(moment) == wait
    assert model.true_wait_at(moment - timedelta(microseconds=1)) == wait
    assert model.true_wait_at(START + timedelta(hours=3, minutes=30)) is None  # closed: nobody
