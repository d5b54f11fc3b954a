"""DALI luminaires behind a cabinet's contactors.

The gear of a DALI line fed by a circuit lose their mains when its contactor opens and go to their
POWER ON LEVEL when it closes; their level is whatever the DALI bus (the edge) sets — the cabinet's
dim setpoint does not reach them. They integrate their own energy, fades included
(:mod:`simulators.dali.gear`), up to their clock's now; the cabinet's meter adds the difference at
each step, so mains switch at a step's end (a second at most when serving, a minute in backfill).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from simulators.territory.electrical import PhaseLoad
from simulators.territory.lamps import luminaire_power_factor


class DaliGear(Protocol):
    """What a cabinet needs of a simulated DALI control gear (:class:`ControlGear` has it)."""

    @property
    def power_w(self) -> float: ...

    @property
    def energy_wh(self) -> float: ...

    @property
    def light_percent(self) -> float: ...

    def mains_on(self) -> None: ...

    def mains_off(self) -> None: ...


@dataclass
class DaliFeed:
    """The DALI gear on one circuit."""

    circuit: int
    gear: Sequence[DaliGear]
    powered: bool = True


class DaliFeeds:
    """Every DALI feed of one cabinet."""

    def __init__(self, feeds: Sequence[DaliFeed]) -> None:
        """Start with every feed unpowered, so the first :meth:`follow` powers the lit ones up
        (to their POWER ON LEVEL, as when the contactor closed)."""
        self._feeds = list(feeds)
        for feed in self._feeds:
            for gear in feed.gear:
                gear.mains_off()
            feed.powered = False
        self._counted_wh = self.energy_wh()

    def follow(self, contactors: Sequence[bool]) -> None:
        """Switch each feed's mains to its contactor's position."""
        for feed in self._feeds:
            closed = contactors[feed.circuit]
            if closed == feed.powered:
                continue
            for gear in feed.gear:
                if closed:
                    gear.mains_on()
                else:
                    gear.mains_off()
            feed.powered = closed

    @property
    def active(self) -> bool:
        """Whether there are DALI gear at all (their power changes without the cabinet knowing)."""
        return bool(self._feeds)

    def energy_wh(self) -> float:
        return sum(gear.energy_wh for feed in self._feeds for gear in feed.gear)

    def new_energy_wh(self) -> float:
        """Energy drawn since the last call (or since construction)."""
        if not self._feeds:
            return 0.0
        total = self.energy_wh()
        delta, self._counted_wh = total - self._counted_wh, total
        return delta

    def add_loads(self, loads: list[PhaseLoad]) -> None:
        """Add each gear's power to a phase, round-robin by position on the line."""
        for feed in self._feeds:
            for index, gear in enumerate(feed.gear):
                power = gear.power_w
                if power > 0.0:
                    factor = luminaire_power_factor(gear.light_percent / 100.0)
                    loads[index % len(loads)].add(power, factor)
