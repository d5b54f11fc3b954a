"""Energy per local day from the meters' import counters.

kWh of a gateway on a day = the increase of ``energy_import_kwh`` (measurement ``energy``) over
the day, summed over the gateway's meters (one series each), as
:meth:`TimeSeriesStore.increase` defines it: a counter that drops restarted from 0 (a meter
replaced or cleared), and the delta between two samples belongs to the window of the later one.
Local days come from :mod:`cloud.api.localdays`. A site or a commune is the sum of its gateways
(as the registry places them *now*), queried one gateway at a time with bounded concurrency, so
a query never scans more than one cabinet's series.

A day with no counter sample after an earlier one has ``kwh: null`` (no data), which is not 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloud.api.localdays import LocalDay, LocalDays
from cloud.store.base import TimeSeriesStore

ENERGY_MEASUREMENT = "energy"
COUNTER_FIELD = "energy_import_kwh"
KWH_DECIMALS = 3
"""Wh resolution: hides float noise from summing counter deltas."""

SummaryScope = Literal["gateway", "site", "commune"]


class EnergyDay(BaseModel):
    day: date
    start: datetime = Field(description="Local midnight starting the day, with its UTC offset")
    end: datetime = Field(description="Local midnight ending the day")
    hours: float = Field(description="23 or 25 on daylight-saving change days")
    complete: bool = Field(description="The day is over (its kWh may still grow with late data)")
    kwh: float | None = Field(description="Imported energy; null when no meter reported")
    gateways_reporting: int


class EnergySummary(BaseModel):
    scope: SummaryScope
    id: str
    timezone: str
    first_day: date
    last_day: date
    gateways: list[str] = Field(description="Gateways summed")
    total_kwh: float | None
    days: list[EnergyDay]


async def gateway_daily_kwh(
    store: TimeSeriesStore, gateway_id: str, days: LocalDays
) -> dict[date, float]:
    """kWh per local day of one gateway; days without data are absent."""
    series = await store.increase(
        ENERGY_MEASUREMENT,
        COUNTER_FIELD,
        start_ms=days.start_ms,
        end_ms=days.end_ms,
        every_ms=days.window_ms(),
        where={"gateway": gateway_id},
        group_by=("gateway",),
    )
    totals: dict[date, float] = {}
    for one in series:
        for window in one.windows:
            assert isinstance(window.value, int | float)
            day = days.day_of(window.start_ms)
            totals[day] = totals.get(day, 0.0) + float(window.value)
    return totals


async def daily_summary(
    store: TimeSeriesStore,
    scope: SummaryScope,
    scope_id: str,
    gateways: Sequence[str],
    days: LocalDays,
    *,
    now_ms: int,
    concurrency: int,
) -> EnergySummary:
    limit = asyncio.Semaphore(concurrency)

    async def one(gateway_id: str) -> dict[date, float]:
        async with limit:
            return await gateway_daily_kwh(store, gateway_id, days)

    per_gateway = await asyncio.gather(*(one(g) for g in gateways))
    summary_days = [_summarise(day, day.end_ms <= now_ms, per_gateway) for day in days.days]
    known = [d.kwh for d in summary_days if d.kwh is not None]
    return EnergySummary(
        scope=scope,
        id=scope_id,
        timezone=days.zone.key,
        first_day=days.days[0].day,
        last_day=days.days[-1].day,
        gateways=list(gateways),
        total_kwh=round(sum(known), KWH_DECIMALS) if known else None,
        days=summary_days,
    )


def _summarise(
    day: LocalDay, complete: bool, per_gateway: Sequence[dict[date, float]]
) -> EnergyDay:
    values = [totals[day.day] for totals in per_gateway if day.day in totals]
    return EnergyDay(
        day=day.day,
        start=day.start,
        end=day.end,
        hours=day.hours,
        complete=complete,
        kwh=round(sum(values), KWH_DECIMALS) if values else None,
        gateways_reporting=len(values),
    )
