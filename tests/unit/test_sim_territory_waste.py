"""Waste centres of the territory twin: opening hours, bays, the access-lane queue, determinism."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulators.state import GateControllerState
from simulators.territory.waste import OpeningPeriod, WasteCentreConfig, WasteCentreModel

PARIS = ZoneInfo("Europe/Paris")
SATURDAY = datetime(2026, 11, 28, tzinfo=PARIS)
MONDAY = datetime(2026, 11, 30, tzinfo=PARIS)
WEEKDAY_HOURS = (OpeningPeriod(time(9), time(12)), OpeningPeriod(time(14), time(18)))
OPENING = {
    0: (OpeningPeriod(time(14), time(18)),),  # closed Monday morning
    1: WEEKDAY_HOURS,
    2: WEEKDAY_HOURS,
    3: WEEKDAY_HOURS,
    4: WEEKDAY_HOURS,
    5: (OpeningPeriod(time(9), time(18)),),
    6: (OpeningPeriod(time(9), time(12)),),  # closed Sunday afternoon
}


def centre(*, rate: float = 25.0, seed: int = 11, start: datetime = SATURDAY) -> WasteCentreModel:
    config = WasteCentreConfig(
        bays=8,
        opening=OPENING,
        arrivals_per_hour=rate,
        service_min=12.0,
        closed_dates=frozenset({date(2026, 12, 25)}),
    )
    model = WasteCentreModel("w", config, GateControllerState(), PARIS, random.Random(seed))
    model.start(start)
    return model


Step = tuple[datetime, int, int, int, int]


def walk(
    model: WasteCentreModel, start: datetime, hours: float, step_s: float = 60.0
) -> Iterator[Step]:
    """Step the centre, yielding (time, entries, exits, queue, on site) after each step."""
    now = start
    end = start + timedelta(hours=hours)
    while now < end:
        nxt = min(end, now + timedelta(seconds=step_s))
        model.advance(now, nxt)
        now = nxt
        s = model.state
        yield now, s.entries, s.exits, s.queue_count, model.on_site


def test_a_queue_forms_only_when_every_bay_is_taken() -> None:
    model = centre(rate=40.0)  # a busy Saturday: more arrivals than 8 bays × 5 vehicles/h
    longest = 0
    for _, entries, exits, queue, on_site in walk(model, SATURDAY, 24):
        assert entries - exits == on_site
        assert on_site <= 8
        if queue > 0:
            assert on_site == 8
        longest = max(longest, queue)
    assert longest >= 5
    assert model.state.capacity == 8


def test_queue_is_empty_and_nobody_enters_while_closed() -> None:
    model = centre(rate=40.0)
    last_entries = None
    for now, entries, _, queue, on_site in walk(model, SATURDAY, 24 * 7):
        open_now = model.is_open(now)
        if not open_now:
            assert queue == 0, now
            assert not model.state.barrier_open
            if last_entries is not None:
                assert entries == last_entries, now  # nobody came in since the last step
            local = now.astimezone(PARIS).time()
            if time(20) <= local or local < time(8):
                assert on_site == 0
        last_entries = entries if not open_now else None


def test_closed_monday_morning_and_sunday_afternoon_and_on_holidays() -> None:
    model = centre(start=MONDAY)
    steps = list(walk(model, MONDAY, 14))
    assert steps[-1][1] == 0  # no entry before 14:00 on Monday
    sunday = centre(start=datetime(2026, 11, 29, 12, tzinfo=PARIS))
    assert list(walk(sunday, datetime(2026, 11, 29, 12, tzinfo=PARIS), 12))[-1][1] == 0
    christmas = datetime(2026, 12, 25, tzinfo=PARIS)  # a Friday, closed
    holiday = centre(start=christmas)
    assert list(walk(holiday, christmas, 24))[-1][1] == 0


def test_saturday_is_busier_than_a_weekday() -> None:
    saturday = centre()
    tuesday_start = datetime(2026, 12, 1, tzinfo=PARIS)
    tuesday = centre(start=tuesday_start)
    on_saturday = list(walk(saturday, SATURDAY, 24))[-1][1]
    on_tuesday = list(walk(tuesday, tuesday_start, 24))[-1][1]
    assert on_saturday > 1.4 * on_tuesday > 0


def test_deterministic_with_a_seed_whatever_the_step() -> None:
    def entries(seed: int, step_s: float) -> int:
        model = centre(seed=seed)
        return list(walk(model, SATURDAY, 24, step_s))[-1][1]

    assert entries(11, 60.0) == entries(11, 60.0) == entries(11, 3600.0) == entries(11, 7.0)
    assert entries(11, 60.0) != entries(12, 60.0)
