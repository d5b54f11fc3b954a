"""The ``savings`` series: per cabinet and local day, baseline and metered kWh.

``actual_kwh`` is the increase of ``energy_import_kwh`` (measurement ``energy``) over the day,
across counter resets (:meth:`TimeSeriesStore.increase`), summed over the cabinet's meters (or
the baseline's ``meter_device`` only). ``baseline_kwh`` is the baseline over the day's lit hours
(:mod:`cloud.savings.sun`); ``savings_pct`` = 100 × (1 − actual / baseline). A day without a
metered delta has no ``actual_kwh`` and no ``savings_pct`` (unknown, not 0). The point's time is
the local midnight starting the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cloud.api.localdays import LocalDays
from cloud.savings.cabinets import Cabinet
from cloud.store.base import TimeSeriesStore
from cloud.store.points import FieldValue, Point

SAVINGS = "savings"
ENERGY = "energy"
COUNTER = "energy_import_kwh"


@dataclass(frozen=True, slots=True)
class SavingsDay:
    day: date
    start_ms: int
    lit_hours_h: float
    baseline_kwh: float
    actual_kwh: float | None

    @property
    def savings_pct(self) -> float | None:
        if self.actual_kwh is None or self.baseline_kwh <= 0:
            return None
        return 100.0 * (1.0 - self.actual_kwh / self.baseline_kwh)


async def metered_kwh(
    store: TimeSeriesStore, cabinet: Cabinet, days: LocalDays
) -> dict[date, float]:
    where = {"gateway": cabinet.gateway_id}
    if cabinet.meter_device:
        where["device"] = cabinet.meter_device
    series = await store.increase(
        ENERGY,
        COUNTER,
        start_ms=days.start_ms,
        end_ms=days.end_ms,
        every_ms=days.window_ms(),
        where=where,
        group_by=("gateway",),
    )
    totals: dict[date, float] = {}
    for one in series:
        for window in one.windows:
            assert isinstance(window.value, int | float)
            day = days.day_of(window.start_ms)
            totals[day] = totals.get(day, 0.0) + float(window.value)
    return totals


async def savings_days(
    store: TimeSeriesStore, cabinet: Cabinet, days: LocalDays
) -> list[SavingsDay]:
    metered = await metered_kwh(store, cabinet, days)
    out = []
    for day in days.days:
        lit = cabinet.sun.lit_hours(day.day)
        out.append(
            SavingsDay(day.day, day.start_ms, lit, cabinet.baseline_kwh(lit), metered.get(day.day))
        )
    return out


def savings_points(cabinet: Cabinet, days: Sequence[SavingsDay]) -> list[Point]:
    points = []
    for day in days:
        fields: dict[str, FieldValue] = {
            "baseline_kwh": float(day.baseline_kwh),
            "lit_hours_h": float(day.lit_hours_h),
        }
        if day.actual_kwh is not None:
            fields["actual_kwh"] = float(day.actual_kwh)
        savings = day.savings_pct
        if savings is not None:
            fields["savings_pct"] = float(savings)
        points.append(Point(SAVINGS, cabinet.tags, fields, day.start_ms))
    return points


async def write_savings(store: TimeSeriesStore, cabinet: Cabinet, days: LocalDays) -> int:
    """Compute and (re)write the cabinet's ``savings`` points of ``days``; how many."""
    points = savings_points(cabinet, await savings_days(store, cabinet, days))
    await store.write(points)
    return len(points)
