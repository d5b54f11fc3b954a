"""Traffic levels per loop-station lane, from the ``traffic`` measurement.

Per lane and station interval: flow (vehicles/h = the interval's count × 3600 ÷ ``interval_s``),
occupancy (%), speed (double loops only) and a DATEX II style level from the occupancy bands
(``freeFlow`` below ``traffic_heavy_pct``, ``heavy`` below ``traffic_congested_pct``,
``congested`` below ``traffic_impossible_pct``, ``impossible`` above). A lane whose newest reading
is older than ``stale_polls`` intervals is ``unknown`` and ``stale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cloud.residents.settings import ResidentsSettings
from cloud.store.base import TimeSeriesStore
from cloud.store.points import FieldValue, Point
from cloud.store.results import Latest
from eclor.clock import from_epoch_ms, to_epoch_ms

SOURCE_MEASUREMENT = "traffic"
LEVEL_MEASUREMENT = "traffic_level"


class TrafficState(StrEnum):
    FREE_FLOW = "freeFlow"
    HEAVY = "heavy"
    CONGESTED = "congested"
    IMPOSSIBLE = "impossible"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LaneRef:
    """A registered lane (:class:`~cloud.registry.models_waste.TrafficLane`), detached."""

    gateway: str
    device: str
    lane: int
    segment: str
    direction: str
    interval_s: int
    geometry: dict[str, Any]


@dataclass(frozen=True)
class LaneLevel:
    lane: LaneRef
    observed_at: datetime | None
    stale: bool
    level: TrafficState
    flow_vph: float | None = None
    occupancy_pct: float | None = None
    speed_kmh: float | None = None


def state_of(occupancy_pct: float, settings: ResidentsSettings) -> TrafficState:
    if occupancy_pct < settings.traffic_heavy_pct:
        return TrafficState.FREE_FLOW
    if occupancy_pct < settings.traffic_congested_pct:
        return TrafficState.HEAVY
    if occupancy_pct < settings.traffic_impossible_pct:
        return TrafficState.CONGESTED
    return TrafficState.IMPOSSIBLE


def lane_level(
    lane: LaneRef,
    fields: dict[str, FieldValue],
    time_ms: int | None,
    now: datetime,
    settings: ResidentsSettings,
) -> LaneLevel:
    """The level of ``lane`` from one reading's fields (``laneN_*``, ``interval_s``)."""
    interval_s = _number(fields.get("interval_s")) or lane.interval_s
    count = _number(fields.get(f"lane{lane.lane}_interval_count"))
    occupancy = _number(fields.get(f"lane{lane.lane}_occupancy_pct"))
    speed = _number(fields.get(f"lane{lane.lane}_speed_kmh"))
    observed = None if time_ms is None else from_epoch_ms(time_ms)
    horizon_ms = settings.stale_polls * interval_s * 1000
    if time_ms is None or count is None or occupancy is None:
        return LaneLevel(lane, observed, True, TrafficState.UNKNOWN)
    stale = to_epoch_ms(now) - time_ms > horizon_ms
    level = TrafficState.UNKNOWN if stale else state_of(occupancy, settings)
    flow = round(count * 3600.0 / interval_s, 1)
    return LaneLevel(lane, observed, stale, level, flow, occupancy, speed)


async def current_levels(
    store: TimeSeriesStore, lanes: list[LaneRef], now: datetime, settings: ResidentsSettings
) -> list[LaneLevel]:
    latest: dict[tuple[str, str], Latest] = {}
    for found in await store.latest(SOURCE_MEASUREMENT, group_by=("gateway", "device")):
        latest[(found.tags["gateway"], found.tags["device"])] = found
    levels: list[LaneLevel] = []
    for lane in lanes:
        row = latest.get((lane.gateway, lane.device))
        if row is None:
            levels.append(LaneLevel(lane, None, True, TrafficState.UNKNOWN))
            continue
        wanted = f"lane{lane.lane}_occupancy_pct"
        time_ms = row.fields[wanted].time_ms if wanted in row.fields else None
        fields = {name: sample.value for name, sample in row.fields.items()}
        levels.append(lane_level(lane, fields, time_ms, now, settings))
    return levels


async def history_levels(
    store: TimeSeriesStore,
    lane: LaneRef,
    start: datetime,
    end: datetime,
    settings: ResidentsSettings,
) -> list[LaneLevel]:
    """One level per station interval of ``[start, end)`` that holds a reading."""
    every_ms = lane.interval_s * 1000
    where = {"gateway": lane.gateway, "device": lane.device}
    columns: dict[str, dict[int, FieldValue]] = {}
    for suffix in ("interval_count", "occupancy_pct", "speed_kmh"):
        name = f"lane{lane.lane}_{suffix}"
        series = await store.aggregate(
            SOURCE_MEASUREMENT,
            name,
            start_ms=to_epoch_ms(start),
            end_ms=to_epoch_ms(end),
            every_ms=every_ms,
            fn="last",
            where=where,
            group_by=(),
        )
        columns[name] = {w.start_ms: w.value for s in series for w in s.windows}
    levels = []
    for window in sorted(columns[f"lane{lane.lane}_occupancy_pct"]):
        fields = {name: values[window] for name, values in columns.items() if window in values}
        moment = from_epoch_ms(window)
        levels.append(lane_level(lane, fields, window, moment, settings))
    return levels


def level_point(level: LaneLevel) -> Point | None:
    """The ``traffic_level`` point at the reading's time; None for a stale or unread lane (the
    series then simply stops: readers judge freshness from the point's time)."""
    if level.observed_at is None or level.stale:
        return None
    lane = level.lane
    fields: dict[str, FieldValue] = {"level": level.level.value, "stale": level.stale}
    for name, value in (
        ("flow_vph", level.flow_vph),
        ("occupancy_pct", level.occupancy_pct),
        ("speed_kmh", level.speed_kmh),
    ):
        if value is not None:
            fields[name] = float(value)
    tags = {
        "gateway": lane.gateway,
        "device": lane.device,
        "lane": str(lane.lane),
        "segment": lane.segment,
    }
    return Point(LEVEL_MEASUREMENT, tags, fields, to_epoch_ms(level.observed_at))


def _number(value: FieldValue | None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
