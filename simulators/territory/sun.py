"""The astronomical clock of a lighting cabinet: when its built-in program turns the lights on.

Lights are on from sunset + ``on_offset`` to the next sunrise − ``off_offset`` (the defaults,
+15 min and −15 min, give about 4,100 lit hours a year in mainland France). Sunrise and sunset come
from ``astral`` for the cabinet's own coordinates, always computed in the site's zone (astral
defaults to UTC, which would shift every switch time by an hour or two).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset

from simulators.territory.localtime import local_days


class SunSchedule:
    """Dark windows (lights on) for one place, cached per local date."""

    def __init__(
        self,
        latitude: float,
        longitude: float,
        zone: ZoneInfo,
        on_offset: timedelta = timedelta(minutes=15),
        off_offset: timedelta = timedelta(minutes=15),
    ) -> None:
        self._observer = Observer(latitude=latitude, longitude=longitude)
        self._zone = zone
        self._on_offset = on_offset
        self._off_offset = off_offset
        self._windows: dict[date, tuple[datetime, datetime]] = {}

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The lit window that starts on the evening of local ``day`` (switch-on, switch-off)."""
        cached = self._windows.get(day)
        if cached is None:
            on = sunset(self._observer, date=day, tzinfo=self._zone) + self._on_offset
            next_day = day + timedelta(days=1)
            off = sunrise(self._observer, date=next_day, tzinfo=self._zone) - self._off_offset
            cached = (on, off)
            self._windows[day] = cached
        return cached

    def is_lit(self, moment: datetime) -> bool:
        """Whether the built-in program wants the lights on at ``moment``."""
        for day in local_days(moment, moment, self._zone):
            on, off = self.window(day)
            if on <= moment < off:
                return True
        return False

    def switch_times(self, start: datetime, end: datetime) -> list[datetime]:
        """Every switch-on and switch-off instant within [start, end], sorted."""
        found = []
        for day in local_days(start, end, self._zone):
            for moment in self.window(day):
                if start <= moment <= end:
                    found.append(moment)
        return sorted(found)
