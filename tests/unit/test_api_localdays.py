"""Local days of the energy summaries: 23- and 25-hour days, window alignment, day lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cloud.api.localdays import HOUR_MS, LocalDays, local_midnight, local_today
from eclor.clock import to_epoch_ms

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 28), 24), (date(2026, 3, 29), 23), (date(2026, 10, 25), 25)],
)
def test_day_lengths_follow_the_clock_changes(day: date, hours: int) -> None:
    (one,) = LocalDays.between(day, day, PARIS).days
    assert one.hours == hours


def test_days_are_consecutive_and_start_at_local_midnight() -> None:
    days = LocalDays.between(date(2026, 3, 28), date(2026, 3, 30), PARIS)
    assert [d.start.isoformat() for d in days.days] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]
    assert all(a.end == b.start for a, b in zip(days.days, days.days[1:], strict=False))
    assert days.start_ms == to_epoch_ms(datetime(2026, 3, 27, 23, tzinfo=UTC))
    assert days.end_ms == to_epoch_ms(datetime(2026, 3, 30, 22, tzinfo=UTC))


def test_windows_are_hours_in_paris_and_finer_where_offsets_are_not_whole_hours() -> None:
    assert LocalDays.between(date(2026, 10, 24), date(2026, 10, 26), PARIS).window_ms() == HOUR_MS
    india = LocalDays.between(date(2026, 1, 1), date(2026, 1, 2), ZoneInfo("Asia/Kolkata"))
    assert india.window_ms() == HOUR_MS // 2
    nepal = LocalDays.between(date(2026, 1, 1), date(2026, 1, 1), ZoneInfo("Asia/Kathmandu"))
    assert nepal.window_ms() == HOUR_MS // 4


def test_day_of_an_instant_is_its_local_date() -> None:
    days = LocalDays.between(date(2026, 10, 25), date(2026, 10, 26), PARIS)
    last_hour = to_epoch_ms(datetime(2026, 10, 25, 22, tzinfo=UTC))  # 23:00 CET
    assert days.day_of(last_hour) == date(2026, 10, 25)
    assert days.day_of(last_hour + HOUR_MS) == date(2026, 10, 26)


def test_today_is_local() -> None:
    assert local_today(datetime(2026, 6, 30, 22, 30, tzinfo=UTC), PARIS) == date(2026, 7, 1)
    assert local_midnight(date(2026, 7, 1), PARIS).utcoffset() is not None


def test_an_inverted_range_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        LocalDays.between(date(2026, 1, 2), date(2026, 1, 1), PARIS)
