"""Adaptive lighting policies: traffic volume → EN 13201 class → level, and when to send.

EN 13201-2 M classes by average luminance (cd/m²): M1 2.0, M2 1.5, M3 1.0, M4 0.75, M5 0.5,
M6 0.3. A policy names the road's design class (lit at 100 %) and steps of traffic volume; each
step's class gives its level as a luminance ratio to the design class (M4 → M5: 0.5 / 0.75 =
67 %, the "−33 %" of a class step), unless the step states a level.

The job sends ``set_level`` with ``mode: raise`` (level = max(program, raise), only while the
program has the light on): :func:`decide` says when, so that running it every minute is idempotent.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud.store.base import TimeSeriesStore
from eclor.clock import to_epoch_ms

RoadClass = Literal["M1", "M2", "M3", "M4", "M5", "M6"]
LUMINANCE_CD_M2: dict[str, float] = {
    "M1": 2.0,
    "M2": 1.5,
    "M3": 1.0,
    "M4": 0.75,
    "M5": 0.5,
    "M6": 0.3,
}
DEFAULT_INTERVAL_S = 60
RENEW_FRACTION = 0.5
"""A raise still wanted is renewed once less than this share of its hold is left."""


class PolicyStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_vph: Annotated[float, Field(ge=0, le=100_000)]
    """From this many vehicles per hour (all listed lanes together)."""
    road_class: RoadClass
    level_pct: Annotated[float | None, Field(ge=0, le=100)] = None
    """Stated level; by default the luminance ratio of ``road_class`` to the design class."""


class PolicyBody(BaseModel):
    """An adaptive policy as the operator API takes it."""

    model_config = ConfigDict(extra="forbid")

    gateway: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    group: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    loop_gateway: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    loop_device: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")]
    lanes: Annotated[list[Annotated[int, Field(ge=1, le=4)]], Field(min_length=1, max_length=4)]
    window_min: Annotated[int, Field(ge=1, le=60)] = 5
    hold_min: Annotated[int, Field(ge=1, le=240)] = 10
    design_class: RoadClass
    steps: Annotated[list[PolicyStep], Field(min_length=1, max_length=6)]
    enabled: bool = True

    @model_validator(mode="after")
    def _ascending(self) -> PolicyBody:
        volumes = [step.min_vph for step in self.steps]
        if any(b <= a for a, b in itertools.pairwise(volumes)):
            raise ValueError("steps: min_vph must strictly increase from one step to the next")
        if len(set(self.lanes)) != len(self.lanes):
            raise ValueError("lanes: each lane once")
        return self


def step_level(step: PolicyStep, design_class: str) -> float:
    if step.level_pct is not None:
        return step.level_pct
    ratio = LUMINANCE_CD_M2[step.road_class] / LUMINANCE_CD_M2[design_class]
    return round(min(100.0, 100.0 * ratio), 1)


def level_for(vph: float | None, steps: Sequence[PolicyStep], design_class: str) -> float | None:
    """Level of the highest step ``vph`` reaches; ``None`` below the first step or without data."""
    if vph is None:
        return None
    reached = [step for step in steps if vph >= step.min_vph]
    return step_level(reached[-1], design_class) if reached else None


@dataclass(frozen=True, slots=True)
class Raise:
    level_pct: float
    until: datetime


def decide(
    wanted: float | None, current: Raise | None, now: datetime, hold: timedelta
) -> Raise | None:
    """The raise to send now, or ``None`` to send nothing.

    Up at once; the same level is renewed before its hold runs out; a lower level waits for the
    current raise to end (that is the hold); below the first step nothing is sent, so the raise
    lapses and the program alone rules again.
    """
    if wanted is None:
        return None
    live = current if current is not None and current.until > now else None
    if live is None or wanted > live.level_pct:
        return Raise(wanted, now + hold)
    if wanted == live.level_pct and live.until - now < hold * RENEW_FRACTION:
        return Raise(wanted, now + hold)
    return None


async def vehicles_per_hour(
    store: TimeSeriesStore,
    gateway: str,
    device: str,
    lanes: Sequence[int],
    *,
    now: datetime,
    window: timedelta,
) -> float | None:
    """Vehicles per hour over ``lanes`` in ``[now - window, now)``, ``None`` without readings.

    Per lane the mean of ``laneN_interval_count`` per ``interval_s``: a station polled more often
    than its interval repeats a count, and a mean is not fooled by that where a sum would be.
    """
    where = {"gateway": gateway, "device": device}
    end_ms = to_epoch_ms(now)
    start_ms = end_ms - int(window.total_seconds() * 1000)
    interval_s = await _interval_s(store, where)
    total = 0.0
    seen = False
    for lane in lanes:
        field = f"lane{lane}_interval_count"
        sums = await store.aggregate(
            "traffic",
            field,
            start_ms=start_ms,
            end_ms=end_ms,
            every_ms=end_ms - start_ms,
            fn="sum",
            where=where,
            group_by=(),
        )
        counts = await store.aggregate(
            "traffic",
            field,
            start_ms=start_ms,
            end_ms=end_ms,
            every_ms=end_ms - start_ms,
            fn="count",
            where=where,
            group_by=(),
        )
        vehicles = sum(float(w.value or 0) for s in sums for w in s.windows)
        samples = sum(int(w.value or 0) for s in counts for w in s.windows)
        if samples:
            seen = True
            total += vehicles / samples * 3600.0 / interval_s
    return total if seen else None


async def _interval_s(store: TimeSeriesStore, where: dict[str, str]) -> float:
    latest = await store.latest("traffic", where=where, fields=["interval_s"], group_by=())
    for group in latest:
        sample = group.fields.get("interval_s")
        if sample is not None and isinstance(sample.value, int | float) and sample.value > 0:
            return float(sample.value)
    return float(DEFAULT_INTERVAL_S)
