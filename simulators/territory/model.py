"""The territory twin: every cabinet, loop station and waste centre, moved by one clock.

One :class:`Territory` object owns the models of a whole scenario and advances them together from
one task (never one task per device), whatever the step: each model integrates exactly over the
interval it is given, and scheduled faults cut the interval so they happen at their own instant.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from eclor.clock import Clock
from simulators.territory.faults import EVENT_KINDS, FaultAction, apply
from simulators.territory.parts import Parts

StepHook = Callable[[datetime], None]


class Territory:
    """All the models of a scenario, at one simulated instant (:attr:`now`)."""

    def __init__(self, parts: Parts, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the territory needs an aware start time")
        self.parts = parts
        self.started_at = start
        self.now = start
        self._faults: list[tuple[datetime, int, FaultAction]] = []
        self._order = itertools.count()
        for cabinet in parts.cabinets.values():
            cabinet.start(start)
        for centre in parts.waste_centres.values():
            centre.start(start)

    # -- faults ----------------------------------------------------------------------------

    def inject(self, action: FaultAction) -> None:
        """Raise (or lift) a fault now; one with ``duration_s`` is lifted by itself later."""
        apply(self.parts, action)
        if action.duration_s is not None and not action.clear and action.kind not in EVENT_KINDS:
            self.schedule(self.now + timedelta(seconds=action.duration_s), action.lifted())

    def schedule(self, at: datetime, action: FaultAction) -> None:
        """Raise (or lift) a fault at simulated time ``at`` (at once if already past)."""
        heapq.heappush(self._faults, (at, next(self._order), action))

    def schedule_after(self, seconds: float, action: FaultAction) -> None:
        """Raise a fault ``seconds`` of simulated time after the territory's start."""
        self.schedule(self.started_at + timedelta(seconds=seconds), action)

    # -- time ------------------------------------------------------------------------------

    def advance_to(self, moment: datetime) -> None:
        """Move every model to ``moment``, playing the faults due on the way at their instant."""
        while self._faults and self._faults[0][0] <= moment:
            at, _, action = heapq.heappop(self._faults)
            self._advance_models(max(at, self.now))
            self.inject(action)
        self._advance_models(moment)

    async def run(self, clock: Clock, step_s: float, on_step: StepHook | None = None) -> None:
        """Follow ``clock`` forever in steps of ``step_s`` clock seconds (cancel to stop)."""
        self.advance_to(clock.now())
        while True:
            await clock.sleep(step_s)
            self.advance_to(clock.now())
            if on_step is not None:
                on_step(self.now)

    def _advance_models(self, moment: datetime) -> None:
        start = self.now
        if moment <= start:
            return
        for cabinet in self.parts.cabinets.values():
            cabinet.advance(start, moment)
        for station in self.parts.loop_stations.values():
            station.advance(start, moment)
        for centre in self.parts.waste_centres.values():
            centre.advance(start, moment)
        self.now = moment
