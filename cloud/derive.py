"""``eclor cloud derive``: the derived series (savings, alarms, waits, forecasts, traffic levels)
written for a past period from the readings already stored, e.g. after ``eclor sim backfill`` or
after a store restore. Each feature's ``backfill`` runs one local day at a time, so a long period
never sits in memory and the progress bar moves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from cloud.scheduler import JOB_MODULES, JobContext

Progress = Callable[[str, datetime], None]


def days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``[start, end)`` cut at each midnight of ``start``'s zone (aware datetimes)."""
    cursor = start
    while cursor < end:
        midnight = (cursor + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        upto = min(midnight, end)
        yield cursor, upto
        cursor = upto


async def derive(
    context: JobContext, start: datetime, end: datetime, progress: Progress | None = None
) -> int:
    """Run every feature's backfill over ``[start, end)``; returns the number of day chunks."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a UTC offset")
    if not start < end:
        raise ValueError(f"start {start.isoformat()} is not before end {end.isoformat()}")
    modules = [importlib.import_module(name) for name in JOB_MODULES]
    chunks = 0
    for low, high in days(start, end):
        for module in modules:
            await module.backfill(context, low, high)
            if progress is not None:
                progress(module.__name__, high)
        chunks += 1
    return chunks
