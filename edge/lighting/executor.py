"""The lighting executor: runs the program at the edge and drives each group's actuators.

Every ``tick_s``, and at once when a program, an override or a local rule changes, each group's
target is decided with this precedence::

    override  >  max(program, raise, local rule)  >  program  >  no-program default

(a raise or local rule counts only while the program has the light on). An actuator is sent a level
only when its group's target changed, when its last send failed, or every ``reassert_s`` (a
power-cycled cabinet may have reverted). Groups and actuators are isolated: each group applies in
its own task, each actuator under ``apply_timeout_s``, and a failure is counted and logged once
until it recovers. A ``lighting`` reading per group is written on every change and at least every
``reading_interval_s``. Time comes from the injected clock only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from eclor.clock import Clock, to_epoch_ms
from eclor.wire import Reading
from edge.errors import ActuatorError
from edge.lighting.actuators.base import Actuator
from edge.lighting.commanded import GroupCommand, lighting_reading
from edge.lighting.config import LightingConfig
from edge.lighting.devices import DeviceLevels, GearLookup, no_gear
from edge.lighting.overrides import Override, OverrideBook
from edge.lighting.programs import ProgramInbox
from edge.lighting.schedule import GroupTarget, evaluate_default, evaluate_group
from edge.lighting.state import LightingState, StateFile
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)

MIN_DELAY_S = 0.001
ReadingSink = Callable[[Sequence[Reading]], Awaitable[None]]


@dataclass(slots=True)
class _GroupRun:
    actuators: Sequence[Actuator]
    command: GroupCommand | None = None
    applied: dict[str, float] | None = None
    last_send: float = float("-inf")
    last_reading: float = float("-inf")
    task: asyncio.Task[None] | None = None
    sending: float | None = None
    """The level of the last send started."""


class LightingExecutor:
    def __init__(
        self,
        config: LightingConfig,
        gateway_id: str,
        actuators: Mapping[str, Sequence[Actuator]],
        clock: Clock,
        metrics: EdgeMetrics,
        sink: ReadingSink,
        find_gear: GearLookup = no_gear,
    ) -> None:
        self.config = config
        self.clock = clock
        self.metrics = metrics
        self._sink = sink
        self._groups = {g.name: _GroupRun(actuators.get(g.name, ())) for g in config.groups}
        self._state_file = StateFile(config.state_path, gateway_id)
        state = self._state_file.load(clock.now().timestamp())
        self.programs = ProgramInbox(gateway_id, metrics, state.program, state.program_bytes)
        self.book = OverrideBook(state.overrides)
        self.devices = DeviceLevels(self.book, find_gear)
        self._local: dict[str, Override] = {}
        self._wake = asyncio.Event()
        self._save_lock = asyncio.Lock()
        self._failing: set[tuple[str, str]] = set()
        self._background: set[asyncio.Task[None]] = set()
        if state.program is not None:
            log.info(
                "resuming lighting program revision %d from %s",
                state.program.revision,
                config.state_path,
            )

    # -- public ----------------------------------------------------------------------------------

    @property
    def groups(self) -> list[str]:
        return list(self._groups)

    def commanded(self, group: str) -> GroupCommand | None:
        return self._groups[group].command

    def wake(self) -> None:
        self._wake.set()

    async def receive_program(self, payload: bytes) -> bool:
        """Take a ProgramSet from the ``program`` topic; refused ones are counted and logged."""
        if not self.programs.offer(payload):
            return False
        await self.save()
        self.wake()
        return True

    async def add_override(self, override: Override) -> Override:
        stamped = self.book.add(override)
        await self.save()
        return stamped

    async def clear_overrides(self, group: str, device: str | None = None) -> int:
        """Drop the group's overrides (its gear's included), or only those of gear ``device``."""
        dropped = self.book.clear(group) if device is None else self.book.clear_device(device)
        await self.save()
        return dropped

    def gear_group(self, device: str) -> str | None:
        """The lighting group of DALI gear ``device`` on this gateway, if known."""
        found = self.devices.find(device)
        return None if found is None or found[0] not in self._groups else found[0]

    def set_local_raise(self, group: str, level_pct: float, until_ms: int) -> None:
        """An edge-local rule's raise (kept in memory: the rule re-decides after a restart)."""
        now_ms = to_epoch_ms(self.clock.now())
        self._local[group] = Override(group, level_pct, now_ms, until_ms, "raise", "local_rule")
        self.wake()

    async def settle(self, group: str) -> GroupCommand:
        """Decide ``group`` now and wait until its actuators were sent the level."""
        run = self._groups[group]
        for _ in range(3):  # a send of an older level may be running: wait, decide again
            if run.task is not None and not run.task.done():
                await asyncio.wait({run.task})
            self._step_group(group, self.clock.now())
            if run.task is not None:
                await asyncio.wait({run.task})
            assert run.command is not None
            if run.sending == run.command.target_pct:
                break
        assert run.command is not None
        return run.command

    async def read_back(self, group: str, device: str | None = None) -> float | None:
        """The group's observed level: 0 if any back-end reads 0 (an open contactor means dark),
        else the finest back-end's reading (DALI, then setpoint, then contactor), else None.
        With ``device``, that gear's level."""
        actuators = list(self._groups[group].actuators)
        if device is not None:
            found = self.devices.find(device)
            actuators = [a for a in actuators if a.name.startswith("contactor:")]
            actuators += [] if found is None else [found[1]]
        values = [await self._read(actuator) for actuator in actuators]
        if 0.0 in values:
            return 0.0
        if device is not None:  # the gear's own answer, not its contactor's 100
            return values[-1] if found is not None else None
        known = [v for v in values if v is not None]
        return known[-1] if known else None

    async def _read(self, actuator: Actuator) -> float | None:
        try:
            return await asyncio.wait_for(actuator.read_back(), self.config.apply_timeout_s)
        except (ActuatorError, TimeoutError) as exc:
            log.info("read-back of %s failed: %s", actuator.name, exc)
            return None

    async def save(self) -> None:
        state = LightingState(self.programs.raw, self.programs.current, self.book.snapshot())
        async with self._save_lock:
            await asyncio.to_thread(self._state_file.save, state)

    # -- loop ------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                now = await self.tick()
                await self._pause(self._delay(now))
        finally:
            await self._stop_tasks()

    async def tick(self) -> datetime:
        """Expire what ended, decide every group and start the sends needed; returns the moment."""
        now = self.clock.now()
        await self._expire(now)
        for group in self._groups:
            self._step_group(group, now)
        return now

    async def idle(self) -> None:
        """Wait until no group is sending (for tests and shutdown)."""
        running = {r.task for r in self._groups.values() if r.task is not None}
        if running:
            await asyncio.wait(running)

    async def _expire(self, now: datetime) -> None:
        now_ms = to_epoch_ms(now)
        ended = self.book.expire(now_ms)
        for override in ended:
            log.info(
                "override %s on %s ended; program resumes", override.command_id, override.group
            )
        for group, local in list(self._local.items()):
            if local.until <= now_ms:
                del self._local[group]
        if ended:
            await self.save()

    def _delay(self, now: datetime) -> float:
        delay = self.config.tick_s
        now_ms = to_epoch_ms(now)
        moments = [self.book.next_change(now_ms)] + [o.until for o in self._local.values()]
        for moment in moments:
            if moment is not None:
                delay = min(delay, max(0.0, (moment - now_ms) / 1000))
        mono = self.clock.monotonic()
        for group, run in self._groups.items():
            target = self._program_target(group, now)[0]
            delay = min(delay, max(0.0, (target.next_change - now).total_seconds()))
            delay = min(delay, run.last_reading + self.config.reading_interval_s - mono)
            if run.task is None or run.task.done():  # a send in progress defers the resend
                delay = min(delay, run.last_send + self.config.reassert_s - mono)
        return max(MIN_DELAY_S, delay)

    async def _pause(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            self._wake.clear()

    def _step_group(self, group: str, now: datetime) -> None:
        run = self._groups[group]
        command = self.decide(group, now)
        previous = run.command
        changed = previous is None or (previous.target_pct, previous.source, previous.program) != (
            command.target_pct,
            command.source,
            command.program,
        )
        if changed:
            log.debug("group %s: now %s", group, command)
            since = to_epoch_ms(now)
            run.command = replace(command, since_ms=since)
            self.metrics.lighting_target.labels(group).set(command.target_pct)
        mono = self.clock.monotonic()
        assert run.command is not None
        if changed or mono - run.last_reading >= self.config.reading_interval_s:
            run.last_reading = mono
            self._write_reading(group, run.command, now)
        due = mono - run.last_send >= self.config.reassert_s
        pending = run.applied is None or any(
            run.applied.get(a.name) != run.command.target_pct for a in run.actuators
        )
        pending = pending or self.devices.pending(group, to_epoch_ms(now), run.command.target_pct)
        if (changed or due or pending) and (run.task is None or run.task.done()):
            run.last_send = mono
            if due and not changed:
                run.applied = {}
            run.sending = run.command.target_pct
            run.task = asyncio.create_task(self._apply(group, run.command), name=f"light:{group}")

    # -- deciding ------------------------------------------------------------------------------

    def decide(self, group: str, now: datetime) -> GroupCommand:
        """The command for ``group`` at ``now`` under the precedence in the module doc."""
        target, source = self._program_target(group, now)
        now_ms = to_epoch_ms(now)
        override = self.book.override_for(group, now_ms)
        if override is not None:
            fade = override.fade_s if override.fade_s is not None else target.fade_s
            return GroupCommand(
                override.level_pct,
                override.level_pct > 0,
                "override",
                now_ms,
                target.program_id,
                fade,
            )
        level = target.level_pct
        for extra in (self.book.raise_for(group, now_ms), self._local.get(group)):
            if extra is not None and target.lit and extra.holds(now_ms) and extra.level_pct > level:
                level = extra.level_pct
                source = "local_rule" if extra.source == "local_rule" else "raise"
        return GroupCommand(level, level > 0, source, now_ms, target.program_id, target.fade_s)

    def _program_target(self, group: str, now: datetime) -> tuple[GroupTarget, str]:
        program = self.programs.current
        if program is not None:
            target = evaluate_group(program, group, now)
            if target is not None:
                return target, "program"
            return evaluate_default(program.site, now), "no_program"
        return evaluate_default(self.config.site.to_wire(), now), "no_program"

    # -- applying ------------------------------------------------------------------------------

    async def _apply(self, group: str, command: GroupCommand) -> None:
        """Send the level to the actuators that need it, in the builder's order (contactor, then
        setpoint, then DALI: power before dimming), each under its timeout; then the gear with
        overrides of their own."""
        run = self._groups[group]
        applied = dict(run.applied or {})
        sent = False
        for actuator in run.actuators:
            if applied.get(actuator.name) == command.target_pct:
                continue
            if await self._send(group, actuator, command):
                applied[actuator.name] = command.target_pct
                sent = True
            else:
                applied.pop(actuator.name, None)
        run.applied = applied

        async def send_gear(group: str, actuator: Actuator, level: float) -> bool:
            return await self._send(group, actuator, replace(command, target_pct=level))

        now_ms = to_epoch_ms(self.clock.now())
        await self.devices.apply(group, now_ms, command.target_pct, sent, send_gear)

    async def _send(self, group: str, actuator: Actuator, command: GroupCommand) -> bool:
        key = (group, actuator.name)
        try:
            await asyncio.wait_for(
                actuator.apply(command.target_pct, command.fade_s), self.config.apply_timeout_s
            )
        except (ActuatorError, TimeoutError) as exc:
            self._failed(key, command, str(exc) or "no answer in time")
            return False
        except Exception:  # a back-end's bug must not stop the other groups and actuators
            log.exception("group %s: %s raised", group, actuator.name)
            self._failed(key, command, "unexpected error")
            return False
        self.metrics.lighting_applies.labels(group, actuator.name).inc()
        log.debug("group %s: %s took %.1f %%", group, actuator.name, command.target_pct)
        if key in self._failing:
            self._failing.discard(key)
            log.warning("group %s: %s works again", group, actuator.name)
        return True

    def _failed(self, key: tuple[str, str], command: GroupCommand, reason: str) -> None:
        group, name = key
        self.metrics.lighting_actuator_errors.labels(group, name).inc()
        level = logging.DEBUG if key in self._failing else logging.WARNING
        log.log(
            level, "group %s: %s did not take %.1f %%: %s", group, name, command.target_pct, reason
        )
        self._failing.add(key)

    def _write_reading(self, group: str, command: GroupCommand, now: datetime) -> None:
        reading = lighting_reading(group, command, to_epoch_ms(now))
        task = asyncio.create_task(self._store([reading]), name=f"light-reading:{group}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store(self, readings: list[Reading]) -> None:
        await self._sink(readings)

    async def _stop_tasks(self) -> None:
        running = [r.task for r in self._groups.values() if r.task is not None]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*running, return_exceptions=True), self.config.apply_timeout_s
            )
        if self._background:
            await asyncio.wait(set(self._background), timeout=5)

    async def close(self) -> None:
        for run in self._groups.values():
            for actuator in run.actuators:
                try:
                    await actuator.close()
                except Exception:  # closing must reach every back-end
                    log.exception("closing %s failed", actuator.name)
