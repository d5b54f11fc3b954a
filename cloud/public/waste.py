"""Waste centres with their current wait and forecast, read from the derived series of
:mod:`cloud.residents` (``waste_wait``, ``waste_forecast``; names in ``docs/public-api.md``) and
the centres' sites in the registry (name, commune, position, opening hours).

A centre is listed when the registry knows it as a waste-centre site or when the store has
waits for it; a centre without any wait is listed with level ``inconnu``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cloud.public.freshness import age_s, is_stale, observed_at
from cloud.public.hours import next_opening
from cloud.public.settings import PublicSettings
from cloud.registry.models import Commune, SiteKind
from cloud.registry.places import list_sites
from cloud.store.base import TimeSeriesStore
from cloud.store.results import Latest, Sample
from eclor.clock import to_epoch_ms

WAIT = "waste_wait"
FORECAST = "waste_forecast"
UNKNOWN_LEVEL = "inconnu"
NOT_A_TIME_TO_COME = frozenset({"fermé", "complet", UNKNOWN_LEVEL})


class CurrentWait(BaseModel):
    level: str = Field(description="fluide, modéré, chargé, fermé, complet or inconnu")
    open: bool | None = Field(description="Whether the centre is open now; null: not known")
    wait_min: float | None = Field(description="Estimated wait (minutes); null without a queue")
    wait_low_min: float | None
    wait_high_min: float | None
    queue: int | None = Field(description="Vehicles queued outside; null without a detector")
    on_site: int | None
    observed_at: datetime | None = Field(description="When the wait was estimated (UTC)")
    age_s: int | None = Field(description="Seconds between `observed_at` and the answer")
    stale: bool = Field(description="Too old to trust (or never observed): show it as such")


class WasteCentre(BaseModel):
    id: str
    name: str
    commune: str | None
    latitude: float | None
    longitude: float | None
    wait: CurrentWait
    next_opening: datetime | None = Field(description="Next opening when closed (local time)")
    href: str


class ForecastSlot(BaseModel):
    start: datetime
    wait_min: float | None
    level: str | None


class WasteCentreDetail(WasteCentre):
    forecast: list[ForecastSlot] = Field(description="15-minute slots of the coming hours")
    best_time: ForecastSlot | None = Field(description="The slot with the shortest wait")


class WasteCentres(BaseModel):
    items: list[WasteCentre]
    next: str | None = Field(description="Link to the next page; absent on the last")
    generated_at: datetime


@dataclass(frozen=True, slots=True)
class CentreSite:
    id: str
    name: str
    commune: str | None
    latitude: float | None
    longitude: float | None
    next_opening: datetime | None


def centre_sites(session: Session, now: datetime) -> dict[str, CentreSite]:
    """The waste-centre sites of the registry, by id (= the centre's gateway id)."""
    sites: dict[str, CentreSite] = {}
    for site in list_sites(session, kind=SiteKind.WASTE_CENTRE):
        opening = next_opening(site.opening_hours, now, ZoneInfo(site.timezone))
        commune = session.get(Commune, site.commune_insee)
        name = commune.name if commune is not None else site.commune_insee
        sites[site.id] = CentreSite(
            site.id, site.name, name, site.latitude, site.longitude, opening
        )
    return sites


async def current_waits(store: TimeSeriesStore) -> dict[str, Latest]:
    """The latest ``waste_wait`` point of each centre, by centre id."""
    rows = await store.latest(WAIT, group_by=("site", "commune"))
    return {row.tags["site"]: row for row in rows if row.tags["site"]}


def current_wait(row: Latest | None, now: datetime, settings: PublicSettings) -> CurrentWait:
    if row is None:
        return CurrentWait(
            level=UNKNOWN_LEVEL,
            open=None,
            wait_min=None,
            wait_low_min=None,
            wait_high_min=None,
            queue=None,
            on_site=None,
            observed_at=None,
            age_s=None,
            stale=True,
        )
    fields, time_ms = row.fields, row.time_ms
    stale = bool(_value(fields, "stale", False)) or is_stale(
        time_ms, now, settings.waste_stale_after_s
    )
    level = str(_value(fields, "level", UNKNOWN_LEVEL))
    return CurrentWait(
        level=UNKNOWN_LEVEL if stale and level != "fermé" else level,
        open=_bool(fields, "open"),
        wait_min=_float(fields, "wait_min"),
        wait_low_min=_float(fields, "wait_low_min"),
        wait_high_min=_float(fields, "wait_high_min"),
        queue=_int(fields, "queue"),
        on_site=_int(fields, "on_site"),
        observed_at=observed_at(time_ms),
        age_s=age_s(time_ms, now),
        stale=stale,
    )


def centre(
    centre_id: str,
    site: CentreSite | None,
    row: Latest | None,
    now: datetime,
    settings: PublicSettings,
    href: str,
) -> WasteCentre:
    commune = site.commune if site else (row.tags.get("commune") or None if row else None)
    return WasteCentre(
        id=centre_id,
        name=site.name if site else centre_id,
        commune=commune,
        latitude=site.latitude if site else None,
        longitude=site.longitude if site else None,
        wait=current_wait(row, now, settings),
        next_opening=site.next_opening if site else None,
        href=href,
    )


async def forecast(
    store: TimeSeriesStore, centre_id: str, now: datetime, settings: PublicSettings
) -> list[ForecastSlot]:
    """The forecast slots of ``centre_id`` from now on (the current slot included)."""
    slot_ms = settings.forecast_slot_s * 1000
    start = to_epoch_ms(now) // slot_ms * slot_ms
    end = start + settings.forecast_hours * 3_600_000 + slot_ms
    window = {"start_ms": start, "end_ms": end, "every_ms": slot_ms}
    where, group = {"site": centre_id}, ("site",)
    waits = await store.aggregate(
        FORECAST, "wait_min", fn="last", where=where, group_by=group, **window
    )
    levels = await store.aggregate(
        FORECAST, "level", fn="last", where=where, group_by=group, **window
    )
    by_start: dict[int, dict[str, object]] = {}
    for name, series in (("wait_min", waits), ("level", levels)):
        for w in (w for s in series for w in s.windows):
            by_start.setdefault(w.start_ms, {})[name] = w.value
    return [
        ForecastSlot(
            start=observed_at(start_ms) or now,
            wait_min=_number(values.get("wait_min")),
            level=None if values.get("level") is None else str(values["level"]),
        )
        for start_ms, values in sorted(by_start.items())
    ]


def best_time(slots: list[ForecastSlot]) -> ForecastSlot | None:
    """The earliest slot with the shortest forecast wait while open (None: no such slot)."""
    candidates = [s for s in slots if s.wait_min is not None and s.level not in NOT_A_TIME_TO_COME]
    return min(candidates, key=lambda s: (s.wait_min, s.start), default=None)


def _value(fields: dict[str, Sample], name: str, default: object = None) -> object:
    sample = fields.get(name)
    return default if sample is None else sample.value


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(fields: dict[str, Sample], name: str) -> float | None:
    return _number(_value(fields, name))


def _int(fields: dict[str, Sample], name: str) -> int | None:
    number = _number(_value(fields, name))
    return None if number is None else round(number)


def _bool(fields: dict[str, Sample], name: str) -> bool | None:
    value = _value(fields, name)
    return value if isinstance(value, bool) else None
