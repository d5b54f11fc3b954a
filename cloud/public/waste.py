"""Waste centres with their current wait and forecast, as the public API shows them.

The figures come from :mod:`cloud.residents.api` (C1's wait model: the series its jobs write,
read back with their observation time and staleness); the name, position and opening calendar
from the registry's waste centres. A centre is listed when it is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from cloud.public.freshness import age_s
from cloud.registry.waste_centres import list_waste_centres
from cloud.residents import api as residents
from cloud.residents.forecast import SlotForecast, best_times
from cloud.residents.hours import OpeningCalendar
from cloud.residents.wait import WaitEstimate
from cloud.store.base import TimeSeriesStore
from eclor.clock import to_epoch_ms

LOOKAHEAD_DAYS = 15
"""How far the next opening is searched (two weeks of closure, then "unknown")."""


class CurrentWait(BaseModel):
    level: str = Field(description="fluide, modéré, chargé, fermé, complet or inconnu")
    open: bool = Field(description="Whether the centre is open now (its opening calendar)")
    wait_min: float | None = Field(description="Estimated wait (minutes); null without a queue")
    wait_low_min: float | None = Field(description="Low end of the minute range")
    wait_high_min: float | None = Field(description="High end of the minute range")
    queue: int | None = Field(description="Vehicles queued outside; null without a detector")
    on_site: int | None = Field(description="Vehicles on site (gate counters)")
    observed_at: datetime | None = Field(description="Newest gate reading behind the estimate")
    published_at: datetime = Field(description="When the estimate was computed")
    age_s: int | None = Field(description="Seconds between `observed_at` and the answer")
    stale: bool = Field(description="Too old to trust (or never observed): show it as such")


class WasteCentre(BaseModel):
    id: str
    name: str
    commune: str
    latitude: float
    longitude: float
    wait: CurrentWait
    next_opening: datetime | None = Field(
        description="Start of the next opening period when closed now (UTC); null when open"
    )
    href: str


class ForecastSlot(BaseModel):
    start: datetime = Field(description="Start of the 15-minute slot (UTC)")
    level: str
    wait_min: float | None


class WasteCentreDetail(WasteCentre):
    forecast: list[ForecastSlot] = Field(description="15-minute slots of the coming hours")
    best_time: ForecastSlot | None = Field(description="The slot with the shortest wait")
    best_times: list[ForecastSlot] = Field(description="The three shortest waits, best first")


class WasteCentres(BaseModel):
    items: list[WasteCentre]
    next: str | None = Field(description="Link to the next page; absent on the last")
    generated_at: datetime


@dataclass(frozen=True, slots=True)
class CentreSite:
    """What the registry says of a centre, beyond the wait."""

    id: str
    name: str
    commune: str
    latitude: float
    longitude: float
    next_opening: datetime | None


def centre_sites(session: Session, now: datetime) -> dict[str, CentreSite]:
    """The registered waste centres, by id (= the gateway id, the ``site`` of the series)."""
    sites = {}
    for row in list_waste_centres(session):
        opening = next_opening(OpeningCalendar.of(row), now)
        sites[row.id] = CentreSite(
            row.id, row.name, row.commune, row.latitude, row.longitude, opening
        )
    return sites


def next_opening(calendar: OpeningCalendar, now: datetime) -> datetime | None:
    """Start of the next opening period, or None when open now (or closed for two weeks)."""
    if calendar.period_at(now) is not None:
        return None
    periods = calendar.periods_between(now, now + timedelta(days=LOOKAHEAD_DAYS))
    return next((p.start for p in periods if p.start > now), None)


async def current_waits(
    store: TimeSeriesStore, sessions: sessionmaker[Session], now: datetime
) -> dict[str, WaitEstimate]:
    return {e.site: e for e in await residents.current_waits(store, sessions, now)}


def current_wait(estimate: WaitEstimate, now: datetime) -> CurrentWait:
    observed = estimate.observed_at
    return CurrentWait(
        level=estimate.level.value,
        open=estimate.open,
        wait_min=estimate.wait_min,
        wait_low_min=estimate.wait_low_min,
        wait_high_min=estimate.wait_high_min,
        queue=estimate.queue,
        on_site=estimate.on_site,
        observed_at=observed,
        published_at=estimate.at,
        age_s=None if observed is None else age_s(to_epoch_ms(observed), now),
        stale=estimate.stale,
    )


def centre(site: CentreSite, estimate: WaitEstimate, now: datetime, href: str) -> WasteCentre:
    return WasteCentre(
        id=site.id,
        name=site.name,
        commune=site.commune,
        latitude=site.latitude,
        longitude=site.longitude,
        wait=current_wait(estimate, now),
        next_opening=site.next_opening,
        href=href,
    )


def slot(forecast: SlotForecast) -> ForecastSlot:
    return ForecastSlot(
        start=forecast.start, level=forecast.level.value, wait_min=forecast.wait_min
    )


async def forecast(
    store: TimeSeriesStore, centre_id: str, now: datetime, hours: float
) -> tuple[list[ForecastSlot], list[ForecastSlot]]:
    """The coming slots and the best three of them."""
    slots = await residents.forecast(store, centre_id, now, hours)
    return [slot(s) for s in slots], [slot(s) for s in best_times(slots, 3)]
