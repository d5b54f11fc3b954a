"""What the public API reads: current waits, forecasts, best times, traffic levels.

Every function takes the store, the registry's session factory and ``now`` from the injected
clock. Waits and forecasts are read from the series the jobs write (cheap under load); traffic
levels are computed from the newest loop readings (one ``latest`` query). Each value carries its
observation time and a staleness flag; a wait whose published point is older than
:data:`PUBLISHED_STALE_S` (the job stopped) is shown ``inconnu`` and stale.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import NotFound
from cloud.registry.waste_centres import get_waste_centre
from cloud.residents.forecast import FORECAST_MEASUREMENT, SLOT_MS, SlotForecast
from cloud.residents.forecast import best_times as _best
from cloud.residents.jobs import SETTINGS, load_lanes
from cloud.residents.settings import ResidentsSettings
from cloud.residents.traffic import LaneLevel, current_levels
from cloud.residents.wait import CentreView, Level, WaitEstimate
from cloud.residents.waste_jobs import WAIT_MEASUREMENT, load_centres
from cloud.store.base import TimeSeriesStore
from cloud.store.results import Latest, Sample
from eclor.clock import from_epoch_ms, to_epoch_ms

PUBLISHED_STALE_S = 180


async def current_waits(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    now: datetime,
    settings: ResidentsSettings = SETTINGS,
) -> list[WaitEstimate]:
    """One estimate per registered waste centre, in id order."""
    centres = await load_centres(sessions, settings)
    rows = {r.tags["site"]: r for r in await store.latest(WAIT_MEASUREMENT, group_by=("site",))}
    return [_published(centre, rows.get(centre.id), now) for centre in centres]


async def current_wait(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    site: str,
    now: datetime,
    settings: ResidentsSettings = SETTINGS,
) -> WaitEstimate | None:
    """The estimate of one centre; None when no such centre is registered."""
    centre = await _centre(sessions, site, settings)
    if centre is None:
        return None
    rows = await store.latest(WAIT_MEASUREMENT, where={"site": site}, group_by=("site",))
    return _published(centre, rows[0] if rows else None, now)


async def forecast(
    store: TimeSeriesStore, site: str, now: datetime, hours: float = 6.0
) -> list[SlotForecast]:
    """The published forecast slots of ``site`` starting in ``(now, now + hours]``."""
    start_ms = to_epoch_ms(now) // SLOT_MS * SLOT_MS + SLOT_MS
    end_ms = to_epoch_ms(now + timedelta(hours=hours)) + 1
    if end_ms <= start_ms:
        return []
    span = {"start_ms": start_ms, "end_ms": end_ms, "every_ms": SLOT_MS}
    where = {"site": site}
    levels = await store.aggregate(
        FORECAST_MEASUREMENT, "level", **span, fn="last", where=where, group_by=()
    )
    waits = await store.aggregate(
        FORECAST_MEASUREMENT, "wait_min", **span, fn="last", where=where, group_by=()
    )
    wait_at = {w.start_ms: w.value for s in waits for w in s.windows}
    slots = []
    for window in (w for s in levels for w in s.windows):
        wait = wait_at.get(window.start_ms)
        slots.append(
            SlotForecast(
                site,
                from_epoch_ms(window.start_ms),
                _level(window.value),
                float(wait) if isinstance(wait, int | float) else None,
                0,
            )
        )
    return slots


async def best_times(
    store: TimeSeriesStore, site: str, now: datetime, hours: float = 6.0, count: int = 3
) -> list[SlotForecast]:
    """The coming slots with the shortest forecast wait."""
    return _best(await forecast(store, site, now, hours), count)


async def traffic_levels(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    now: datetime,
    settings: ResidentsSettings = SETTINGS,
) -> list[LaneLevel]:
    """Every registered lane with its level; ``lane.geometry`` is GeoJSON for the map."""
    return await current_levels(store, await load_lanes(sessions), now, settings)


async def _centre(
    sessions: sessionmaker[Session], site: str, settings: ResidentsSettings
) -> CentreView | None:
    def load() -> CentreView | None:
        with sessions() as session:
            try:
                return CentreView.of(get_waste_centre(session, site), settings)
            except NotFound:
                return None

    return await asyncio.to_thread(load)


def _published(centre: CentreView, row: Latest | None, now: datetime) -> WaitEstimate:
    if row is None:
        return WaitEstimate(centre.id, centre.commune, now, None, False, Level.INCONNU, True)
    fields = row.fields
    at = from_epoch_ms(row.time_ms)
    observed_ms = _int(_current(fields, "observed_ms", row.time_ms))
    estimate = WaitEstimate(
        site=centre.id,
        commune=centre.commune,
        at=at,
        observed_at=None if observed_ms is None else from_epoch_ms(observed_ms),
        open=bool(_value(fields, "open")),
        level=_level(_value(fields, "level")),
        stale=bool(_value(fields, "stale")),
        on_site=_int(_current(fields, "on_site", row.time_ms)),
        queue=_int(_current(fields, "queue", row.time_ms)),
        throughput_vph=_float(_current(fields, "throughput_vph", row.time_ms)),
        wait_min=_float(_current(fields, "wait_min", row.time_ms)),
        wait_low_min=_float(_current(fields, "wait_low_min", row.time_ms)),
        wait_high_min=_float(_current(fields, "wait_high_min", row.time_ms)),
    )
    if (now - at).total_seconds() > PUBLISHED_STALE_S:
        level = Level.INCONNU if estimate.open else estimate.level
        return WaitEstimate(
            centre.id, centre.commune, at, estimate.observed_at, estimate.open, level, True
        )
    return estimate


def _value(fields: dict[str, Sample], name: str) -> object:
    sample = fields.get(name)
    return None if sample is None else sample.value


def _current(fields: dict[str, Sample], name: str, time_ms: int) -> object:
    """A field's value only when it belongs to the newest point (fields absent from it, such as
    the wait of a closed centre, keep older values in ``latest``)."""
    sample = fields.get(name)
    return None if sample is None or sample.time_ms != time_ms else sample.value


def _level(value: object) -> Level:
    """A stored level; ``inconnu`` for anything else (the store is not trusted blindly)."""
    try:
        return Level(str(value))
    except ValueError:
        return Level.INCONNU


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
