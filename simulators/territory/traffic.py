"""Traffic at inductive-loop stations: daily profiles, Poisson arrivals, interval statistics.

Per lane, vehicles arrive as a Poisson process whose rate follows a daily profile (vehicles/h) in
local time: on weekdays a morning and an evening peak over a daytime plateau (a ``commuter_in`` lane
peaks mostly in the morning, ``commuter_out`` in the evening), at weekends a single broad midday
hump, lower on Sunday. ``peak_vph`` is the weekday peak.

Each interval (``interval_s``, aligned on the clock, e.g. every minute) the station publishes per
lane the vehicle count, the occupancy (share of the interval the loop was covered: the sum over
vehicles of (vehicle length + loop length) / speed) and, for double-loop stations, the mean speed
(0 when nobody passed). Speeds fall with flow (a simple speed–flow curve); trucks are longer and a
little slower.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from simulators.state import LaneState, LoopStationState
from simulators.territory.localtime import local_hour, pieces
from simulators.territory.randomness import binomial, poisson

CAR_LENGTH_M = 4.5
TRUCK_LENGTH_M = 14.0
LOOP_LENGTH_M = 2.0
LANE_CAPACITY_VPH = 1800.0
MAX_PIECE_S = 60


def multiples_within(start: datetime, end: datetime, period_s: int) -> list[datetime]:
    """Instants strictly inside (start, end) that are whole multiples of ``period_s`` since 1970."""
    first = math.floor(start.timestamp()) // period_s + 1
    found: list[datetime] = []
    index = first
    while True:
        moment = datetime.fromtimestamp(index * period_s, UTC)
        if moment >= end:
            return found
        if moment > start:
            found.append(moment)
        index += 1


class Profile(StrEnum):
    URBAN = "urban"
    COMMUTER_IN = "commuter_in"
    COMMUTER_OUT = "commuter_out"


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-((hour - centre) ** 2) / (2.0 * width * width))


def _plateau(hour: float, rise: float, fall: float) -> float:
    return 1.0 / (1.0 + math.exp(-(hour - rise) * 2.0)) / (1.0 + math.exp((hour - fall) * 2.0))


_PEAKS = {
    Profile.URBAN: (0.55, 0.55),
    Profile.COMMUTER_IN: (0.7, 0.2),
    Profile.COMMUTER_OUT: (0.2, 0.7),
}


def _weekday_shape(profile: Profile, hour: float) -> float:
    morning, evening = _PEAKS[profile]
    return (
        0.03
        + 0.35 * _plateau(hour, 6.5, 20.5)
        + morning * _bump(hour, 8.0, 0.9)
        + evening * _bump(hour, 17.5, 1.2)
    )


def _weekend_shape(hour: float) -> float:
    return 0.04 + 0.5 * _bump(hour, 13.0, 3.0) + 0.08 * _plateau(hour, 9.0, 22.0)


_WEEKDAY_MAX = {
    profile: max(_weekday_shape(profile, minute / 60.0) for minute in range(24 * 60))
    for profile in Profile
}


def profile_share(profile: Profile, weekday: int, hour: float) -> float:
    """Share of the weekday peak flow at local ``hour`` of a day (``weekday`` 0 = Monday).

    Weekdays peak at exactly 1; Saturdays reach about 0.6 and Sundays 0.45 of that.
    """
    peak = _WEEKDAY_MAX[profile]
    if weekday >= 5:
        sunday = 0.75 if weekday == 6 else 1.0
        return sunday * _weekend_shape(hour) / peak
    return _weekday_shape(profile, hour) / peak


@dataclass(frozen=True)
class LaneConfig:
    peak_vph: float
    profile: Profile = Profile.URBAN
    free_speed_kmh: float = 50.0
    truck_share: float = 0.08


@dataclass
class _Tally:
    count: int = 0
    occupied_s: float = 0.0
    speed_sum: float = 0.0


class LoopStationModel:
    """Drives one :class:`LoopStationState`, every lane from its own random stream."""

    def __init__(
        self,
        name: str,
        lanes: list[LaneConfig],
        state: LoopStationState,
        zone: ZoneInfo,
        rng: random.Random,
        double_loop: bool,
    ) -> None:
        self.name = name
        self.lanes = lanes
        self.state = state
        self.double_loop = double_loop
        self._zone = zone
        self._rng = rng
        self._tallies = [_Tally() for _ in lanes]
        state.lanes = [LaneState(speed_kmh=0.0 if double_loop else None) for _ in lanes]

    def rate_vph(self, lane: int, moment: datetime) -> float:
        local = moment.astimezone(self._zone)
        config = self.lanes[lane]
        return config.peak_vph * profile_share(
            config.profile, local.weekday(), local_hour(moment, self._zone)
        )

    def advance(self, start: datetime, end: datetime) -> None:
        """Count the vehicles that pass in (start, end], closing every interval it crosses."""
        for piece_start, piece_end in pieces(start, end, self._cuts(start, end)):
            for lane in range(len(self.lanes)):
                self._traffic(lane, piece_start, piece_end)
            if self._is_boundary(piece_end):
                self._close_interval()

    def _cuts(self, start: datetime, end: datetime) -> list[datetime]:
        """Interval boundaries, and a cut at least every minute so the rate is sampled finely."""
        return sorted(
            {
                *multiples_within(start, end, self.state.interval_s),
                *multiples_within(start, end, MAX_PIECE_S),
            }
        )

    def _is_boundary(self, moment: datetime) -> bool:
        return moment.timestamp() % self.state.interval_s == 0 and moment.microsecond == 0

    def _traffic(self, lane: int, start: datetime, end: datetime) -> None:
        seconds = (end - start).total_seconds()
        middle = start + (end - start) / 2
        flow_vph = self.rate_vph(lane, middle)
        count = poisson(self._rng, flow_vph * seconds / 3600.0)
        if count == 0:
            return
        config = self.lanes[lane]
        trucks = binomial(self._rng, count, config.truck_share)
        congestion = 1.0 - 0.35 * min(1.0, flow_vph / LANE_CAPACITY_VPH) ** 2
        spread = 4.0 / math.sqrt(count)
        car_kmh = max(5.0, self._rng.gauss(config.free_speed_kmh * congestion, spread))
        truck_kmh = max(5.0, car_kmh - 5.0)
        cars = count - trucks
        tally = self._tallies[lane]
        tally.count += count
        tally.occupied_s += cars * (CAR_LENGTH_M + LOOP_LENGTH_M) / (car_kmh / 3.6)
        tally.occupied_s += trucks * (TRUCK_LENGTH_M + LOOP_LENGTH_M) / (truck_kmh / 3.6)
        tally.speed_sum += cars * car_kmh + trucks * truck_kmh
        self.state.lanes[lane].vehicle_count += count

    def _close_interval(self) -> None:
        for lane_state, tally in zip(self.state.lanes, self._tallies, strict=True):
            lane_state.interval_count = tally.count
            lane_state.occupancy_pct = min(100.0, 100.0 * tally.occupied_s / self.state.interval_s)
            if self.double_loop:
                lane_state.speed_kmh = tally.speed_sum / tally.count if tally.count else 0.0
        self._tallies = [_Tally() for _ in self.lanes]
