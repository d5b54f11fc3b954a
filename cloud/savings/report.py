"""Savings per cabinet, commune or territory, by day, month or year, from the ``savings`` series.

Sums before ratios: a period's ``savings_pct`` is 100 × (1 − Σ actual / Σ baseline) over the
(cabinet, day) pairs that have metered energy, and ``baseline_kwh`` / ``actual_kwh`` are those
same sums, so the three always agree. Days without metered energy are left out of all three
(``null`` when no day of the period has any: no data, never 0). ``lit_hours`` is the lit hours of
the period per cabinet (mean over the cabinets reporting). A commune is the cabinets whose
``savings`` points carry its INSEE code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from cloud.api.localdays import LocalDays
from cloud.savings.daily import SAVINGS
from cloud.store.base import TimeSeriesStore

Period = Literal["day", "month", "year"]
KWH_DECIMALS = 3
FIELDS = ("baseline_kwh", "actual_kwh", "lit_hours_h")


class SavingsPeriod(BaseModel):
    start: date = Field(description="First local day of the period (of the range, if later)")
    end: date = Field(description="Last local day of the period (of the range, if earlier)")
    baseline_kwh: float | None
    actual_kwh: float | None
    savings_pct: float | None
    lit_hours: float | None = Field(description="Lit hours per cabinet (astronomical clock)")
    cabinets: int = Field(description="Cabinets with metered energy in the period")
    days_metered: int = Field(description="(cabinet, day) pairs with metered energy")


class SavingsReport(BaseModel):
    scope: Literal["cabinet", "commune", "territory"]
    id: str | None
    period: Period
    timezone: str
    first_day: date
    last_day: date
    total: SavingsPeriod
    periods: list[SavingsPeriod]


@dataclass
class _Sums:
    start: date
    end: date
    baseline: float = 0.0
    actual: float = 0.0
    pairs: int = 0
    metered: set[str] = field(default_factory=set)
    lit: dict[str, float] = field(default_factory=dict)

    def add(self, gateway: str, day: date, values: Mapping[str, float]) -> None:
        if "lit_hours_h" in values:
            self.lit[gateway] = self.lit.get(gateway, 0.0) + values["lit_hours_h"]
        if "actual_kwh" in values and "baseline_kwh" in values:
            self.baseline += values["baseline_kwh"]
            self.actual += values["actual_kwh"]
            self.pairs += 1
            self.metered.add(gateway)

    def out(self) -> SavingsPeriod:
        known = self.pairs > 0
        pct = 100.0 * (1.0 - self.actual / self.baseline) if known and self.baseline > 0 else None
        lit = sum(self.lit.values()) / len(self.lit) if self.lit else None
        return SavingsPeriod(
            start=self.start,
            end=self.end,
            baseline_kwh=round(self.baseline, KWH_DECIMALS) if known else None,
            actual_kwh=round(self.actual, KWH_DECIMALS) if known else None,
            savings_pct=round(pct, 2) if pct is not None else None,
            lit_hours=round(lit, 3) if lit is not None else None,
            cabinets=len(self.metered),
            days_metered=self.pairs,
        )


def period_key(day: date, period: Period) -> date:
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


async def daily_values(
    store: TimeSeriesStore, days: LocalDays, where: Mapping[str, str]
) -> dict[tuple[str, date], dict[str, float]]:
    """``{(gateway, day): {field: value}}`` of the ``savings`` points in ``days``."""
    values: dict[tuple[str, date], dict[str, float]] = defaultdict(dict)
    for name in FIELDS:
        series = await store.aggregate(
            SAVINGS,
            name,
            start_ms=days.start_ms,
            end_ms=days.end_ms,
            every_ms=days.window_ms(),
            fn="last",
            where=dict(where),
            group_by=("gateway",),
        )
        for one in series:
            for window in one.windows:
                if isinstance(window.value, int | float):
                    key = (one.tags["gateway"], days.day_of(window.start_ms))
                    values[key][name] = float(window.value)
    return dict(values)


async def savings_report(
    store: TimeSeriesStore,
    scope: Literal["cabinet", "commune", "territory"],
    scope_id: str | None,
    where: Mapping[str, str],
    days: LocalDays,
    period: Period,
) -> SavingsReport:
    first, last = days.days[0].day, days.days[-1].day
    values = await daily_values(store, days, where)
    periods: dict[date, _Sums] = {}
    for local in days.days:
        periods.setdefault(
            period_key(local.day, period), _Sums(local.day, local.day)
        ).end = local.day
    total = _Sums(first, last)
    for (gateway, day), fields in sorted(values.items()):
        periods[period_key(day, period)].add(gateway, day, fields)
        total.add(gateway, day, fields)
    return SavingsReport(
        scope=scope,
        id=scope_id,
        period=period,
        timezone=days.zone.key,
        first_day=first,
        last_day=last,
        total=total.out(),
        periods=[sums.out() for _, sums in sorted(periods.items())],
    )
