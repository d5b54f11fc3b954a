"""What the ingest needs of the registry, run on one thread of its own (the registry is sync)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import NotFound
from cloud.registry.audit import attach_result
from cloud.registry.dead_letters import add_dead_letter
from cloud.registry.gateways import get_gateway
from cloud.registry.health import record_status
from eclor.clock import from_epoch_ms
from eclor.wire import CommandResult, Status

T = TypeVar("T")
KNOWN_TTL_S = 30.0
UNKNOWN_TTL_S = 2.0  # a gateway enrolled a moment ago must not wait long for its first ack


class RegistryPort:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry")
        self._known: dict[str, tuple[bool, float]] = {}

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction on a worker thread."""

        def in_session() -> T:
            with self._sessions.begin() as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self._executor, in_session)

    async def is_registered(self, gateway_id: str) -> bool:
        """True for an enrolled, non-revoked gateway; remembered 30 s (an unknown one, 2 s)."""
        cached = self._known.get(gateway_id)
        if cached is not None:
            known, at = cached
            if time.monotonic() - at < (KNOWN_TTL_S if known else UNKNOWN_TTL_S):
                return known

        def look(session: Session) -> bool:
            try:
                return not get_gateway(session, gateway_id).revoked
            except NotFound:
                return False

        known = await self.run(look)
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[gateway_id] = (known, time.monotonic())
        return known

    async def dead_letter(
        self, received_at: datetime, topic: str, reason: str, payload: bytes, detail: str
    ) -> None:
        await self.run(
            lambda s: add_dead_letter(
                s,
                received_at=received_at,
                topic=topic,
                reason=reason,
                payload=payload,
                detail=detail,
            )
        )

    async def status(self, status: Status, received_at: datetime) -> None:
        await self.run(lambda s: record_status(s, status, received_at=received_at))

    async def command_result(self, result: CommandResult) -> bool:
        """Store a result; False when the registry has no such command for that gateway."""

        def attach(session: Session) -> bool:
            try:
                attach_result(
                    session,
                    result.gateway,
                    result.id,
                    ok=result.ok,
                    at=from_epoch_ms(result.time),
                    detail=result.detail,
                    observed=result.observed,
                )
            except NotFound:
                return False
            return True

        return await self.run(attach)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
