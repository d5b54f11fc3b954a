"""The wait at a waste centre from its gate counters and queue-lane detector.

Per minute, :class:`WaitTracker` is fed what the gate controller said in that minute
(:class:`GateMinute`: entries and exits counted, the queue length last seen) and estimates, at any
minute boundary, what a vehicle arriving now would wait (:class:`WaitEstimate`):

- **vehicles on site**: entries − exits since the current opening period began, the running sum
  clamped to ``0..capacity`` at every step (a missed count cannot drive it out of range for the
  rest of the day). The unclamped sum is kept too: what is left of it ``drift_grace_min`` after
  closing, when everybody has left, is the counters' drift, logged and published (``drift``).
- **departure rate** μ (vehicles/min): exits over the last ``throughput_window_min`` minutes
  (Little's law), as the mean of a Gamma–Poisson posterior whose prior is ``on_site ÷ S`` with
  the weight of :data:`PRIOR_EXITS` exits. ``S`` is the mean time on site, learned over the day by
  Little's law on the site itself (Σ on-site minutes ÷ exits) once :data:`LEARN_EXITS` have left,
  ``service_min`` before. So with nobody leaving lately but vehicles on site, μ is ``on_site ÷ S``
  (capacity ÷ mean service time when full) rather than 0.
- **wait**: Little's law, ``wait = k ÷ μ`` with ``k`` the ``queue`` (one when the queue is empty
  but every bay is taken, none when a bay is free). The minute range is the central 80 % of a
  log-normal with that mean whose squared coefficient of variation adds the spread of the time
  for ``k`` departures (1/k, as for a Poisson stream) and that of μ's estimate (1/(n + prior)).
- **level**: ``fluide`` ≤ ``wait_low_min`` < ``modéré`` ≤ ``wait_high_min`` < ``chargé``;
  ``fermé`` outside the opening periods; ``inconnu`` when the newest reading is older than
  ``stale_polls`` poll intervals (``stale``; one minute more when the reading's time is only
  known to the minute, as in a backfill) or nothing was read since opening. Without a queue
  detector, or when it has fallen silent while the gate still answers, only a state from the
  vehicles on site: ``fluide``, ``chargé`` from ``full_share`` of the capacity, ``complet`` when
  full; no minutes then.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from cloud.registry.models_waste import WasteCentre
from cloud.residents.hours import OpeningCalendar, Period
from cloud.residents.settings import ResidentsSettings
from eclor.clock import from_epoch_ms, to_epoch_ms

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
PRIOR_EXITS = 20.0
LEARN_EXITS = 10
Z_80 = 1.2816  # standard normal quantile of 90 %: a central 80 % range


class Level(StrEnum):
    FLUIDE = "fluide"
    MODERE = "modéré"
    CHARGE = "chargé"
    FERME = "fermé"
    COMPLET = "complet"
    INCONNU = "inconnu"


@dataclass(frozen=True)
class CentreView:
    """What the estimator needs of a registry :class:`WasteCentre`, detached from the session."""

    id: str
    name: str
    commune: str
    capacity: int
    has_queue_detector: bool
    poll_interval_s: float
    device_id: str | None
    wait_low_min: float
    wait_high_min: float
    calendar: OpeningCalendar

    @classmethod
    def of(cls, centre: WasteCentre, settings: ResidentsSettings) -> CentreView:
        return cls(
            id=centre.id,
            name=centre.name,
            commune=centre.commune,
            capacity=centre.capacity,
            has_queue_detector=centre.has_queue_detector,
            poll_interval_s=centre.poll_interval_s,
            device_id=centre.device_id,
            wait_low_min=centre.wait_low_min or settings.wait_low_min,
            wait_high_min=centre.wait_high_min or settings.wait_high_min,
            calendar=OpeningCalendar.of(centre),
        )


@dataclass(frozen=True)
class GateMinute:
    """The gate controller's readings in the minute starting at ``start_ms``."""

    start_ms: int
    entries: int  # counted in the minute (counter resets and wraps already resolved)
    exits: int
    queue: int | None  # last queue length read in the minute, None when not read
    last_ms: int  # time of the newest reading in the minute


@dataclass(frozen=True)
class WaitEstimate:
    site: str
    commune: str
    at: datetime
    observed_at: datetime | None
    """Time of the newest gate reading used; None when nothing was ever read."""
    open: bool
    level: Level
    stale: bool
    on_site: int | None = None
    queue: int | None = None
    throughput_vph: float | None = None
    wait_min: float | None = None
    wait_low_min: float | None = None
    wait_high_min: float | None = None
    drift: int | None = None


@dataclass
class _Day:
    """What the tracker knows since the opening period ``period`` began."""

    period: Period | None
    on_site: int = 0
    raw: int = 0
    on_site_minutes: float = 0.0
    exits_total: int = 0
    drift_logged: bool = False


class WaitTracker:
    """Feed it :class:`GateMinute` in time order; ask :meth:`estimate` at minute boundaries."""

    def __init__(self, centre: CentreView, settings: ResidentsSettings) -> None:
        self.centre = centre
        self.settings = settings
        self._day = _Day(None)
        self._exits: deque[tuple[int, int]] = deque()  # (minute start ms, exits)
        self._last_ms: int | None = None
        self._last_exact = False  # False: known to the minute only (its start)
        self._queue: tuple[int, int] | None = None  # (time ms, length)

    def feed(self, minute: GateMinute) -> None:
        moment = from_epoch_ms(minute.start_ms)
        period = self.centre.calendar.period_at(moment)
        if period is not None and period != self._day.period:
            self._day = _Day(period)
        day = self._day
        day.raw += minute.entries - minute.exits
        day.on_site = min(self.centre.capacity, max(0, day.on_site + minute.entries - minute.exits))
        day.exits_total += minute.exits
        day.on_site_minutes += day.on_site
        self._exits.append((minute.start_ms, minute.exits))
        if self._last_ms is None or minute.last_ms > self._last_ms:
            self._last_ms, self._last_exact = minute.last_ms, False
        if minute.queue is not None:
            self._queue = (minute.last_ms, minute.queue)

    def seen_at(self, time_ms: int) -> None:
        """The exact time of the newest reading, when the minutes fed only knew its minute."""
        if self._last_ms is None or time_ms >= self._last_ms:
            self._last_ms, self._last_exact = time_ms, True

    def estimate(self, at: datetime) -> WaitEstimate:
        at_ms = to_epoch_ms(at)
        observed = None if self._last_ms is None else from_epoch_ms(self._last_ms)
        horizon_ms = self.settings.stale_polls * self.centre.poll_interval_s * 1000
        if not self._last_exact:
            horizon_ms += MINUTE_MS  # a reading known to the minute may be that much younger
        stale = self._last_ms is None or at_ms - self._last_ms > horizon_ms
        base = WaitEstimate(
            self.centre.id, self.centre.commune, at, observed, False, Level.FERME, stale
        )
        period = self.centre.calendar.period_at(at)
        if period is None:
            return replace(base, drift=self._drift(at))
        if period != self._day.period:
            self._day = _Day(period)
        seen_today = self._last_ms is not None and self._last_ms >= to_epoch_ms(period.start)
        if stale or not seen_today:
            return replace(base, open=True, level=Level.INCONNU, stale=True)
        return self._open_estimate(replace(base, open=True), horizon_ms)

    def _open_estimate(self, base: WaitEstimate, horizon_ms: float) -> WaitEstimate:
        at_ms = to_epoch_ms(base.at)
        day = self._day
        assert day.period is not None
        window_min = self._window_minutes(at_ms, day.period)
        n = sum(exits for start, exits in self._exits if start >= at_ms - window_min * 60_000)
        throughput_vph = 60.0 * n / window_min if window_min else 0.0
        common = replace(base, on_site=day.on_site, throughput_vph=round(throughput_vph, 2))
        queue = self._queue
        # the queue's time is known to the minute only
        silent = queue is None or at_ms - queue[0] > horizon_ms + MINUTE_MS
        if not self.centre.has_queue_detector or queue is None or silent:
            return replace(common, level=self._state_level())
        wait, low, high = self._wait(queue[1], n, window_min)
        return replace(
            common,
            queue=queue[1],
            wait_min=round(wait, 1),
            wait_low_min=float(math.floor(low)),
            wait_high_min=float(math.ceil(high)),
            level=level_of(wait, self.centre.wait_low_min, self.centre.wait_high_min),
        )

    def _window_minutes(self, at_ms: int, period: Period) -> int:
        since_opening = (at_ms - to_epoch_ms(period.start)) // 60_000
        limit = self.settings.throughput_window_min
        while self._exits and self._exits[0][0] < at_ms - limit * 60_000:
            self._exits.popleft()
        return int(min(limit, since_opening))

    def _wait(self, queue: int, exits: int, window_min: int) -> tuple[float, float, float]:
        day = self._day
        full = day.on_site >= self.centre.capacity
        ahead = max(queue, 1 if full else 0)
        if ahead == 0:
            return 0.0, 0.0, 0.0
        mean_stay = (
            day.on_site_minutes / day.exits_total
            if day.exits_total >= LEARN_EXITS
            else self.settings.service_min
        )
        prior_rate = max(day.on_site, 1) / mean_stay  # departures per minute
        rate = (exits + PRIOR_EXITS) / (window_min + PRIOR_EXITS / prior_rate)
        wait = ahead / rate
        cv2 = 1.0 / ahead + 1.0 / (exits + PRIOR_EXITS)
        sigma = math.sqrt(math.log1p(cv2))
        centre = wait / math.sqrt(1.0 + cv2)  # the median of a log-normal of mean ``wait``
        return wait, centre * math.exp(-Z_80 * sigma), centre * math.exp(Z_80 * sigma)

    def _state_level(self) -> Level:
        on_site, capacity = self._day.on_site, self.centre.capacity
        if on_site >= capacity:
            return Level.COMPLET
        if on_site >= self.settings.full_share * capacity:
            return Level.CHARGE
        return Level.FLUIDE

    def _drift(self, at: datetime) -> int | None:
        day = self._day
        if day.period is None:
            return None
        grace_s = self.settings.drift_grace_min * 60
        if (at - day.period.end).total_seconds() < grace_s:
            return None
        if day.raw != 0 and not day.drift_logged:
            day.drift_logged = True
            log.warning(
                "waste centre %s: gate counters drifted by %+d vehicles over the period %s-%s",
                self.centre.id, day.raw, day.period.start.isoformat(), day.period.end.isoformat(),
            )  # fmt: skip
        return day.raw


def level_of(wait_min: float, low_min: float, high_min: float) -> Level:
    if wait_min <= low_min:
        return Level.FLUIDE
    if wait_min <= high_min:
        return Level.MODERE
    return Level.CHARGE
