"""Lit hours from an astronomical clock: on at sunset + ``on_offset_min``, off at sunrise +
``off_offset_min`` (defaults +15 and −15 minutes), at a site's coordinates.

A local day (midnight to midnight, 23 or 25 hours on clock-change days) holds the end of the
previous evening's night and the start of its own: its lit hours are the overlap of the day with
those two nights. astral computes in UTC unless told otherwise; every call here passes aware
datetimes and the site's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset

from cloud.api.localdays import local_midnight
from eclor.clock import to_epoch_ms

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class SunSchedule:
    latitude: float
    longitude: float
    zone: ZoneInfo
    on_offset_min: float = 15.0
    off_offset_min: float = -15.0

    def night(self, evening: date) -> tuple[datetime, datetime]:
        """Switch-on on ``evening`` and switch-off the next morning, aware UTC."""
        observer = Observer(latitude=self.latitude, longitude=self.longitude)
        on = sunset(observer, evening, tzinfo=self.zone) + timedelta(minutes=self.on_offset_min)
        morning = evening + timedelta(days=1)
        off = sunrise(observer, morning, tzinfo=self.zone) + timedelta(minutes=self.off_offset_min)
        return on.astimezone(UTC), off.astimezone(UTC)

    def lit_between(self, start: datetime, end: datetime) -> float:
        """Lit hours in ``[start, end)`` (aware datetimes)."""
        if end <= start:
            return 0.0
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        start_ms, end_ms = to_epoch_ms(start), to_epoch_ms(end)
        total_ms = 0
        evening = first
        while evening <= last:
            on, off = self.night(evening)
            overlap = min(end_ms, to_epoch_ms(off)) - max(start_ms, to_epoch_ms(on))
            total_ms += max(0, overlap)
            evening += timedelta(days=1)
        return total_ms / HOUR_MS

    def lit_hours(self, day: date) -> float:
        """Lit hours of a local day."""
        return self.lit_between(
            local_midnight(day, self.zone), local_midnight(day + timedelta(days=1), self.zone)
        )

    def is_lit(self, moment: datetime) -> bool:
        evening = moment.astimezone(self.zone).date()
        for day in (evening - timedelta(days=1), evening):
            on, off = self.night(day)
            if on <= moment < off:
                return True
        return False
