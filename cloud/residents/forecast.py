"""Forecast of the wait and the best time to come, from a history profile.

The profile holds, per day type (weekday / Saturday / Sunday and holidays) and local 15-minute
slot, the mean of the published ``waste_wait.wait_min`` over the last ``forecast_history_days``
(windows where the centre was open with a working queue detector). The forecast of a coming slot
is the profile's value for its day type and slot, ``fermé`` when the centre is closed then,
``inconnu`` when the history holds nothing for it. Centres without a queue detector publish no
minutes, so they get no forecast minutes either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from cloud.residents.hours import DayType
from cloud.residents.settings import ResidentsSettings
from cloud.residents.wait import CentreView, Level, level_of
from cloud.residents.waste_jobs import WAIT_MEASUREMENT
from cloud.store.base import TimeSeriesStore
from cloud.store.points import Point
from eclor.clock import from_epoch_ms, to_epoch_ms

FORECAST_MEASUREMENT = "waste_forecast"
SLOT = timedelta(minutes=15)
SLOT_MS = 15 * 60_000

Profile = dict[tuple[DayType, time], tuple[float, int]]
"""(day type, local slot start) → (mean wait in minutes, windows averaged)."""


@dataclass(frozen=True)
class SlotForecast:
    site: str
    start: datetime
    level: Level
    wait_min: float | None
    samples: int
    """History windows behind the value (0 for ``fermé`` / ``inconnu``)."""


async def build_profile(
    store: TimeSeriesStore, centre: CentreView, now: datetime, settings: ResidentsSettings
) -> Profile:
    end_ms = to_epoch_ms(now)
    start_ms = end_ms - settings.forecast_history_days * 86_400_000
    series = await store.aggregate(
        WAIT_MEASUREMENT,
        "wait_min",
        start_ms=start_ms,
        end_ms=end_ms,
        every_ms=SLOT_MS,
        fn="mean",
        where={"site": centre.id},
        group_by=(),
    )
    sums: dict[tuple[DayType, time], tuple[float, int]] = {}
    for group in series:
        for window in group.windows:
            if isinstance(window.value, bool) or not isinstance(window.value, int | float):
                continue
            key = _slot_key(centre, from_epoch_ms(window.start_ms))
            total, count = sums.get(key, (0.0, 0))
            sums[key] = (total + float(window.value), count + 1)
    return {key: (total / count, count) for key, (total, count) in sums.items()}


def forecast_from(
    profile: Profile, centre: CentreView, now: datetime, hours: float
) -> list[SlotForecast]:
    """The slots starting in ``(now, now + hours]``, each with its forecast."""
    first_ms = to_epoch_ms(now) // SLOT_MS * SLOT_MS + SLOT_MS
    slots: list[SlotForecast] = []
    start = from_epoch_ms(first_ms)
    while start <= now + timedelta(hours=hours):
        slots.append(_slot(profile, centre, start))
        start += SLOT
    return slots


def best_times(slots: list[SlotForecast], count: int = 3) -> list[SlotForecast]:
    """The open slots with the shortest forecast wait (earliest first among equals)."""
    known = [s for s in slots if s.wait_min is not None]
    return sorted(known, key=lambda s: (s.wait_min, s.start))[:count]


def forecast_points(slots: list[SlotForecast]) -> list[Point]:
    points = []
    for slot in slots:
        fields: dict[str, str | float] = {"level": slot.level.value}
        if slot.wait_min is not None:
            fields["wait_min"] = slot.wait_min
        points.append(
            Point(FORECAST_MEASUREMENT, {"site": slot.site}, fields, to_epoch_ms(slot.start))
        )
    return points


def _slot(profile: Profile, centre: CentreView, start: datetime) -> SlotForecast:
    if centre.calendar.period_at(start) is None:
        return SlotForecast(centre.id, start, Level.FERME, None, 0)
    found = profile.get(_slot_key(centre, start))
    if found is None:
        return SlotForecast(centre.id, start, Level.INCONNU, None, 0)
    wait, samples = found
    level = level_of(wait, centre.wait_low_min, centre.wait_high_min)
    return SlotForecast(centre.id, start, level, round(wait, 1), samples)


def _slot_key(centre: CentreView, start: datetime) -> tuple[DayType, time]:
    local = start.astimezone(centre.calendar.zone)
    return centre.calendar.day_type(start), time(local.hour, local.minute // 15 * 15)
