"""A lighting cabinet: its contactors, its luminaires, and the meter that sees them.

How the built-in program and commands interact
----------------------------------------------
A cabinet starts in ``autonomous`` mode: its own photocell/astronomical program (see
:mod:`simulators.territory.program`) closes the contactors between dusk and dawn and sets the dim
setpoint, and the controller's coils read back what the program commands, so a demo shows a living
territory before any edge agent drives it. The first write of a coil or of the dim setpoint by
anyone else (the Modbus controller executing an edge's write, even of the current value) switches
the cabinet to ``commanded`` mode for good, as a real controller switched to remote control: from
then on the model never touches contactors or setpoint. :meth:`CabinetModel.set_mode` switches back
(Python API, tests).

In both modes :class:`~simulators.state.CabinetState` is the truth for the meter: the load is what
its contactors and dim setpoint say, after faults: a stuck contactor keeps its position whatever
its coil says; a day-burner (a photocell stuck on "dark", or a bypass switch left on) keeps every
circuit closed. Luminaires are LED (see :mod:`simulators.territory.lamps`); DALI gear on a circuit
are handled by :mod:`simulators.territory.dali_feed`.

Energy is integrated exactly: a step is cut wherever the program may change (switch times, dim
steps) or a fault happens, and between cuts the load is constant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from simulators.state import MeterState
from simulators.territory.dali_feed import DaliFeed, DaliFeeds
from simulators.territory.electrical import PhaseLoad, Supply, add_energy, refresh_meter
from simulators.territory.lamps import (
    STANDBY_POWER_FACTOR,
    luminaire_power_factor,
    luminaire_power_w,
    setpoint_light,
)
from simulators.territory.localtime import pieces
from simulators.territory.program import LocalProgram
from simulators.territory.watched import WatchedCabinetState


class CabinetMode(StrEnum):
    AUTONOMOUS = "autonomous"
    COMMANDED = "commanded"


@dataclass(frozen=True)
class CabinetConfig:
    """The electrical make-up of a cabinet."""

    luminaires: tuple[int, ...]  # per circuit
    luminaire_w: float
    standby_w: float = 4.0
    phases: int = 3  # as seen by its meter: 1 for a single-phase meter

    @property
    def installed_w(self) -> float:
        return sum(self.luminaires) * self.luminaire_w


class CabinetModel:
    """Drives a cabinet's state and the :class:`MeterState` of the meter behind it.

    ``command_mirror`` is the controller's record of its coils (the Modbus device's ``commanded``
    list): in autonomous mode the program writes its commands there too.
    """

    def __init__(
        self,
        name: str,
        config: CabinetConfig,
        program: LocalProgram,
        state: WatchedCabinetState,
        supply: Supply,
        meter: MeterState | None = None,
        dali: Sequence[DaliFeed] = (),
    ) -> None:
        self.name = name
        self.config = config
        self.program = program
        self.state = state
        self.meter = meter
        self.mode = CabinetMode.AUTONOMOUS
        self.command_mirror: list[bool] | None = None
        self._supply = supply
        self._failed = [0] * len(config.luminaires)
        self._day_burner = False
        self._stuck_closed: bool | None = None
        self._writes_seen = state.external_writes
        self._dali = DaliFeeds(dali)
        self._loads: tuple[tuple[tuple[bool, ...], int, tuple[int, ...]], list[PhaseLoad]] | None
        self._loads = None

    # -- stepping ---------------------------------------------------------------------------

    def start(self, moment: datetime) -> None:
        """Put the cabinet and its meter in their state at ``moment`` (before the first step)."""
        self._apply_program(moment)
        self._dali.follow(self.state.contactors)
        self._dali.new_energy_wh()
        self._refresh(moment)

    def advance(self, start: datetime, end: datetime) -> None:
        """Move from ``start`` to ``end``: follow the program or the commands, count energy."""
        self._notice_commands()
        self._enforce_faults()
        cuts = self.program.breakpoints(start, end) if self.mode is CabinetMode.AUTONOMOUS else []
        for piece_start, piece_end in pieces(start, end, cuts):
            self._apply_program(piece_start)
            if self.meter is not None:
                seconds = (piece_end - piece_start).total_seconds()
                add_energy(self.meter, self.own_power_w() * seconds)
        if self.meter is not None:
            add_energy(self.meter, self._dali.new_energy_wh() * 3600.0)
        self._apply_program(end)
        self._dali.follow(self.state.contactors)
        self._refresh(end)

    def set_mode(self, mode: CabinetMode) -> None:
        self.mode = mode
        self._writes_seen = self.state.external_writes

    # -- faults -----------------------------------------------------------------------------

    def fail_lamps(self, circuit: int, count: int) -> None:
        """``count`` luminaires of ``circuit`` stop drawing power (negative repairs them)."""
        total = self.config.luminaires[circuit]
        self._failed[circuit] = max(0, min(total, self._failed[circuit] + count))

    def set_day_burner(self, on: bool) -> None:
        self._day_burner = on
        if on:
            self._enforce_faults()
        else:
            self._follow_coils(range(len(self.state.contactors)))

    def stick_contactor(self, circuit: int | None, closed: bool | None = None) -> None:
        """Stick ``circuit``'s contactor where it is (or at ``closed``); ``None`` releases it.

        A stuck contactor set by someone else in the shared state (the Modbus device's own fault
        hook) is honoured too: it sticks where it was when the model first sees it. (Releasing it
        through that hook writes the contactor back, which the model takes for a command.)
        """
        released = self.state.stuck_contactor
        self.state.stuck_contactor = circuit
        self._stuck_closed = closed if circuit is not None else None
        if circuit is not None:
            self._enforce_faults()
        elif released is not None:
            self._follow_coils([released])

    def _follow_coils(self, circuits: Iterable[int]) -> None:
        """After a fault is lifted in commanded mode, contactors go back to what the coils say
        (in autonomous mode the program sets them at the next step)."""
        if self.mode is CabinetMode.COMMANDED and self.command_mirror is not None:
            with self.state.by_model():
                for circuit in circuits:
                    if circuit != self.state.stuck_contactor:
                        self.state.contactors[circuit] = self.command_mirror[circuit]

    # -- what the meter sees ----------------------------------------------------------------

    def phase_loads(self) -> list[PhaseLoad]:
        """Active and reactive load per phase (one entry for a single-phase meter)."""
        own = self._own_loads()
        if not self._dali.active:
            return own
        loads = [PhaseLoad(load.power_w, load.reactive_var) for load in own]
        self._dali.add_loads(loads)
        return loads

    def power_w(self) -> float:
        """Everything the meter sees: the cabinet's own load and any DALI gear it feeds."""
        return sum(load.power_w for load in self.phase_loads())

    def own_power_w(self) -> float:
        """The cabinet's electronics and its non-DALI luminaires."""
        return sum(load.power_w for load in self._own_loads())

    def _own_loads(self) -> list[PhaseLoad]:
        key = (tuple(self.state.contactors), self.state.dim_setpoint_pct, tuple(self._failed))
        if self._loads is None or self._loads[0] != key:
            self._loads = (key, self._luminaire_loads())
        return self._loads[1]

    def _luminaire_loads(self) -> list[PhaseLoad]:
        phases = self.config.phases
        loads = [PhaseLoad() for _ in range(phases)]
        loads[0].add(self.config.standby_w, STANDBY_POWER_FACTOR)
        light = setpoint_light(self.state.dim_setpoint_pct)
        each_w = luminaire_power_w(self.config.luminaire_w, light)
        power_factor = luminaire_power_factor(light)
        for circuit, count in enumerate(self.config.luminaires):
            if self.state.contactors[circuit]:
                working = count - self._failed[circuit]
                for phase in range(phases):
                    loads[phase].add(len(range(phase, working, phases)) * each_w, power_factor)
        return loads

    @property
    def lit(self) -> bool:
        return any(self.state.contactors)

    # -- internals --------------------------------------------------------------------------

    def _notice_commands(self) -> None:
        if self.state.external_writes != self._writes_seen:
            self._writes_seen = self.state.external_writes
            self.mode = CabinetMode.COMMANDED

    def _apply_program(self, moment: datetime) -> None:
        if self.mode is CabinetMode.AUTONOMOUS:
            output = self.program.at(moment, forced_dark=self._day_burner)
            wanted = [output.lit] * len(self.state.contactors)
            if self.state.contactors != wanted or self.state.dim_setpoint_pct != output.dim_pct:
                with self.state.by_model():
                    self.state.contactors[:] = wanted
                    self.state.dim_setpoint_pct = output.dim_pct
            if self.command_mirror is not None and self.command_mirror != wanted:
                self.command_mirror[:] = wanted
        self._enforce_faults()

    def _enforce_faults(self) -> None:
        stuck = self.state.stuck_contactor
        if not self._day_burner and stuck is None and self._stuck_closed is None:
            return
        with self.state.by_model():
            if self._day_burner:
                for circuit in range(len(self.state.contactors)):
                    self.state.contactors[circuit] = True
            stuck = self.state.stuck_contactor
            if stuck is None or not 0 <= stuck < len(self.state.contactors):
                self._stuck_closed = None
                return
            if self._stuck_closed is None:
                self._stuck_closed = self.state.contactors[stuck]
            self.state.contactors[stuck] = self._stuck_closed

    def _refresh(self, moment: datetime) -> None:
        if self.meter is not None:
            refresh_meter(self.meter, self.phase_loads(), self._supply, moment)
