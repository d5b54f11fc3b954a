"""Scheduler jobs of :mod:`cloud.alarms`: the silence check."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from cloud.alarms.silence import SilenceSettings, check_silence
from cloud.scheduler import Job, JobContext

log = logging.getLogger(__name__)
CHECK_EVERY_S = 60.0


def jobs(context: JobContext, settings: SilenceSettings | None = None) -> list[Job]:
    chosen = settings or SilenceSettings()

    async def silence() -> None:
        await run_silence_check(context, chosen)

    return [Job("alarms-silence", CHECK_EVERY_S, silence)]


async def run_silence_check(context: JobContext, settings: SilenceSettings) -> None:
    now = context.clock.now()

    def check() -> None:
        with context.sessions.begin() as session:
            done = check_silence(session, now, settings)
        if done:
            log.debug("silence check: %s", dict(done))

    await asyncio.to_thread(check)


async def backfill(context: JobContext, start: datetime, end: datetime) -> None:
    """Alarms are a live life cycle, not a derived series: nothing to write for history."""
