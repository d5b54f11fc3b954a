"""Local calendar days as UTC instants, for energy per day.

A local day runs from local midnight to the next local midnight, so in Europe/Paris it lasts
23 hours on the last Sunday of March (02:00 → 03:00) and 25 hours on the last Sunday of October
(03:00 → 02:00). The store's windows are aligned to the epoch (UTC), so a store day
(``every=1 day``) would cut local days at 01:00 or 02:00 local time. Instead the API asks for
windows of :func:`window_ms` (one hour in Europe/Paris: every UTC offset it has had since 1911
is a whole number of hours, so every local midnight falls on a window boundary) over the whole
range in one query, and adds the windows of each local day (:meth:`LocalDays.day_of`).

Durations are computed from epoch milliseconds, never by subtracting two local datetimes
(Python subtracts those as wall-clock times and would call every day 24 hours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from zoneinfo import ZoneInfo

from eclor.clock import to_epoch_ms

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class LocalDay:
    day: date
    start: datetime
    """Local midnight starting the day, aware, in the local zone."""
    end: datetime
    """Local midnight of the next day."""

    @property
    def start_ms(self) -> int:
        return to_epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_epoch_ms(self.end)

    @property
    def hours(self) -> float:
        """23, 24 or 25 in Europe/Paris."""
        return (self.end_ms - self.start_ms) / HOUR_MS


@dataclass(frozen=True, slots=True)
class LocalDays:
    """Consecutive local days ``first``..``last`` (inclusive) in ``zone``."""

    zone: ZoneInfo
    days: tuple[LocalDay, ...]

    @classmethod
    def between(cls, first: date, last: date, zone: ZoneInfo) -> LocalDays:
        if last < first:
            raise ValueError(f"{last} is before {first}")
        count = (last - first).days + 1
        midnights = [local_midnight(first + timedelta(days=n), zone) for n in range(count + 1)]
        days = tuple(
            LocalDay(first + timedelta(days=n), midnights[n], midnights[n + 1])
            for n in range(count)
        )
        return cls(zone, days)

    @property
    def start_ms(self) -> int:
        return self.days[0].start_ms

    @property
    def end_ms(self) -> int:
        return self.days[-1].end_ms

    def window_ms(self) -> int:
        """The longest window (at most an hour) that every local midnight falls on the edge of."""
        boundaries = [d.start_ms for d in self.days] + [self.end_ms]
        return reduce(math.gcd, boundaries, HOUR_MS)

    def day_of(self, time_ms: int) -> date:
        """The local date of an instant."""
        return datetime.fromtimestamp(time_ms / 1000, UTC).astimezone(self.zone).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone`` (normalised, should midnight not exist there)."""
    naive = datetime.combine(day, time(0))
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()
