"""The outbox for asyncio code: every call runs on one dedicated thread that owns the store.

SQLite commits with ``synchronous=FULL`` wait for the disk; running them on their own thread keeps
the event loop (polls, MQTT, commands) responsive while they do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from eclor.wire import CommandResult, Event, Reading
from edge.outbox.store import Outbox, OutboxStats, PendingBatch

T = TypeVar("T")


class AsyncOutbox:
    def __init__(self, open_store: Callable[[], Outbox]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._store = self._executor.submit(open_store).result()
        self.gateway_id = self._store.gateway_id
        self.appended = asyncio.Event()
        """Set whenever something was appended: the uplink waits on it."""

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def append_readings(self, readings: Sequence[Reading]) -> list[int]:
        seqs = await self._call(lambda: self._store.append_readings(readings))
        self.appended.set()
        return seqs

    async def append_events(self, events: Sequence[Event]) -> list[int]:
        seqs = await self._call(lambda: self._store.append_events(events))
        self.appended.set()
        return seqs

    async def append_command_result(self, build: Callable[[int], CommandResult]) -> int:
        seq = await self._call(lambda: self._store.append_command_result(build))
        self.appended.set()
        return seq

    async def pending(
        self, limit: int, *, min_seq: int = 0, max_seq: int | None = None, skip: Iterable[int] = ()
    ) -> list[PendingBatch]:
        skipped = list(skip)
        return await self._call(
            lambda: self._store.pending(limit, min_seq=min_seq, max_seq=max_seq, skip=skipped)
        )

    async def remember_command(self, command_id: str, expires_ms: int) -> bool:
        return await self._call(lambda: self._store.remember_command(command_id, expires_ms))

    async def ack(self, seqs: Sequence[int]) -> int:
        return await self._call(lambda: self._store.ack(seqs))

    async def expire(self) -> int:
        return await self._call(self._store.expire)

    async def stats(self) -> OutboxStats:
        return await self._call(self._store.stats)

    async def next_seq(self) -> int:
        return (await self.stats()).next_seq

    async def close(self) -> None:
        await self._call(self._store.close)
        self._executor.shutdown(wait=True)
