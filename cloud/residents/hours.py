"""Opening hours of a waste centre in UTC: is it open, since when, until when, which day type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.registry.models_waste import WasteCentre
from cloud.registry.waste_centres import Periods, parse_closed_dates, parse_opening_hours


class DayType(StrEnum):
    WEEKDAY = "weekday"
    SATURDAY = "saturday"
    SUNDAY_HOLIDAY = "sunday_holiday"


@dataclass(frozen=True)
class Period:
    """One opening period, aware UTC bounds: ``[start, end)``."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class OpeningCalendar:
    periods: Periods
    closed_dates: frozenset[date]
    zone: ZoneInfo

    @classmethod
    def of(cls, centre: WasteCentre) -> OpeningCalendar:
        return cls(
            parse_opening_hours(centre.opening_hours),
            parse_closed_dates(centre.closed_dates),
            ZoneInfo(centre.timezone),
        )

    def periods_of(self, day: date) -> list[Period]:
        if day in self.closed_dates:
            return []
        return [
            Period(self._utc(day, start), self._utc(day, end))
            for start, end in self.periods.get(day.weekday(), ())
        ]

    def period_at(self, moment: datetime) -> Period | None:
        """The period holding ``moment``, or None when closed."""
        day = moment.astimezone(self.zone).date()
        return next((p for p in self.periods_of(day) if p.start <= moment < p.end), None)

    def last_period_before(self, moment: datetime, days: int = 14) -> Period | None:
        """The latest period that ended at or before ``moment`` (within ``days``)."""
        day = moment.astimezone(self.zone).date()
        for back in range(days + 1):
            ended = [p for p in self.periods_of(day - timedelta(days=back)) if p.end <= moment]
            if ended:
                return ended[-1]
        return None

    def periods_between(self, start: datetime, end: datetime) -> list[Period]:
        """Every period overlapping ``[start, end)``, in order."""
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        found: list[Period] = []
        while day <= last:
            found.extend(p for p in self.periods_of(day) if p.start < end and p.end > start)
            day += timedelta(days=1)
        return found

    def day_type(self, moment: datetime) -> DayType:
        return day_type(moment.astimezone(self.zone).date(), self.closed_dates)

    def _utc(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.zone).astimezone(ZoneInfo("UTC"))


def day_type(day: date, holidays: frozenset[date] = frozenset()) -> DayType:
    """Sunday and the centre's closed dates (public holidays) share a type."""
    if day.weekday() == 6 or day in holidays:
        return DayType.SUNDAY_HOLIDAY
    if day.weekday() == 5:
        return DayType.SATURDAY
    return DayType.WEEKDAY
