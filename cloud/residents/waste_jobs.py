"""The waste-centre series: ``waste_wait`` every minute, ``waste_attendance`` per local day.

Both the live job and the backfill run the same :class:`~cloud.residents.wait.WaitTracker` over
the gate controller's minutes read back from the store (:mod:`cloud.residents.gate_history`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import StoreError
from cloud.registry.waste_centres import list_waste_centres
from cloud.residents.gate_history import MINUTE_MS, gate_minutes, newest_reading_ms
from cloud.residents.settings import ResidentsSettings
from cloud.residents.wait import CentreView, WaitEstimate, WaitTracker
from cloud.store.base import TimeSeriesStore
from cloud.store.points import FieldValue, Point
from eclor.clock import from_epoch_ms, to_epoch_ms

log = logging.getLogger(__name__)

WAIT_MEASUREMENT = "waste_wait"
ATTENDANCE_MEASUREMENT = "waste_attendance"
BACKFILL_CHUNK = timedelta(days=1)


async def load_centres(
    sessions: sessionmaker[Session], settings: ResidentsSettings
) -> list[CentreView]:
    def load() -> list[CentreView]:
        views: list[CentreView] = []
        with sessions() as session:
            for row in list_waste_centres(session):
                try:
                    views.append(CentreView.of(row, settings))
                except ValueError as error:  # a row written around the registry's checks
                    log.error(
                        "waste centre %s skipped, its registry row is invalid: %s", row.id, error
                    )
        return views

    return await asyncio.to_thread(load)


def wait_point(estimate: WaitEstimate) -> Point:
    fields: dict[str, FieldValue] = {
        "open": estimate.open,
        "level": estimate.level.value,
        "stale": estimate.stale,
    }
    if estimate.observed_at is not None:
        fields["observed_ms"] = to_epoch_ms(estimate.observed_at)
    optional: dict[str, FieldValue | None] = {
        "on_site": estimate.on_site,
        "queue": estimate.queue,
        "throughput_vph": estimate.throughput_vph,
        "wait_min": estimate.wait_min,
        "wait_low_min": estimate.wait_low_min,
        "wait_high_min": estimate.wait_high_min,
        "drift": estimate.drift,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    tags = {"site": estimate.site, "commune": estimate.commune}
    return Point(WAIT_MEASUREMENT, tags, fields, to_epoch_ms(estimate.at))


async def estimate_now(
    store: TimeSeriesStore, centre: CentreView, settings: ResidentsSettings, at: datetime
) -> WaitEstimate:
    """The estimate at ``at`` from the gate readings before it (the newest one to the ms)."""
    tracker = WaitTracker(centre, settings)
    start = _history_start(centre, settings, at)
    for minute in await gate_minutes(store, centre, to_epoch_ms(start), to_epoch_ms(at)):
        tracker.feed(minute)
    newest = await newest_reading_ms(store, centre)
    if newest is not None and newest <= to_epoch_ms(at):
        tracker.seen_at(newest)
    return tracker.estimate(at)


async def estimate_range(
    store: TimeSeriesStore,
    centre: CentreView,
    settings: ResidentsSettings,
    start: datetime,
    end: datetime,
) -> list[WaitEstimate]:
    """One estimate per minute boundary of ``[start, end)``, from one read of the history."""
    start = _floor_minute(start)
    tracker = WaitTracker(centre, settings)
    history = _history_start(centre, settings, start)
    minutes = await gate_minutes(store, centre, to_epoch_ms(history), to_epoch_ms(end))
    estimates: list[WaitEstimate] = []
    index = 0
    at = start
    while at < end:
        at_ms = to_epoch_ms(at)
        while index < len(minutes) and minutes[index].start_ms < at_ms:
            tracker.feed(minutes[index])
            index += 1
        estimates.append(tracker.estimate(at))
        at += timedelta(minutes=1)
    return estimates


async def attendance_points(
    store: TimeSeriesStore, centre: CentreView, start: datetime, end: datetime
) -> list[Point]:
    """``vehicles`` entered while open, per local day, for the days of ``[start, end)``."""
    calendar = centre.calendar
    days: dict[int, int] = {}
    day = start.astimezone(calendar.zone).date()
    while day <= (end - timedelta(microseconds=1)).astimezone(calendar.zone).date():
        midnight = datetime.combine(day, datetime.min.time(), calendar.zone)
        vehicles = 0
        for period in calendar.periods_of(day):
            if period.start < end:
                minutes = await gate_minutes(
                    store, centre, to_epoch_ms(period.start), to_epoch_ms(min(period.end, end))
                )
                vehicles += sum(m.entries for m in minutes)
        days[to_epoch_ms(midnight)] = vehicles
        day += timedelta(days=1)
    tags = {"site": centre.id, "commune": centre.commune}
    return [Point(ATTENDANCE_MEASUREMENT, tags, {"vehicles": n}, t) for t, n in days.items()]


async def run_waits(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    settings: ResidentsSettings,
    now: datetime,
) -> list[WaitEstimate]:
    """The every-minute job: one ``waste_wait`` point per centre, and today's attendance."""
    at = _floor_minute(now)
    estimates: list[WaitEstimate] = []
    for centre in await load_centres(sessions, settings):
        try:
            estimate = replace(await estimate_now(store, centre, settings, now), at=at)
            day_start = datetime.combine(
                at.astimezone(centre.calendar.zone).date(),
                datetime.min.time(),
                centre.calendar.zone,
            )
            attendance = await attendance_points(
                store, centre, day_start, at + timedelta(minutes=1)
            )
            await store.write([wait_point(estimate), *attendance])
        except StoreError as error:  # one centre's failure must not starve the others
            log.warning("waste centre %s: no wait published at %s: %s", centre.id, at, error)
            continue
        estimates.append(estimate)
    return estimates


async def backfill_waits(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    settings: ResidentsSettings,
    start: datetime,
    end: datetime,
) -> int:
    """Write ``waste_wait`` and ``waste_attendance`` for ``[start, end)``; points written."""
    written = 0
    for centre in await load_centres(sessions, settings):
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + BACKFILL_CHUNK)
            estimates = await estimate_range(store, centre, settings, chunk_start, chunk_end)
            points = [wait_point(e) for e in estimates]
            points += await attendance_points(store, centre, chunk_start, chunk_end)
            await store.write(points)
            written += len(points)
            chunk_start = chunk_end
        log.info("backfilled waits of %s from %s to %s", centre.id, start, end)
    return written


def _history_start(centre: CentreView, settings: ResidentsSettings, at: datetime) -> datetime:
    """Far enough back to know the vehicles on site (since opening) and the recent exits."""
    calendar = centre.calendar
    window = at - timedelta(minutes=settings.throughput_window_min)
    period = calendar.period_at(at)
    if period is None:
        period = calendar.last_period_before(at)
        grace = timedelta(minutes=settings.drift_grace_min + 15)
        if period is None or at - period.end > grace:
            return window
    return min(window, period.start)


def _floor_minute(moment: datetime) -> datetime:
    ms = to_epoch_ms(moment)
    return from_epoch_ms(ms - ms % MINUTE_MS)
