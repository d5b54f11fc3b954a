"""Scheduler jobs of :mod:`cloud.alarms`."""

from __future__ import annotations

from datetime import datetime

from cloud.scheduler import Job, JobContext


def jobs(context: JobContext) -> list[Job]:
    return []


async def backfill(context: JobContext, start: datetime, end: datetime) -> None:
    """Write this package's derived series for ``[start, end)`` from stored history."""
