"""Scheduler jobs of :mod:`cloud.residents`: waits and traffic levels every minute, the
forecast every 15 minutes.

Settings are the ``residents:`` section of the cloud config (:class:`ResidentsSettings` defaults
when the context carries no config); a waste centre's own thresholds in the registry win.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cloud.registry.traffic_stations import list_traffic_lanes
from cloud.residents.forecast import build_profile, forecast_from, forecast_points
from cloud.residents.settings import ResidentsSettings
from cloud.residents.traffic import LaneRef, current_levels, history_levels, level_point
from cloud.residents.waste_jobs import backfill_waits, load_centres, run_waits
from cloud.scheduler import Job, JobContext
from cloud.store.points import Point

log = logging.getLogger(__name__)
SETTINGS = ResidentsSettings()


async def load_lanes(sessions: sessionmaker[Session]) -> list[LaneRef]:
    def load() -> list[LaneRef]:
        with sessions() as session:
            return [
                LaneRef(
                    r.gateway_id,
                    r.device_id,
                    r.lane,
                    r.segment,
                    r.direction,
                    r.interval_s,
                    dict(r.geometry),
                )
                for r in list_traffic_lanes(session)
            ]

    return await asyncio.to_thread(load)


async def run_traffic(context: JobContext, settings: ResidentsSettings = SETTINGS) -> int:
    lanes = await load_lanes(context.sessions)
    levels = await current_levels(context.store, lanes, context.clock.now(), settings)
    points = [p for p in map(level_point, levels) if p is not None]
    await context.store.write(points)
    return len(points)


async def run_forecasts(context: JobContext, settings: ResidentsSettings = SETTINGS) -> int:
    """Rewrite every centre's ``waste_forecast`` for the coming ``forecast_hours``."""
    now = context.clock.now()
    written = 0
    for centre in await load_centres(context.sessions, settings):
        profile = await build_profile(context.store, centre, now, settings)
        points = forecast_points(forecast_from(profile, centre, now, settings.forecast_hours))
        await context.store.write(points)
        written += len(points)
    return written


def settings_of(context: JobContext) -> ResidentsSettings:
    return context.config.residents if context.config is not None else SETTINGS


def jobs(context: JobContext) -> list[Job]:
    settings = settings_of(context)

    async def waits() -> None:
        await run_waits(context.store, context.sessions, settings, context.clock.now())

    async def traffic() -> None:
        await run_traffic(context, settings)

    async def forecasts() -> None:
        await run_forecasts(context, settings)

    return [
        Job("residents-waits", 60, waits),
        Job("residents-traffic", 60, traffic),
        Job("residents-forecast", 900, forecasts),
    ]


async def backfill(context: JobContext, start: datetime, end: datetime) -> None:
    """Write this package's derived series for ``[start, end)`` from stored history."""
    settings = settings_of(context)
    written = await backfill_waits(context.store, context.sessions, settings, start, end)
    for lane in await load_lanes(context.sessions):
        levels = await history_levels(context.store, lane, start, end, settings)
        points: list[Point] = [p for p in map(level_point, levels) if p is not None]
        await context.store.write(points)
        written += len(points)
    written += await run_forecasts(context, settings)
    log.info("residents backfill %s..%s: %d points", start, end, written)
