"""The ``burning`` series: per lighting group and local day, hours lit and mean level.

Read from the edge's ``lighting`` readings (tag ``group``; fields ``lit``, ``target_pct``; one on
every change and at least every 60 s), as the last value of each :data:`STEP_MS` window. A
window's value holds until the next one; a value older than :data:`STALE_MS` with nothing after
it counts as unknown (not lit), so a gateway that went quiet is not counted burning forever.
``mean_level_pct`` is the time-weighted mean of ``target_pct`` over the lit time (absent when the
group never burned that day). The point's time is the local midnight starting the day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloud.api.localdays import LocalDay
from cloud.store.base import TimeSeriesStore
from cloud.store.points import FieldValue, Point

LIGHTING = "lighting"
BURNING = "burning"
STEP_MS = 10_000
STALE_MS = 900_000
"""Fifteen missed 60 s heartbeats: longer than the ``gatewaySilent`` limit (10 min), so a quiet
gateway raises its alarm before its last state stops counting; a busy edge's late heartbeat does
not cut a burning period short."""
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Burning:
    burning_h: float
    mean_level_pct: float | None


def burning_of(
    lit: Mapping[int, bool],
    level: Mapping[int, float],
    start_ms: int,
    end_ms: int,
    step_ms: int = STEP_MS,
    stale_ms: int = STALE_MS,
) -> Burning:
    """Burning over ``[start_ms, end_ms)`` from per-window last values (window start → value);
    windows before ``start_ms`` give the state carried into the range."""
    state: tuple[bool, float] | None = None
    state_at = 0
    for at in sorted(t for t in lit if t < start_ms):
        state, state_at = (lit[at], level.get(at, 100.0)), at
    lit_ms = 0
    level_ms = 0.0
    for at in range(start_ms - start_ms % step_ms, end_ms, step_ms):
        if at in lit:
            state, state_at = (lit[at], level.get(at, state[1] if state else 100.0)), at
        elif state is not None and at - state_at > stale_ms:
            state = None
        if state is None or not state[0] or at < start_ms:
            continue
        span = min(step_ms, end_ms - at)
        lit_ms += span
        level_ms += state[1] * span
    mean = level_ms / lit_ms if lit_ms else None
    return Burning(lit_ms / HOUR_MS, mean)


async def group_burning(
    store: TimeSeriesStore, gateway_id: str, day: LocalDay
) -> dict[str, Burning]:
    """Burning of every group of the gateway on ``day``."""
    start = day.start_ms - STALE_MS
    by_group: dict[str, tuple[dict[int, bool], dict[int, float]]] = {}
    for field in ("lit", "target_pct"):
        series = await store.aggregate(
            LIGHTING,
            field,
            start_ms=start,
            end_ms=day.end_ms,
            every_ms=STEP_MS,
            fn="last",
            where={"gateway": gateway_id},
            group_by=("group",),
        )
        for one in series:
            lit, level = by_group.setdefault(one.tags["group"], ({}, {}))
            for window in one.windows:
                if field == "lit":
                    lit[window.start_ms] = bool(window.value)
                elif isinstance(window.value, int | float):
                    level[window.start_ms] = float(window.value)
    return {
        group: burning_of(lit, level, day.start_ms, day.end_ms)
        for group, (lit, level) in sorted(by_group.items())
        if group
    }


def burning_points(gateway_id: str, day: LocalDay, groups: Mapping[str, Burning]) -> list[Point]:
    points = []
    for group, burning in groups.items():
        fields: dict[str, FieldValue] = {"burning_h": float(burning.burning_h)}
        if burning.mean_level_pct is not None:
            fields["mean_level_pct"] = float(burning.mean_level_pct)
        points.append(Point(BURNING, {"gateway": gateway_id, "group": group}, fields, day.start_ms))
    return points


async def write_burning(store: TimeSeriesStore, gateway_id: str, day: LocalDay) -> int:
    points = burning_points(gateway_id, day, await group_burning(store, gateway_id, day))
    await store.write(points)
    return len(points)


async def lighting_gateways(store: TimeSeriesStore) -> list[str]:
    """Gateways that ever wrote ``lighting`` readings."""
    latest = await store.latest(LIGHTING, fields=["lit"], group_by=("gateway",))
    return sorted(row.tags["gateway"] for row in latest if row.tags.get("gateway"))
