"""One simulated DALI-2 LED control gear (IEC 62386-102 + 207, D4i parts 252 and 253).

The gear keeps its level as a float that moves linearly in arc levels during a fade, and advances
lazily: whenever anything reads or changes it, it first integrates energy, lamp on-time and gear
operating time from the last instant it was looked at up to ``clock.monotonic()``, ending fades
and applying the SYSTEM FAILURE LEVEL at the moment they were due. So a ``ManualClock`` steps a
night in one call, and a scaled clock runs one faster, with exact energy over fades.

What it draws: ``standby_w`` while powered plus ``rated_power_w`` times the light fraction while
the lamp is lit (see ``physics``). The lamp is lit when the level is above 0 and neither a lamp
failure nor a gear failure is set. A gear that is "unresponsive" (a broken DALI interface or
wiring) keeps lighting as it was told but neither hears nor answers the bus.

The DALI commands themselves are in ``commands``; this module is the state they act on.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Protocol

from simulators.dali import commands, memory, physics
from simulators.dali.frames import Addressed, Special
from simulators.dali.physics import MASK

BUS_FAILURE_S = 0.55  # bus lost longer than this: go to SYSTEM FAILURE LEVEL
NO_SHORT_ADDRESS = None


class Clock(Protocol):
    """Any clock with a monotonic reading in seconds (``eclor.clock`` clocks qualify)."""

    def monotonic(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class GearSettings:
    """The persistent (NVM) variables, at their RESET values by default (IEC 62386-102 table 14)."""

    min_level: int = 1
    max_level: int = 254
    power_on_level: int = 254
    system_failure_level: int = 254
    fade_time: int = 0
    fade_rate: int = 7
    extended_fade_base: int = 0
    extended_fade_multiplier: int = 0
    scenes: list[int] = field(default_factory=lambda: [MASK] * 16)
    groups: set[int] = field(default_factory=set)
    operating_mode: int = 0


@dataclass(frozen=True)
class Fade:
    start_level: float
    end_level: float  # a lit level: a fade to off runs down to the minimum level
    final_level: int  # the level once the fade is over (0 for a fade to off)
    t0: float
    t1: float

    def level_at(self, t: float) -> float:
        share = min(1.0, max(0.0, (t - self.t0) / (self.t1 - self.t0)))
        return self.start_level + (self.end_level - self.start_level) * share


@dataclass
class Counters:
    """Integrated quantities, from commissioning."""

    energy_j: float = 0.0
    on_time_s: float = 0.0
    operating_time_s: float = 0.0
    lamp_starts: int = 0
    gear_starts: int = 0
    lamp_failures: int = 0
    gear_failures: int = 0
    on_time_offset_s: float = 0.0  # for the resettable on-time in bank 206
    lamp_starts_offset: int = 0


class ControlGear:
    """A DALI LED driver with its lamp. Read ``actual_level``, ``power_w``, ``energy_wh`` …"""

    def __init__(
        self,
        short_address: int | None,
        *,
        clock: Clock | None = None,
        rated_power_w: float = 60.0,
        standby_w: float = 0.5,
        physical_minimum: int = 1,
        device_types: tuple[int, ...] = (6, 51, 52),
        lamp_voltage_v: float = 48.0,
        serial: int = 1,
        seed: int | None = None,
        initial_level: int = 0,
    ) -> None:
        if short_address is not None and not 0 <= short_address <= 63:
            raise ValueError(f"short address must be 0..63, got {short_address}")
        self.short_address: int | None = short_address
        self.clock: Clock = clock or SystemClock()
        self.rated_power_w: float = rated_power_w
        self.standby_w: float = standby_w
        self.physical_minimum: int = physical_minimum
        self.device_types: tuple[int, ...] = device_types
        self.lamp_voltage_v: float = lamp_voltage_v
        self.settings: GearSettings = GearSettings(min_level=physical_minimum)
        self.counters: Counters = Counters()
        self.limit_error: bool = False
        self.power_cycle_seen: bool = False
        self.last_active_level: int = physics.MAX_ARC_LEVEL
        self._t = self.clock.monotonic()
        self._level = float(initial_level)
        self._fade: Fade | None = None
        self._mains = True
        self._responsive = True
        self._lamp_failure = False
        self._gear_failure = False
        self._bus_down = False
        self._bus_lost_at: float | None = None  # when the pending 550 ms count started
        self._was_lit = self._lit()
        rng = random.Random(seed if seed is not None else serial)
        self.protocol: commands.ProtocolState = commands.ProtocolState(rng)
        self.banks: dict[int, memory.MemoryBankModel] = self._build_banks(serial)

    # --- reading ---------------------------------------------------------------------------

    @property
    def actual_level(self) -> int:
        """What QUERY ACTUAL LEVEL answers: the level now, mid-fade included (0 = off)."""
        self.advance()
        return round(self._level)

    @property
    def target_level(self) -> int:
        self.advance()
        return self._fade.final_level if self._fade else round(self._level)

    @property
    def fade_running(self) -> bool:
        self.advance()
        return self._fade is not None

    @property
    def lamp_on(self) -> bool:
        self.advance()
        return self._lit()

    @property
    def light_percent(self) -> float:
        """Light output in % of full (0 when the lamp is off or failed)."""
        return physics.light_percent(self._level) if self.lamp_on else 0.0

    @property
    def power_w(self) -> float:
        """Electrical input power now, in W."""
        self.advance()
        if not self._mains:
            return 0.0
        fraction = physics.light_fraction(self._level)
        return physics.power_w(self.rated_power_w, self.standby_w, fraction, self._lit())

    @property
    def energy_wh(self) -> float:
        self.advance()
        return self.counters.energy_j / 3600.0

    @property
    def on_time_s(self) -> float:
        self.advance()
        return self.counters.on_time_s

    @property
    def operating_time_s(self) -> float:
        self.advance()
        return self.counters.operating_time_s

    @property
    def groups(self) -> frozenset[int]:
        return frozenset(self.settings.groups)

    @property
    def powered(self) -> bool:
        """Whether the gear has mains."""
        return self._mains

    @property
    def responsive(self) -> bool:
        """Whether the gear hears and answers the bus (powered, interface working)."""
        return self._mains and self._responsive

    @property
    def lamp_failure(self) -> bool:
        return self._lamp_failure

    @property
    def gear_failure(self) -> bool:
        return self._gear_failure

    @property
    def status(self) -> int:
        """The QUERY STATUS byte."""
        self.advance()
        bits = (
            self._gear_failure,
            self._lamp_failure,
            self._lit(),
            self.limit_error,
            self._fade is not None,
            self.in_reset_state,
            self.short_address is None,
            self.power_cycle_seen,
        )
        return sum(1 << i for i, bit in enumerate(bits) if bit)

    @property
    def in_reset_state(self) -> bool:
        return self.settings == GearSettings(min_level=self.physical_minimum)

    # --- faults and power --------------------------------------------------------------------

    def set_lamp_failure(self, failed: bool = True) -> None:
        self.advance()
        if failed and not self._lamp_failure:
            self.counters.lamp_failures += 1
        self._lamp_failure = failed
        self._note_lamp()

    def set_gear_failure(self, failed: bool = True) -> None:
        self.advance()
        if failed and not self._gear_failure:
            self.counters.gear_failures += 1
        self._gear_failure = failed
        self._note_lamp()

    def set_responsive(self, responsive: bool = True) -> None:
        """False: the gear is missing from the bus (no answers, ignores commands)."""
        self._responsive = responsive

    def mains_off(self) -> None:
        self.advance()
        self._mains = False
        self._fade = None
        self._level = 0.0
        self._note_lamp()

    def mains_on(self) -> None:
        """Mains back: go to POWER ON LEVEL (MASK: the last active level), no fade."""
        now = self.advance()
        if self._mains:
            return
        self._mains = True
        self.counters.gear_starts += 1
        self.power_cycle_seen = True
        self.protocol.power_up()
        for bank in self.banks.values():
            bank.power_up()
        level = self.settings.power_on_level
        self._set_now(
            self.last_active_level if level == MASK else self._clip(level, note_limit=False)
        )
        self._bus_lost_at = now if self._bus_down else None  # the 550 ms count starts again

    def power_cycle(self) -> None:
        self.mains_off()
        self.mains_on()

    def bus_lost(self) -> None:
        """The bus lost power: after 550 ms the gear goes to its SYSTEM FAILURE LEVEL."""
        if not self._bus_down:
            self._bus_down = True
            self._bus_lost_at = self.advance()

    def bus_restored(self) -> None:
        self.advance()
        self._bus_down = False
        self._bus_lost_at = None

    # --- level changes used by the commands --------------------------------------------------

    def fade_duration_s(self) -> float:
        s = self.settings
        if s.fade_time:
            return physics.fade_time_s(s.fade_time)
        return physics.extended_fade_time_s(s.extended_fade_base, s.extended_fade_multiplier)

    def go_to(self, level: int, *, fade: bool) -> None:
        """An arc power command: clip to min/max (noting a limit error) and fade or jump."""
        now = self.advance()
        self.power_cycle_seen = False
        if level == MASK:
            self._fade = None  # stop a running fade where it is
            return
        target = self._clip(level)
        if target > 0:
            self.last_active_level = target
        self._start_fade(now, target, self.fade_duration_s() if fade else 0.0)

    def fade_by(self, steps: float) -> None:
        """UP/DOWN: move at the fade rate for 200 ms, within min..max, never from or to off."""
        now = self.advance()
        self.power_cycle_seen = False
        if self._level <= 0:
            return
        s = self.settings
        target = min(s.max_level, max(s.min_level, round(self._level + steps)))
        self.last_active_level = target
        self._start_fade(now, target, 0.2)

    def step(self, delta: int) -> None:
        """STEP UP / STEP DOWN: one level at once, within min..max; nothing when off."""
        self.advance()
        self.power_cycle_seen = False
        self._fade = None
        level = round(self._level)
        if level <= 0:
            return
        s = self.settings
        self._set_now(min(s.max_level, max(s.min_level, level + delta)))
        self.last_active_level = round(self._level)

    def set_level_now(self, level: int) -> None:
        """Jump without fade (OFF, STEP DOWN AND OFF, ON AND STEP UP, RESET)."""
        self.advance()
        self.power_cycle_seen = False
        self._set_now(level)
        if level > 0:
            self.last_active_level = level

    def limit_to_range(self) -> None:
        """After SET MIN/MAX LEVEL: bring a lit level back into range."""
        self.advance()
        level = round(self._level)
        if level > 0 and self._fade is None:
            self._set_now(min(self.settings.max_level, max(self.settings.min_level, level)))

    # --- the bus -------------------------------------------------------------------------------

    def receive(self, decoded: Addressed | Special, frame_index: int) -> int | None:
        """Act on a forward frame; the answer byte, or None for no answer."""
        if not self.responsive:
            return None
        self.advance()
        return commands.execute(self, decoded, frame_index)

    def addressed_by(self, decoded: Addressed) -> bool:
        return commands.is_addressed(self, decoded)

    # --- time ----------------------------------------------------------------------------------

    def advance(self) -> float:
        """Integrate up to now, ending fades and applying a due SYSTEM FAILURE LEVEL."""
        now = self.clock.monotonic()
        if self._bus_lost_at is not None and self._mains:
            due = self._bus_lost_at + BUS_FAILURE_S
            if due <= now:
                self._integrate_to(due)
                self._bus_lost_at = None  # applied once per outage
                level = self.settings.system_failure_level
                if level != MASK:
                    self._set_now(self._clip(level, note_limit=False))
        self._integrate_to(now)
        return now

    def _integrate_to(self, t: float) -> None:
        while t > self._t:
            fade = self._fade
            if fade is None:
                self._accumulate(t - self._t, self._level, self._level)
                self._t = t
                return
            end = min(t, fade.t1)
            self._accumulate(end - self._t, fade.level_at(self._t), fade.level_at(end))
            self._t = end
            if end >= fade.t1:
                self._fade = None
                self._level = float(fade.final_level)
                self._note_lamp()
            else:
                self._level = fade.level_at(end)

    def _accumulate(self, dt: float, level_from: float, level_to: float) -> None:
        if not self._mains or dt <= 0:
            return
        c = self.counters
        c.operating_time_s += dt
        c.energy_j += self.standby_w * dt
        if self._output_ok() and level_from > 0 and level_to > 0:
            c.on_time_s += dt
            c.energy_j += self.rated_power_w * physics.light_integral(level_from, level_to, dt)

    def _start_fade(self, now: float, target: int, duration: float) -> None:
        current = self._level
        if duration <= 0 or (current <= 0 and target == 0):
            self._set_now(target)
            return
        start = current if current > 0 else float(self.settings.min_level)
        end = float(target if target > 0 else self.settings.min_level)
        self._level = start
        self._fade = Fade(start, end, target, now, now + duration)
        self._note_lamp()

    def _set_now(self, level: int) -> None:
        self._fade = None
        self._level = float(level)
        self._note_lamp()

    def _clip(self, level: int, *, note_limit: bool = True) -> int:
        s = self.settings
        clipped = 0 if level == 0 else min(s.max_level, max(s.min_level, level))
        if note_limit:
            self.limit_error = clipped != level
        return clipped

    def _output_ok(self) -> bool:
        return self._mains and not self._lamp_failure and not self._gear_failure

    def _lit(self) -> bool:
        return self._output_ok() and self._level > 0

    def _note_lamp(self) -> None:
        lit = self._lit()
        if lit and not self._was_lit:
            self.counters.lamp_starts += 1
        self._was_lit = lit

    # --- memory banks --------------------------------------------------------------------------

    def reset_settings(self) -> None:
        """RESET: persistent variables to their reset values (short address kept), level 254."""
        self.settings = GearSettings(min_level=self.physical_minimum)
        self.limit_error = False
        self.set_level_now(physics.MAX_ARC_LEVEL)

    def _build_banks(self, serial: int) -> dict[int, memory.MemoryBankModel]:
        c = self.counters

        def reset_on_time(seconds: int) -> None:
            self.advance()
            c.on_time_offset_s = c.on_time_s - seconds

        def reset_starts(count: int) -> None:
            c.lamp_starts_offset = c.lamp_starts - count

        def lamp_current_a() -> float:
            return self.power_w_output() / self.lamp_voltage_v if self.lamp_on else 0.0

        gear = memory.GearDiagnostics(
            operating_time_s=lambda: self.operating_time_s,
            start_count=lambda: c.gear_starts,
            failure=lambda: self._gear_failure,
            failure_count=lambda: c.gear_failures,
            output_percent=lambda: self.light_percent,
        )
        lamp = memory.LightSourceDiagnostics(
            on_time_s=lambda: self.on_time_s,
            on_time_resettable_s=lambda: self.on_time_s - c.on_time_offset_s,
            reset_on_time=reset_on_time,
            start_count=lambda: c.lamp_starts,
            start_count_resettable=lambda: c.lamp_starts - c.lamp_starts_offset,
            reset_start_count=reset_starts,
            voltage_v=lambda: self.lamp_voltage_v if self.lamp_on else 0.0,
            current_a=lamp_current_a,
            failure=lambda: self._lamp_failure,
            failure_count=lambda: c.lamp_failures,
        )
        banks = [
            memory.bank0(memory.Identity(serial=serial)),
            memory.bank202(lambda: self.energy_wh, lambda: self.power_w),
            memory.bank205(gear),
            memory.bank206(lamp),
        ]
        return {bank.number: bank for bank in banks}

    def power_w_output(self) -> float:
        """Power delivered to the light source (without standby), in W."""
        return self.rated_power_w * self.light_percent / 100.0

    def __repr__(self) -> str:
        return (
            f"ControlGear(A{self.short_address}, level={self.actual_level}, "
            f"power={self.power_w:.1f} W)"
        )
