"""History export for mobility and planning studies: CSV rows per time window, read from the
store one chunk (a UTC day) at a time, so a year never sits in memory.

A row is one window of ``step`` seconds (epoch-aligned, labelled by its start, UTC) of one key:
``(gateway, device, lane)`` for traffic, ``(site)`` for waste centres. Each column is one store
query per chunk: an aggregate (``mean``, ``max``, ``last``…) or a counter ``increase`` across
resets and roll-overs. Empty cells mean no data in that window, never zero.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cloud.store.base import TimeSeriesStore
from cloud.store.points import FieldValue
from cloud.store.query import AggregateFn
from cloud.store.results import WindowSeries

DAY_MS = 86_400_000
STEPS_S = (60, 300, 900, 3600, 86_400)
"""Window lengths an export may use; each divides a day, so windows never straddle chunks."""
MAX_DAYS = 366
Method = AggregateFn | Literal["increase"]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    measurement: str
    field: str
    method: Method
    site_tag: str = "gateway"
    """The tag naming the gateway / site in this measurement (``site`` in derived series)."""
    by_device: bool = False
    lane: str | None = None
    wrap_at: int | None = None


@dataclass(frozen=True, slots=True)
class Export:
    key_headers: tuple[str, ...]
    columns: tuple[Column, ...]


def traffic_export(lanes: int) -> Export:
    columns: list[Column] = []
    for n in range(1, lanes + 1):
        lane, prefix = str(n), f"lane{n}_"
        columns += [
            Column("vehicles", "traffic", prefix + "vehicle_count", "increase", by_device=True,
                   lane=lane, wrap_at=65_536),
            Column("occupancy_pct", "traffic", prefix + "occupancy_pct", "mean", by_device=True,
                   lane=lane),
            Column("speed_kmh", "traffic", prefix + "speed_kmh", "mean", by_device=True, lane=lane),
        ]  # fmt: skip
    return Export(("gateway", "device", "lane"), tuple(columns))


WASTE_EXPORT = Export(
    ("site",),
    (
        Column("entries", "waste_centre", "entries", "increase", wrap_at=2**32),
        Column("exits", "waste_centre", "exits", "increase", wrap_at=2**32),
        Column("queue_max", "waste_centre", "queue_count", "max"),
        Column("queue_occupancy_pct", "waste_centre", "queue_occupancy_pct", "mean"),
        Column("wait_min", "waste_wait", "wait_min", "mean", site_tag="site"),
        Column("level", "waste_wait", "level", "last", site_tag="site"),
    ),
)


@dataclass(frozen=True, slots=True)
class Period:
    """``[start_ms, end_ms)`` widened to whole windows of ``step_ms``."""

    start_ms: int
    end_ms: int
    step_ms: int

    @classmethod
    def of(cls, start: datetime, end: datetime, step_s: int) -> Period:
        """Checked: ``ValueError`` when :func:`period_problem` finds one."""
        problem = period_problem(start, end, step_s)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        step = step_s * 1000
        first = int(start.timestamp() * 1000) // step * step
        last = -(-int(end.timestamp() * 1000) // step) * step
        return cls(first, last, step)

    def chunks(self) -> list[tuple[int, int]]:
        """Day-long pieces (the first and last may be shorter), each a whole number of windows."""
        edges = [self.start_ms, *range(-(-self.start_ms // DAY_MS) * DAY_MS, self.end_ms, DAY_MS)]
        edges = sorted({*edges, self.end_ms})
        return list(itertools.pairwise(edges))


def period_problem(start: datetime, end: datetime, step_s: int) -> tuple[str, str] | None:
    """``(parameter, what is wrong)`` for a period an export refuses, else ``None``."""
    if step_s not in STEPS_S:
        return "step", f"{step_s}: one of {', '.join(map(str, STEPS_S))} seconds"
    for name, moment in (("from", start), ("to", end)):
        if moment.tzinfo is None:
            return name, "needs a UTC offset (e.g. 2026-11-02T00:00:00Z)"
    if end <= start:
        return "to", "must be after from"
    if (end - start).days >= MAX_DAYS:
        return "to", f"at most {MAX_DAYS} days after from"
    return None


async def csv_chunks(
    store: TimeSeriesStore, export: Export, period: Period, gateway: str | None
) -> AsyncIterator[bytes]:
    """The header line, then the rows of each chunk as they are read."""
    yield _csv([("window_start_utc", *export.key_headers, *_headers(export))])
    for start_ms, end_ms in period.chunks():
        rows = await chunk_rows(store, export, start_ms, end_ms, period.step_ms, gateway)
        if rows:
            yield _csv(rows)


async def chunk_rows(
    store: TimeSeriesStore,
    export: Export,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    gateway: str | None,
) -> list[tuple[object, ...]]:
    headers = _headers(export)
    table: dict[tuple[int, tuple[str, ...]], dict[str, FieldValue]] = {}
    for column in export.columns:
        for series in await _query(store, column, start_ms, end_ms, step_ms, gateway):
            key = _key(column, series.tags, len(export.key_headers))
            for window in series.windows:
                table.setdefault((window.start_ms, key), {})[column.header] = window.value
    return [
        (_iso(start), *key, *(_cell(cells.get(h)) for h in headers))
        for (start, key), cells in sorted(table.items())
    ]


async def _query(
    store: TimeSeriesStore,
    column: Column,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    gateway: str | None,
) -> list[WindowSeries]:
    where = None if gateway is None else {column.site_tag: gateway}
    group = (column.site_tag, "device") if column.by_device else (column.site_tag,)
    span = {"start_ms": start_ms, "end_ms": end_ms, "every_ms": step_ms}
    if column.method == "increase":
        return await store.increase(
            column.measurement, column.field, where=where, group_by=group,
            wrap_at=column.wrap_at, **span,
        )  # fmt: skip
    return await store.aggregate(
        column.measurement, column.field, fn=column.method, where=where, group_by=group, **span
    )


def _key(column: Column, tags: dict[str, str], width: int) -> tuple[str, ...]:
    key = [tags[column.site_tag]]
    if column.by_device:
        key.append(tags["device"])
    if column.lane is not None:
        key.append(column.lane)
    return tuple(key[:width])


def _headers(export: Export) -> list[str]:
    return list(dict.fromkeys(column.header for column in export.columns))


def _cell(value: FieldValue | None) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 3)
    return value


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv(rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


async def lanes_in_store(store: TimeSeriesStore, gateway: str | None) -> int:
    """The most lanes any loop station reported (its latest ``lane_count``), 0 when none."""
    where = None if gateway is None else {"gateway": gateway}
    rows = await store.latest("traffic", where=where, fields=["lane_count"])
    counts = [row.fields["lane_count"].value for row in rows]
    return max((int(c) for c in counts if isinstance(c, int | float)), default=0)
