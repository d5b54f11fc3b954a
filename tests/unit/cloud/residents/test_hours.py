"""Opening calendar of a waste centre: periods in UTC across DST, closed dates, day types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cloud.registry.models_waste import WasteCentre
from cloud.residents.hours import DayType, OpeningCalendar, day_type

PARIS = ZoneInfo("Europe/Paris")


def calendar() -> OpeningCalendar:
    row = WasteCentre(
        timezone="Europe/Paris",
        opening_hours={"mon": [["14:00", "18:00"]], "sun": [["09:00", "12:00"]]},
        closed_dates=["2026-12-28"],
    )
    return OpeningCalendar.of(row)


def test_periods_are_local_times_whatever_the_utc_offset() -> None:
    winter = calendar().period_at(datetime(2026, 11, 30, 15, 0, tzinfo=PARIS))
    summer = calendar().period_at(datetime(2026, 6, 1, 15, 0, tzinfo=PARIS))
    assert winter is not None
    assert summer is not None
    assert winter.start == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert summer.start == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_closed_outside_periods_and_on_closed_dates() -> None:
    cal = calendar()
    assert cal.period_at(datetime(2026, 11, 29, 15, 0, tzinfo=PARIS)) is None  # Sunday afternoon
    assert cal.period_at(datetime(2026, 11, 29, 10, 0, tzinfo=PARIS)) is not None
    assert cal.period_at(datetime(2026, 12, 28, 15, 0, tzinfo=PARIS)) is None  # closed date
    assert cal.period_at(datetime(2026, 11, 30, 18, 0, tzinfo=PARIS)) is None  # end excluded


def test_last_period_before_and_periods_between() -> None:
    cal = calendar()
    last = cal.last_period_before(datetime(2026, 11, 30, 10, 0, tzinfo=PARIS))
    assert last is not None
    assert last.end == datetime(2026, 11, 29, 11, 0, tzinfo=UTC)  # Sunday 12:00 local
    week = cal.periods_between(
        datetime(2026, 11, 23, tzinfo=PARIS), datetime(2026, 11, 30, 23, tzinfo=PARIS)
    )
    assert len(week) == 3  # Monday, Sunday, Monday


def test_day_types() -> None:
    assert day_type(date(2026, 11, 30)) is DayType.WEEKDAY
    assert day_type(date(2026, 11, 28)) is DayType.SATURDAY
    assert day_type(date(2026, 11, 29)) is DayType.SUNDAY_HOLIDAY
    assert day_type(date(2026, 12, 25), frozenset({date(2026, 12, 25)})) is DayType.SUNDAY_HOLIDAY
