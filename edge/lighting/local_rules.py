"""Edge-local adaptive lighting: a loop station on this gateway raises a group's level.

The rule watches the loop station's readings as they are stored (``ReadingBatcher.observe``, no
extra polling). Each reading's ``laneN_interval_count`` values (vehicles in the station's last
complete interval of ``interval_s`` seconds) give a rate in vehicles per hour; the rule averages the
rates of the readings of the last ``window_s`` seconds and picks the highest step whose ``min_vph``
it reaches. That level is held as a ``raise`` for ``hold_s``: a higher level replaces it at once, a
lower one only once the hold ran out. The executor is woken synchronously, so the light reacts
within a tick of the reading arriving. The raise counts only while the program has the light on.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

from eclor.clock import Clock, to_epoch_ms
from eclor.wire import Reading
from edge.lighting.config import LocalRuleConfig
from edge.lighting.executor import LightingExecutor

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_S = 60.0


class LocalRule:
    def __init__(self, config: LocalRuleConfig, executor: LightingExecutor, clock: Clock) -> None:
        self.config = config
        self._executor = executor
        self._clock = clock
        self._fields = [f"lane{lane}_interval_count" for lane in config.lanes]
        self._samples: deque[tuple[int, float]] = deque()
        self._interval_s = DEFAULT_INTERVAL_S
        self._held: tuple[float, int] | None = None  # level, until (epoch ms)

    def __call__(self, readings: Sequence[Reading]) -> None:
        for reading in readings:
            if reading.device == self.config.device:
                self._take(reading)

    def _take(self, reading: Reading) -> None:
        interval = reading.fields.get("interval_s")
        if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0:
            self._interval_s = float(interval)
        counts = [reading.fields.get(name) for name in self._fields]
        if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in counts):
            return
        vehicles = sum(float(c) for c in counts if isinstance(c, int | float))
        self._samples.append((reading.time, vehicles * 3600 / self._interval_s))
        horizon = reading.time - int(self.config.window_s * 1000)
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        self.decide()

    @property
    def vehicles_per_hour(self) -> float:
        if not self._samples:
            return 0.0
        return sum(rate for _, rate in self._samples) / len(self._samples)

    def level_for(self, vph: float) -> float:
        level = self.config.steps[0].level_pct
        for step in self.config.steps:
            if vph >= step.min_vph:
                level = step.level_pct
        return level

    def decide(self) -> None:
        vph = self.vehicles_per_hour
        group = self.config.group
        self._executor.metrics.lighting_local_vph.labels(group).set(vph)
        level = self.level_for(vph)
        now_ms = to_epoch_ms(self._clock.now())
        held = self._held
        if held is not None and level < held[0] and now_ms < held[1]:
            return  # a higher level holds until its hold time ran out
        until = now_ms + int(self.config.hold_s * 1000)
        if held is None or level != held[0]:
            log.info("local rule on %s: %.0f vehicles/h -> %.0f %%", group, vph, level)
        self._held = (level, until)
        self._executor.set_local_raise(group, level, until)
