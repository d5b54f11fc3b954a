"""The gate controller's history, minute by minute, from the ``waste_centre`` measurement.

Per minute, the last ``entries``, ``exits`` and ``queue_count`` read in it. Counter increases are
taken between consecutive minutes by :func:`counter_delta`: a drop close below 2³² followed by a
small value is the counter wrapping; any other drop is the controller restarting from 0 (a reset
mid-day), which loses nothing but the counts of the minute it happened in. The minute before the
range gives the first increase its predecessor (:data:`LOOKBACK_MS`). A minute's newest reading
is only known to the minute here (its start); the live job refines the newest one with
:meth:`TimeSeriesStore.latest`.
"""

from __future__ import annotations

from cloud.residents.wait import CentreView, GateMinute
from cloud.store.base import TimeSeriesStore
from cloud.store.results import WindowSeries

MEASUREMENT = "waste_centre"
MINUTE_MS = 60_000
LOOKBACK_MS = 30 * MINUTE_MS
COUNTER_WRAP = 2**32
WRAP_MARGIN = 2**20
"""A drop from within this much of 2³² to below it is a wrap, not a restart."""


def gate_where(centre: CentreView) -> dict[str, str]:
    where = {"gateway": centre.id}
    if centre.device_id is not None:
        where["device"] = centre.device_id
    return where


def counter_delta(previous: int, current: int) -> int:
    if current >= previous:
        return current - previous
    if previous >= COUNTER_WRAP - WRAP_MARGIN and current < WRAP_MARGIN:
        return current - previous + COUNTER_WRAP
    return current


async def gate_minutes(
    store: TimeSeriesStore, centre: CentreView, start_ms: int, end_ms: int
) -> list[GateMinute]:
    """Every minute of ``[start_ms, end_ms)`` in which the gate controller was read, in order."""
    where = gate_where(centre)
    span = {"start_ms": max(0, start_ms - LOOKBACK_MS), "end_ms": end_ms, "every_ms": MINUTE_MS}
    values = {
        name: _by_minute(
            await store.aggregate(MEASUREMENT, name, **span, fn="last", where=where, group_by=())
        )
        for name in ("entries", "exits", "queue_count")
    }
    entries, exits, queue = values["entries"], values["exits"], values["queue_count"]
    found: list[GateMinute] = []
    previous: tuple[int, int] | None = None
    for minute in sorted(set(entries) & set(exits)):
        current = (entries[minute], exits[minute])
        if minute >= start_ms:
            came, left = (0, 0) if previous is None else _deltas(previous, current)
            found.append(GateMinute(minute, came, left, queue.get(minute), minute))
        previous = current
    return found


async def newest_reading_ms(store: TimeSeriesStore, centre: CentreView) -> int | None:
    rows = await store.latest(
        MEASUREMENT, where=gate_where(centre), fields=("entries", "exits"), group_by=()
    )
    return rows[0].time_ms if rows else None


def _deltas(previous: tuple[int, int], current: tuple[int, int]) -> tuple[int, int]:
    return counter_delta(previous[0], current[0]), counter_delta(previous[1], current[1])


def _by_minute(series: list[WindowSeries]) -> dict[int, int]:
    found: dict[int, int] = {}
    for group in series:
        for window in group.windows:
            value = window.value
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[window.start_ms] = int(value)
    return found
