"""Scheduler jobs of :mod:`cloud.savings`: the ``savings`` and ``burning`` series.

Every :data:`EVERY_S` the job (re)writes yesterday and today (local days of Europe/Paris) for
every cabinet with a baseline and every gateway with lighting readings: today's values grow as
the day goes on, and yesterday's settle once late data (an edge back from an outage) is in.
:func:`backfill` writes the same for a past range.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cloud.api.localdays import LocalDays, local_today
from cloud.errors import QueryError, StoreError
from cloud.savings.burning import lighting_gateways, write_burning
from cloud.savings.cabinets import TERRITORY_ZONE, Cabinet, cabinets_with_baseline
from cloud.savings.daily import write_savings
from cloud.scheduler import Job, JobContext

log = logging.getLogger(__name__)
EVERY_S = 300.0
CHUNK_DAYS = 31


def jobs(context: JobContext) -> list[Job]:
    async def recent() -> None:
        zone = ZoneInfo(TERRITORY_ZONE)
        today = local_today(context.clock.now(), zone)
        await write_days(context, today - timedelta(days=1), today)

    return [Job("savings-daily", EVERY_S, recent)]


async def backfill(context: JobContext, start: datetime, end: datetime) -> None:
    """Write ``savings`` and ``burning`` for the local days touching ``[start, end)``."""
    zone = ZoneInfo(TERRITORY_ZONE)
    first = start.astimezone(zone).date()
    last = (end - timedelta(milliseconds=1)).astimezone(zone).date()
    while first <= last:
        chunk_end = min(last, first + timedelta(days=CHUNK_DAYS - 1))
        await write_days(context, first, chunk_end)
        first = chunk_end + timedelta(days=1)


async def write_days(context: JobContext, first: date, last: date) -> int:
    """(Re)write both series for local days ``first``..``last``; how many points."""
    cabinets = await asyncio.to_thread(_cabinets, context)
    days = LocalDays.between(first, last, ZoneInfo(TERRITORY_ZONE))
    written = 0
    for cabinet in cabinets:
        try:
            written += await write_savings(context.store, cabinet, days)
        except (StoreError, QueryError) as exc:
            log.warning(
                "savings of %s %s..%s not written: %s", cabinet.gateway_id, first, last, exc
            )
    for gateway in await lighting_gateways(context.store):
        for day in days.days:
            try:
                written += await write_burning(context.store, gateway, day)
            except (StoreError, QueryError) as exc:
                log.warning("burning of %s on %s not written: %s", gateway, day.day, exc)
    log.debug("savings series %s..%s: %d points", first, last, written)
    return written


def _cabinets(context: JobContext) -> list[Cabinet]:
    with context.sessions() as session:
        return cabinets_with_baseline(session)
