"""One DALI line behind one interface: the connection, its timeouts and its life cycle.

``DaliLine`` owns the python-dali driver of the line's interface (``DriverLubaRs232``, on a serial
port or over TCP). Everything that talks to the line goes through :meth:`DaliLine.send`: one
transaction at a time, each under a timeout (USB/serial dongles are known to lock up), so a dead
interface makes its own actuators fail fast and never stalls another line or the agent.

A supervisor task connects, discovers the gear (short addresses and group membership),
commissions POWER ON and SYSTEM FAILURE levels (so a dead agent or a lost bus leaves the road
lit), then runs the status and energy polls of ``edge.lighting.dali_poll``. A timeout or a lost
connection marks the line down: a ``dali_line_down`` event is raised (once), the interface is closed
and reopened with exponential backoff; the event clears once the line answers again.

Commands come first: the line's own traffic (discovery, commissioning, polls) is sent with
``background=True`` and takes the line only when no command is waiting, one transaction at a time,
so a discovery of the 64 short addresses never holds a switch-off back by more than one frame.
Discovery adds and updates the gear that answer and keeps those that do not: gear behind an open
contactor have no mains and are silent, not gone (``gear``); the polls go to those heard lately
(``present``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, TypeAlias

from dali.address import GearBroadcast, GearShort
from dali.command import Command
from dali.driver.serial import DriverLubaRs232
from dali.exceptions import DriverError
from dali.gear import general as g

from eclor.clock import Clock, to_epoch_ms
from eclor.wire import Event, Reading
from edge.errors import ActuatorError, DaliBusFault, DaliLineUnavailable, DaliTimeout
from edge.lighting import faults_kinds as kinds
from edge.lighting.backends_config import DaliLineConfig
from edge.lighting.dali_levels import percent_to_arc
from edge.modbus.gate import PriorityGate

log = logging.getLogger(__name__)

ReadingsSink = Callable[[Sequence[Reading]], Awaitable[object]]
EventsSink = Callable[[Sequence[Event]], Awaitable[object]]
Message: TypeAlias = "Command | Generator[Any, Any, Any]"
MAX_SHORT_ADDRESS = 63
CONNECT_TIMEOUT_S = 10.0
COMMAND, BACKGROUND = 0, 1
"""Priorities of the line's gate: operator and program commands before the line's own traffic."""
RECANCEL_S = 0.5


class DaliLine:
    """A DALI line. ``group_names`` maps a DALI group (None = broadcast) to its lighting group."""

    def __init__(
        self,
        config: DaliLineConfig,
        *,
        clock: Clock,
        on_readings: ReadingsSink,
        on_events: EventsSink,
        group_names: Mapping[int | None, str] | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.clock = clock
        self.on_readings = on_readings
        self.on_events = on_events
        self.group_names = dict(group_names or {})
        self.gear: dict[int, frozenset[int]] = {}
        """Short address → DALI groups, from the latest discovery that heard the gear."""
        self.present: set[int] = set()
        """Gear that answered the latest discovery and every status query since (the polls
        skip the others: silent gear have no mains and would pass for gear without banks)."""
        self.generation = 0
        """Bumped on every (re)connection: gear settings cached by actuators are then stale."""
        self.sends = 0
        self.timeouts = 0
        self._driver: DriverLubaRs232 | None = None
        self._gate = PriorityGate()
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down_reason = ""
        self._alarm_active = False
        self._commissioned: set[int] = set()
        self.active_failures: set[tuple[int, str]] = set()
        """(short address, event kind) raised and not yet cleared; kept across reconnections."""
        self._task: asyncio.Task[None] | None = None
        self._polls: list[asyncio.Task[None]] = []

    @property
    def device_id(self) -> str:
        return f"dali-{self.name}"

    def gear_id(self, address: int) -> str:
        return f"dali-{self.name}-gear-{address}"

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def members(self, group: int | None) -> list[int]:
        """Short addresses in DALI ``group`` (all gear for None = broadcast), ascending."""
        return sorted(a for a, groups in self.gear.items() if group is None or group in groups)

    def lighting_group(self, address: int) -> str | None:
        if None in self.group_names:
            return self.group_names[None]
        for group in sorted(self.gear.get(address, ())):
            if group in self.group_names:
                return self.group_names[group]
        return None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"dali-line-{self.name}")

    async def wait_up(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._up.wait()

    async def close(self) -> None:
        if self._task is not None:
            await cancel_surely([self._task, *self._polls])
            self._task = None
        self._disconnect()

    async def send(self, message: Message, *, frames: int = 1, background: bool = False) -> Any:
        """Send a command or run a sequence of about ``frames`` frames, under the line's timeout.

        ``background``: the line's own traffic, sent only when no command waits. Raises
        ``DaliLineUnavailable`` at once while the line is down, ``DaliTimeout`` (and marks the
        line down) when the interface does not complete in time (waiting for the line not
        counted).
        """
        if self._driver is None or self._down.is_set():
            raise DaliLineUnavailable(self.device_id, "interface not connected (reconnecting)")
        return await self._send(
            self._driver, message, frames, BACKGROUND if background else COMMAND
        )

    async def _send(
        self, driver: DriverLubaRs232, message: Message, frames: int, priority: int
    ) -> Any:
        timeout_s = self.config.timeout_s * max(1, frames)
        async with self._gate.hold(priority):
            self.sends += 1
            try:
                async with asyncio.timeout(timeout_s):
                    return await driver.send(message)
            except TimeoutError:
                self.timeouts += 1
                raise self._fail(
                    driver, DaliTimeout, f"no answer from the interface within {timeout_s:.2f} s"
                ) from None
            except OSError as exc:
                raise self._fail(driver, DaliLineUnavailable, f"interface lost: {exc}") from None
            except DriverError as exc:  # e.g. TransmissionError: no bus power, a short
                raise self._fail(driver, DaliBusFault, f"bus fault: {exc}") from None

    def _fail(
        self, driver: DriverLubaRs232, error: type[ActuatorError], reason: str
    ) -> ActuatorError:
        """Mark the line down (the supervisor reconnects) and build the error to raise.

        A send that was still using a connection already replaced marks nothing.
        """
        if driver is self._driver:
            self._down_reason = reason
            self._down.set()
        return error(self.device_id, reason)

    async def _supervise(self) -> None:
        from edge.lighting.dali_poll import DaliPoller  # the poller needs a DaliLine: cycle

        backoff = self.config.reconnect_min_s
        while True:
            try:
                await self._connect()
                self._commissioned = set()
                await self.refresh_gear()
                backoff = self.config.reconnect_min_s
                self._up.set()
                await self._line_alarm(False, "line answers again")
                poller = DaliPoller(self)
                self._polls = [
                    asyncio.create_task(poller.run_status()),
                    asyncio.create_task(poller.run_energy()),
                ]
                try:
                    await self._down.wait()
                finally:
                    await cancel_surely(self._polls)
                reason = self._down_reason
            except (ActuatorError, OSError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            except Exception as exc:  # a driver bug must not end the line's supervision
                log.exception("DALI line %s: unexpected error", self.name)
                reason = f"unexpected {type(exc).__name__}: {exc}"
            self._up.clear()
            self._down.set()
            self._disconnect()
            log.warning("DALI line %s down (%s); reconnect in %.1f s", self.name, reason, backoff)
            await self._line_alarm(True, reason)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.config.reconnect_max_s)

    async def _connect(self) -> None:
        driver = DriverLubaRs232(self.config.port)
        self._driver = driver
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await driver.connect()
        except TimeoutError:
            raise DaliLineUnavailable(
                self.device_id, f"{self.config.port}: no handshake in {CONNECT_TIMEOUT_S:.0f} s"
            ) from None
        except OSError as exc:
            raise DaliLineUnavailable(self.device_id, f"{self.config.port}: {exc}") from None
        self.generation += 1
        self._down.clear()

    def _disconnect(self) -> None:
        driver, self._driver = self._driver, None
        transport = getattr(driver, "_transport", None)  # python-dali 0.16 has no public close
        if transport is not None:
            transport.close()

    async def refresh_gear(self) -> None:
        """Discover the gear, and commission any not commissioned since the connection.

        Run at each connection and before each energy pass (and each status pass while no gear
        is known): gear behind an open contactor have no mains and only answer once it closes.
        """
        await self.discover()
        new = set(self.gear) - self._commissioned
        if new and self.config.commission:
            await self.commission(sorted(new))
        self._commissioned |= new

    async def discover(self) -> None:
        """Find the gear present (QUERY CONTROL GEAR PRESENT 0–63) and their groups.

        Gear that answer are added or updated; known gear that do not are kept (without mains
        behind an open contactor, they only answer once it closes).
        """
        found: dict[int, frozenset[int]] = {}
        for address in range(MAX_SHORT_ADDRESS + 1):
            present = await self.send(
                g.QueryControlGearPresent(GearShort(address)), background=True
            )
            if present.value is not True:
                continue
            low = await self.send(g.QueryGroupsZeroToSeven(GearShort(address)), background=True)
            high = await self.send(g.QueryGroupsEightToFifteen(GearShort(address)), background=True)
            bits = _byte(low) | (_byte(high) << 8)
            found[address] = frozenset(n for n in range(16) if bits & (1 << n))
        silent = sorted(set(self.gear) - set(found))
        self.gear = dict(sorted({**self.gear, **found}.items()))
        self.present = set(found)
        log.info(
            "DALI line %s: %d gear answer %s; %d known kept though silent %s",
            self.name,
            len(found),
            sorted(found),
            len(silent),
            silent,
        )

    async def commission(self, addresses: Sequence[int]) -> None:
        """Store POWER ON and SYSTEM FAILURE levels (broadcast, twice); verify ``addresses``."""
        power_on = percent_to_arc(self.config.power_on_level_pct)
        failure = percent_to_arc(self.config.system_failure_level_pct)
        await self.send(_store_levels(power_on, failure), frames=6, background=True)
        for address in addresses:
            got_on = await self.send(g.QueryPowerOnLevel(GearShort(address)), background=True)
            got_failure = await self.send(
                g.QuerySystemFailureLevel(GearShort(address)), background=True
            )
            if got_on.value != power_on or got_failure.value != failure:
                log.error(
                    "DALI %s: POWER ON %s / SYSTEM FAILURE %s, wanted %d / %d",
                    self.gear_id(address),
                    got_on.value,
                    got_failure.value,
                    power_on,
                    failure,
                )

    async def _line_alarm(self, active: bool, reason: str) -> None:
        if active == self._alarm_active:
            return
        self._alarm_active = active
        event = Event(
            device=self.device_id,
            kind=kinds.DALI_LINE_DOWN,
            time=to_epoch_ms(self.clock.now()),
            severity="critical",
            active=active,
            detail=f"DALI line {self.name} ({self.config.port}): {reason}",
        )
        try:
            await self.on_events([event])
        except Exception:
            log.exception("DALI line %s: could not store the %s event", self.name, event.kind)


async def cancel_surely(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait for them to end, cancelling again every :data:`RECANCEL_S`.

    Python 3.11's ``asyncio.wait_for`` (python-dali's drivers wait for every frame with it) loses
    a cancellation that arrives as the awaited frame completes: under load, a single ``cancel()``
    can leave the task running, and whoever awaits it waiting for ever.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_S)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("DALI task %s ended with %r", task.get_name(), task.exception())


def _store_levels(power_on: int, failure: int) -> Generator[Any, Any, None]:
    """One transaction, so that no memory-bank read changes DTR0 in between."""
    yield g.DTR0(power_on)
    yield g.SetPowerOnLevel(GearBroadcast())
    yield g.DTR0(failure)
    yield g.SetSystemFailureLevel(GearBroadcast())


def _byte(response: Any) -> int:
    raw = getattr(response, "raw_value", None)
    return 0 if raw is None or raw.error else int(raw.as_integer)
