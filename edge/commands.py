"""Commands from the cloud: refused when expired, executed once per id, answered with a result.

A command's result goes through the outbox like a batch, so it reaches the cloud even if the link
drops right after the command ran. Handlers are registered per kind; an unknown kind is refused
with the list of known ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from eclor.clock import Clock, to_epoch_ms
from eclor.errors import DecodeError
from eclor.wire import Command, CommandResult, decode
from edge.errors import CommandRejected, EdgeError
from edge.metrics import EdgeMetrics
from edge.outbox.worker import AsyncOutbox

log = logging.getLogger(__name__)

Scalar = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str = ""
    observed: dict[str, Scalar] = field(default_factory=dict)


Handler = Callable[[Command], Awaitable[Outcome]]
MAX_COMMAND_S = 30.0


class CommandProcessor:
    def __init__(
        self, outbox: AsyncOutbox, clock: Clock, metrics: EdgeMetrics, max_concurrent: int = 4
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._metrics = metrics
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: set[asyncio.Task[None]] = set()
        self.handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def receive(self, payload: bytes) -> None:
        """Decode and start a command; waits only when ``max_concurrent`` are already running."""
        try:
            command = decode(Command, payload)
        except DecodeError as exc:
            self._metrics.rejected_messages.labels("bad_command").inc()
            log.warning("refused a command: %s", exc)
            return
        await self._slots.acquire()
        task = asyncio.create_task(self._run(command), name=f"cmd:{command.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, command: Command) -> None:
        try:
            outcome = await self._outcome(command)
            if outcome is not None:
                await self._answer(command, outcome)
        finally:
            self._slots.release()

    async def _outcome(self, command: Command) -> Outcome | None:
        now_ms = to_epoch_ms(self._clock.now())
        if command.expires_at <= now_ms:
            self._count(command, "expired")
            return Outcome(False, f"expired {(now_ms - command.expires_at) / 1000:.1f} s ago")
        if not await self._outbox.remember_command(command.id, command.expires_at):
            self._count(command, "duplicate")
            return None
        handler = self.handlers.get(command.kind)
        if handler is None:
            self._count(command, "unknown")
            return Outcome(
                False, f"unknown command kind {command.kind!r}; known: {sorted(self.handlers)}"
            )
        budget = min(MAX_COMMAND_S, (command.expires_at - now_ms) / 1000)
        try:
            outcome = await asyncio.wait_for(handler(command), budget)
        except TimeoutError:
            outcome = Outcome(False, f"not done within {budget:.1f} s")
        except CommandRejected as exc:
            outcome = Outcome(False, exc.reason)
        except EdgeError as exc:
            outcome = Outcome(False, str(exc))
        self._count(command, "ok" if outcome.ok else "failed")
        return outcome

    async def _answer(self, command: Command, outcome: Outcome) -> None:
        gateway = self._outbox.gateway_id
        stamp = to_epoch_ms(self._clock.now())
        await self._outbox.append_command_result(
            lambda seq: CommandResult(
                gateway=gateway,
                seq=seq,
                id=command.id,
                ok=outcome.ok,
                time=stamp,
                detail=outcome.detail[:1024],
                observed=outcome.observed,
            )
        )
        log.info("command %s (%s) -> %s %s", command.id, command.kind, outcome.ok, outcome.detail)

    def _count(self, command: Command, outcome: str) -> None:
        self._metrics.commands.labels(command.kind, outcome).inc()

    async def drain(self) -> None:
        """Wait for the commands already started (used at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=MAX_COMMAND_S)
