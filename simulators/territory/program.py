"""A cabinet's built-in program (photocell / astronomical timer), used while no edge drives it.

Lights are on in the sun schedule's dark windows; optional dimming steps, in local time, lower the
setpoint for part of the night (e.g. 50 % from 22:00 to 06:00). Everything changes only at known
instants, so the model can integrate energy exactly by cutting its steps at :meth:`breakpoints`.

The instants are computed a few days at a time and kept sorted; between two of them the output is
constant and cached, so stepping a territory every second costs a bisection per cabinet.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulators.territory.localtime import at_local, local_days
from simulators.territory.sun import SunSchedule

_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class DimStep:
    """Setpoint ``level_pct`` between two local times; ``end`` before ``start`` wraps midnight."""

    start: time
    end: time
    level_pct: int

    def covers(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class ProgramOutput:
    lit: bool
    dim_pct: int


class LocalProgram:
    """What the cabinet does on its own: ``at`` a moment, and where that can change."""

    def __init__(self, sun: SunSchedule, zone: ZoneInfo, steps: tuple[DimStep, ...] = ()) -> None:
        self.sun = sun
        self._zone = zone
        self._steps = steps
        self._points: list[datetime] = []
        self._covers: tuple[datetime, datetime] | None = None
        self._segment: tuple[datetime, datetime, ProgramOutput] | None = None

    def at(self, moment: datetime, forced_dark: bool = False) -> ProgramOutput:
        """The program's output at ``moment``; ``forced_dark`` models a photocell stuck on dark."""
        output = self._cached(moment)
        if forced_dark and not output.lit:
            return ProgramOutput(lit=True, dim_pct=output.dim_pct)
        return output

    def breakpoints(self, start: datetime, end: datetime) -> list[datetime]:
        """Every instant in (start, end) where the output may change, sorted."""
        if end - start > _WINDOW:
            return self._compute(start, end)
        self._ensure(start, end)
        low = bisect.bisect_right(self._points, start)
        high = bisect.bisect_left(self._points, end)
        return self._points[low:high]

    def _cached(self, moment: datetime) -> ProgramOutput:
        segment = self._segment
        if segment is not None and segment[0] <= moment < segment[1]:
            return segment[2]
        self._ensure(moment, moment)
        index = bisect.bisect_right(self._points, moment)
        if 0 < index < len(self._points):
            output = self._evaluate(moment)
            self._segment = (self._points[index - 1], self._points[index], output)
            return output
        return self._evaluate(moment)

    def _evaluate(self, moment: datetime) -> ProgramOutput:
        lit = self.sun.is_lit(moment)
        local = moment.astimezone(self._zone).time()
        level = 100
        for step in self._steps:
            if step.covers(local):
                level = step.level_pct
        return ProgramOutput(lit=lit, dim_pct=level)

    def _ensure(self, start: datetime, end: datetime) -> None:
        covers = self._covers
        if covers is not None and covers[0] <= start and end <= covers[1]:
            return
        first, last = start - timedelta(days=1), start + _WINDOW
        self._points = self._compute(first, last)
        self._covers = (first + timedelta(hours=1), last - timedelta(hours=1))

    def _compute(self, start: datetime, end: datetime) -> list[datetime]:
        found = set(self.sun.switch_times(start, end))
        for day in local_days(start, end, self._zone):
            for step in self._steps:
                found.add(at_local(day, step.start, self._zone))
                found.add(at_local(day, step.end, self._zone))
        return sorted(moment for moment in found if start < moment < end)
