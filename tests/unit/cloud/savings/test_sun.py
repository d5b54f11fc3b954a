"""Lit hours from the astronomical clock (astral), including the clock-change days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral.sun import sunrise, sunset

from cloud.savings.sun import SunSchedule

PARIS = ZoneInfo("Europe/Paris")
THIL = SunSchedule(49.4683, 5.9289, PARIS)


def hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def test_a_night_runs_from_sunset_plus_15_to_sunrise_minus_15() -> None:
    on, off = THIL.night(date(2026, 11, 29))
    observer = Observer(49.4683, 5.9289)
    assert on == sunset(observer, date(2026, 11, 29), tzinfo=PARIS) + timedelta(minutes=15)
    assert off == sunrise(observer, date(2026, 11, 30), tzinfo=PARIS) - timedelta(minutes=15)
    assert on.tzinfo is UTC
    assert 16 <= on.astimezone(PARIS).hour <= 17, "late November sunset near 16:40 local"


def test_a_local_day_holds_the_end_of_last_night_and_the_start_of_tonight() -> None:
    day = date(2026, 11, 29)
    _, morning_off = THIL.night(day - timedelta(days=1))
    evening_on, _ = THIL.night(day)
    midnight = datetime(2026, 11, 29, tzinfo=PARIS)
    expected = hours(midnight, morning_off) + hours(evening_on, midnight + timedelta(days=1))
    assert THIL.lit_hours(day) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("day", "length"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_clock_change_days_count_real_hours(day: date, length: int) -> None:
    start = datetime.combine(day, datetime.min.time(), PARIS)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS)
    assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=length)
    _, off = THIL.night(day - timedelta(days=1))
    on, _ = THIL.night(day)
    expected = hours(start.astimezone(UTC), off) + hours(on, end.astimezone(UTC))
    assert THIL.lit_hours(day) == pytest.approx(expected, abs=1e-6)


def test_a_year_has_about_4100_lit_hours() -> None:
    total = sum(THIL.lit_hours(date(2026, 1, 1) + timedelta(days=n)) for n in range(365))
    assert 4050 < total < 4150, "domain.md: about 4,100 h a year in mainland France"


def test_offsets_are_configurable() -> None:
    late = SunSchedule(49.4683, 5.9289, PARIS, on_offset_min=30, off_offset_min=-30)
    day = date(2026, 6, 15)
    assert THIL.lit_hours(day) - late.lit_hours(day) == pytest.approx(0.5, abs=1e-6)


def test_is_lit_and_lit_between() -> None:
    on, off = THIL.night(date(2026, 11, 29))
    assert THIL.is_lit(on)
    assert not THIL.is_lit(on - timedelta(seconds=1))
    assert not THIL.is_lit(off)
    assert THIL.lit_between(on - timedelta(hours=1), on + timedelta(hours=2)) == pytest.approx(2)
    assert THIL.lit_between(off, off) == 0.0
