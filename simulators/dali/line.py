"""A simulated DALI line: up to 64 control gear on one bus, with the bus's timing and rules.

``DaliLine.transmit`` is what an interface front-end (``luba``) calls for each forward frame: it
waits for the bus to be idle, occupies it for the forward frame (~16 ms) and, when some gear
answers, for the backward frame (~9.5 ms after), then leaves the settling time before the next
frame. With the defaults that makes about 32 commands or 21 queries per second; ``BusTiming.speed``
runs the bus faster for tests (it scales only the bus, not the gear's clock).

Rules applied here, because they concern the bus rather than one gear:

* configuration commands (RESET … ENABLE WRITE MEMORY, INITIALISE, RANDOMISE) act only when the
  identical frame arrives twice within 100 ms with no other frame between; a lone one is ignored;
* when several gear answer one query their backward frames collide: the reply is a framing error
  (as python-dali's own fake bus reports it). Real gear answering the same byte at the same
  instant can overlap cleanly; ``identical_answers_collide=False`` models that instead;
* no frame passes while the bus has no power (``bus_failure()``); each gear goes to its SYSTEM
  FAILURE LEVEL once the bus has been down for more than 550 ms (of the gear's clock).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulators.dali.errors import BusDownError
from simulators.dali.frames import Special, SpecialOp, decode, needs_sending_twice
from simulators.dali.gear import Clock, ControlGear, SystemClock

if TYPE_CHECKING:
    from simulators.dali.luba import LubaServer

MAX_GEAR = 64


@dataclass(frozen=True)
class BusTiming:
    """Bus timing in real seconds at ``speed`` 1; ``speed`` 20 runs the bus twenty times faster."""

    forward_frame_s: float = 0.016
    answer_s: float = 0.0095  # from the end of a forward frame to the end of its backward frame
    settle_after_command_s: float = 0.0153  # idle bus before the next forward frame
    settle_after_answer_s: float = 0.022
    send_twice_window_s: float = 0.100
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")

    def real(self, bus_seconds: float) -> float:
        return bus_seconds / self.speed


@dataclass(frozen=True)
class Reply:
    """What the master sees after a forward frame: nothing, one answer byte, or a collision."""

    value: int | None = None
    collision: bool = False

    @property
    def answered(self) -> bool:
        return self.value is not None or self.collision


NO_REPLY = Reply()


class DaliLine:
    """A bus with its gear. ``gear[i]`` starts with short address ``i``."""

    def __init__(
        self,
        gear_count: int = 0,
        *,
        clock: Clock | None = None,
        timing: BusTiming | None = None,
        rated_power_w: float = 60.0,
        standby_w: float = 0.5,
        identical_answers_collide: bool = True,
    ) -> None:
        if not 0 <= gear_count <= MAX_GEAR:
            raise ValueError(f"a DALI line carries 0..{MAX_GEAR} gear, not {gear_count}")
        self.clock: Clock = clock or SystemClock()
        self.timing = timing or BusTiming()
        self.identical_answers_collide = identical_answers_collide
        self.gear: list[ControlGear] = []
        self.frame_count = 0
        self.observers: list[Callable[[int, int, Reply], None]] = []  # (frame, bits, reply)
        self._bus_ok = True
        self._frame_index = 0
        self._pending_twice: tuple[int, float] | None = None  # first frame of a pair, its time
        self._device_type_context = 0
        self._bus_lock = asyncio.Lock()
        self._idle_at = 0.0
        for address in range(gear_count):
            self.add_gear(address, rated_power_w=rated_power_w, standby_w=standby_w)

    def add_gear(
        self,
        short_address: int | None,
        *,
        rated_power_w: float = 60.0,
        standby_w: float = 0.5,
        physical_minimum: int = 1,
        initial_level: int = 0,
    ) -> ControlGear:
        """Connect one more gear (see ``ControlGear``); its serial number is its slot + 1."""
        if len(self.gear) >= MAX_GEAR:
            raise ValueError(f"a DALI line carries at most {MAX_GEAR} gear")
        gear = ControlGear(
            short_address,
            clock=self.clock,
            rated_power_w=rated_power_w,
            standby_w=standby_w,
            physical_minimum=physical_minimum,
            initial_level=initial_level,
            serial=len(self.gear) + 1,
        )
        self.gear.append(gear)
        return gear

    def by_address(self, short_address: int) -> ControlGear | None:
        return next((g for g in self.gear if g.short_address == short_address), None)

    # --- faults and power ------------------------------------------------------------------

    @property
    def bus_ok(self) -> bool:
        return self._bus_ok

    def bus_failure(self) -> None:
        """The bus loses power (cut wire, failed bus supply) until ``bus_restore()``."""
        if self._bus_ok:
            self._bus_ok = False
            for gear in self.gear:
                gear.bus_lost()

    def bus_restore(self) -> None:
        if not self._bus_ok:
            self._bus_ok = True
            self._pending_twice = None
            for gear in self.gear:
                gear.bus_restored()

    def mains_off(self) -> None:
        """The cabinet contactor opens: every gear loses mains."""
        for gear in self.gear:
            gear.mains_off()

    def mains_on(self) -> None:
        for gear in self.gear:
            gear.mains_on()

    def power_cycle(self) -> None:
        """Mains off and on again: every gear goes to its POWER ON LEVEL."""
        self.mains_off()
        self.mains_on()

    @property
    def power_w(self) -> float:
        return sum(g.power_w for g in self.gear)

    @property
    def energy_wh(self) -> float:
        return sum(g.energy_wh for g in self.gear)

    # --- frames ------------------------------------------------------------------------------

    async def transmit(
        self,
        frame: int,
        bits: int = 16,
        *,
        repeat: bool = False,
        on_forward_frame: Callable[[], None] | None = None,
    ) -> Reply:
        """Put one forward frame on the bus in real time; ``on_forward_frame`` runs once it is sent.

        ``repeat``: the interface itself repeats the previous frame (send-twice), so the pair is
        within 100 ms by construction, whatever the host's scheduling delays. Raises
        ``BusDownError`` when the bus has no power.
        """
        loop = asyncio.get_running_loop()
        t = self.timing
        async with self._bus_lock:
            if not self._bus_ok:
                raise BusDownError()
            await asyncio.sleep(max(0.0, self._idle_at - loop.time()))
            await asyncio.sleep(t.real(t.forward_frame_s))
            if not self._bus_ok:
                raise BusDownError()
            reply = self.deliver(frame, bits, repeat=repeat)
            if on_forward_frame is not None:
                on_forward_frame()
            if reply.answered:
                await asyncio.sleep(t.real(t.answer_s))
                self._idle_at = loop.time() + t.real(t.settle_after_answer_s)
            else:
                self._idle_at = loop.time() + t.real(t.settle_after_command_s)
            return reply

    def deliver(self, frame: int, bits: int = 16, *, repeat: bool = False) -> Reply:
        """Hand one forward frame to every gear at once, without timing (also for unit tests).

        Without ``repeat``, a configuration frame pairs with an identical previous one only if it
        comes within 100 ms of bus time (``BusTiming.speed`` times the wall clock).
        """
        if not self._bus_ok:
            raise BusDownError()
        self.frame_count += 1
        reply = self._deliver(frame, bits, repeat)
        for observer in self.observers:
            observer(frame, bits, reply)
        return reply

    def _deliver(self, frame: int, bits: int, repeat: bool) -> Reply:
        index, self._frame_index = self._frame_index, self._frame_index + 1
        now = time.monotonic() * self.timing.speed  # bus time
        pending, self._pending_twice = self._pending_twice, None
        decoded = decode(frame) if bits == 16 else None
        if decoded is None:
            return NO_REPLY  # control device (24-bit) or reserved frames: gear ignore them
        if needs_sending_twice(frame, self._device_type_context):
            first = (
                pending is None
                or pending[0] != frame
                or (not repeat and now - pending[1] > self.timing.send_twice_window_s)
            )
            if first:
                self._pending_twice = (frame, now)
                return NO_REPLY
        self._device_type_context = 0
        if isinstance(decoded, Special) and decoded.opcode == SpecialOp.ENABLE_DEVICE_TYPE:
            self._device_type_context = decoded.data
        answers = [a for g in self.gear if (a := g.receive(decoded, index)) is not None]
        return self._combine(answers)

    def _combine(self, answers: list[int]) -> Reply:
        if not answers:
            return NO_REPLY
        if len(answers) == 1 or (not self.identical_answers_collide and len(set(answers)) == 1):
            return Reply(answers[0])
        return Reply(collision=True)

    # --- serving ------------------------------------------------------------------------------

    async def serve_pty(self, link: str | Path | None = None) -> LubaServer:
        """Serve this line as a Lunatone RS-232 (LUBA) interface on a new pty (see ``luba``)."""
        from simulators.dali.luba import serve_luba_pty

        return await serve_luba_pty(self, link)

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> LubaServer:
        """Serve the LUBA byte stream on TCP (for ``socat pty,… tcp:HOST:PORT``)."""
        from simulators.dali.luba import serve_luba_tcp

        return await serve_luba_tcp(self, host, port)

    def __repr__(self) -> str:
        return f"DaliLine({len(self.gear)} gear, bus {'ok' if self._bus_ok else 'DOWN'})"
