"""A waste-recycling centre (déchetterie): opening hours, arrivals, bays, the access-lane queue.

An event simulation, exact whatever the step: vehicles arrive as a non-homogeneous Poisson process
(thinning), only while the site is open, at a rate that depends on the day (Saturday peak) and the
hour (late morning and late afternoon bumps). A vehicle enters when one of the ``bays`` is free and
stays for a log-normal service time; otherwise it waits on the access lane, and gives up when the
queue is already ``max_queue`` long. At closing time the gate shuts: queued vehicles are turned
away, those on site finish and leave. The gate controller counts entries and exits; the queue
detector sees the number of vehicles waiting and the share of the access lane they cover.

Ground truth for the cloud's wait model: every admitted vehicle's arrival time and true wait (0 when
it drove straight in) is kept in ``waits``; :meth:`WasteCentreModel.true_wait_at` reads it.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from simulators.state import GateControllerState
from simulators.territory.localtime import at_local, local_days, local_hour
from simulators.territory.randomness import lognormal_with_mean

VEHICLE_SPACING_M = 7.0


@dataclass(frozen=True)
class OpeningPeriod:
    start: time
    end: time


@dataclass(frozen=True)
class WasteCentreConfig:
    bays: int
    opening: dict[int, tuple[OpeningPeriod, ...]]  # weekday (0 = Monday) → periods
    closed_dates: frozenset[date] = frozenset()
    arrivals_per_hour: float = 30.0  # weekday rate while open, before the hourly shape
    day_factors: dict[int, float] = field(default_factory=lambda: {5: 1.8, 6: 1.2})
    service_min: float = 12.0
    service_cv: float = 0.5
    max_queue: int = 30
    queue_lane_m: float = 70.0


def hourly_shape(hour: float) -> float:
    """Relative arrival rate over an opening day: bumps near 11:00 and 16:30 (at most ~1.2)."""
    return (
        0.6
        + 0.5 * math.exp(-((hour - 11.0) ** 2) / 2.9)
        + 0.6 * math.exp(-((hour - 16.5) ** 2) / 3.4)
    )


_SHAPE_MAX = max(hourly_shape(step / 60.0) for step in range(24 * 60)) * 1.001


class WasteCentreModel:
    """Drives one :class:`GateControllerState`; ``on_site`` and ``turned_away`` are for tests."""

    def __init__(
        self,
        name: str,
        config: WasteCentreConfig,
        state: GateControllerState,
        zone: ZoneInfo,
        rng: random.Random,
    ) -> None:
        self.name = name
        self.config = config
        self.state = state
        self.turned_away = 0
        self._zone = zone
        self._rng = rng
        self._departures: list[float] = []  # epoch seconds, a heap
        self._next_arrival = math.inf
        self._queued_since: deque[float] = deque()  # arrival times of the queue, FIFO
        self.waits: list[tuple[float, float]] = []  # (arrival epoch s, wait s), by arrival
        peak = max([1.0, *config.day_factors.values()])
        self._rate_max = config.arrivals_per_hour * peak * _SHAPE_MAX / 3600.0  # per second
        state.capacity = config.bays

    @property
    def on_site(self) -> int:
        return len(self._departures)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self._zone)
        if local.date() in self.config.closed_dates:
            return False
        now = local.time()
        return any(p.start <= now < p.end for p in self.config.opening.get(local.weekday(), ()))

    def arrival_rate_vph(self, moment: datetime) -> float:
        if not self.is_open(moment):
            return 0.0
        weekday = moment.astimezone(self._zone).weekday()
        factor = self.config.day_factors.get(weekday, 1.0)
        return self.config.arrivals_per_hour * factor * hourly_shape(local_hour(moment, self._zone))

    def start(self, moment: datetime) -> None:
        self._next_arrival = moment.timestamp() + self._candidate_gap()
        self._publish(moment)

    def advance(self, start: datetime, end: datetime) -> None:
        """Play every arrival, departure and closing in (start, end]."""
        closings = self._closings(start, end)
        limit = end.timestamp()
        while True:
            soonest = min(self._next_arrival, self._departures[0] if self._departures else math.inf)
            closing = closings[0] if closings else math.inf
            if min(soonest, closing) > limit:
                break
            if closing <= soonest:
                closings.pop(0)
                self._close()
            elif self._departures and self._departures[0] == soonest:
                self._depart(heapq.heappop(self._departures))
            else:
                self._arrive(self._next_arrival)
                self._next_arrival += self._candidate_gap()
        self._publish(end)

    def _candidate_gap(self) -> float:
        return self._rng.expovariate(self._rate_max) if self._rate_max > 0 else math.inf

    def _at(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, self._zone)

    def _arrive(self, seconds: float) -> None:
        rate = self.arrival_rate_vph(self._at(seconds)) / 3600.0
        if rate <= 0.0 or self._rng.random() * self._rate_max > rate:
            return  # thinned out: no vehicle at this candidate time
        if self.state.queue_count >= self.config.max_queue:
            self.turned_away += 1
        elif self.on_site < self.config.bays:
            self.waits.append((seconds, 0.0))
            self._enter(seconds)
        else:
            self.state.queue_count += 1
            self._queued_since.append(seconds)

    def _enter(self, seconds: float) -> None:
        self.state.entries += 1
        service_s = 60.0 * lognormal_with_mean(
            self._rng, self.config.service_min, self.config.service_cv
        )
        heapq.heappush(self._departures, seconds + service_s)

    def _depart(self, seconds: float) -> None:
        self.state.exits += 1
        if self.state.queue_count > 0 and self.is_open(self._at(seconds)):
            self.state.queue_count -= 1
            arrived = self._queued_since.popleft()
            bisect.insort(self.waits, (arrived, seconds - arrived))
            self._enter(seconds)

    def _close(self) -> None:
        self.turned_away += self.state.queue_count
        self.state.queue_count = 0
        self._queued_since.clear()

    def true_wait_at(self, moment: datetime, horizon_s: float = 900.0) -> float | None:
        """True wait (seconds) of the first admitted vehicle arriving in [moment, moment +
        horizon_s), or None when none came (or its wait is not known yet)."""
        start = moment.timestamp()
        index = bisect.bisect_left(self.waits, (start, -1.0))
        if index < len(self.waits) and self.waits[index][0] < start + horizon_s:
            return self.waits[index][1]
        return None

    def _closings(self, start: datetime, end: datetime) -> list[float]:
        found = set()
        for day in local_days(start, end, self._zone):
            if day in self.config.closed_dates:
                continue
            for period in self.config.opening.get(day.weekday(), ()):
                closing = at_local(day, period.end, self._zone)
                if start < closing <= end:
                    found.add(closing.timestamp())
        return sorted(found)

    def _publish(self, moment: datetime) -> None:
        queued = self.state.queue_count
        covered = queued * VEHICLE_SPACING_M / self.config.queue_lane_m
        self.state.queue_occupancy_pct = min(100.0, 100.0 * covered)
        self.state.barrier_open = self.is_open(moment) and self.on_site < self.config.bays


def daily_hours(periods: list[tuple[time, time]]) -> tuple[OpeningPeriod, ...]:
    """Opening periods from (start, end) pairs, sorted."""
    return tuple(OpeningPeriod(start, end) for start, end in sorted(periods))
