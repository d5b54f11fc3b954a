"""Group commit between the pollers and the outbox.

Pollers hand readings to :meth:`ReadingBatcher.put`, which returns once they are committed to disk
(that is the durability the agent promises: a reading whose ``put`` returned survives a kill or a
power cut). Readings arriving within one flush interval share one transaction and one fsync, so
the disk sees a few commits per second whatever the number of devices. The staging area is
bounded: when the disk cannot keep up, ``put`` waits (back-pressure on the pollers) instead of
growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from eclor.wire import Reading
from edge.outbox.worker import AsyncOutbox

log = logging.getLogger(__name__)

Observer = Callable[[Sequence[Reading]], None]


class ReadingBatcher:
    def __init__(
        self,
        outbox: AsyncOutbox,
        *,
        flush_interval_s: float = 0.25,
        flush_size: int = 500,
        max_staged: int = 20_000,
    ) -> None:
        self._outbox = outbox
        self._interval = flush_interval_s
        self._flush_size = flush_size
        self._max_staged = max_staged
        self._staged: list[Reading] = []
        self._committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wake = asyncio.Event()
        self._space = asyncio.Condition()
        self.commits = 0
        self.readings_committed = 0
        self._observers: list[Observer] = []

    def observe(self, callback: Observer) -> None:
        """Call ``callback`` synchronously with the readings of every :meth:`put`.

        For watchers on the same gateway (lighting fault monitor, local rules). A callback must be
        quick and must not raise; one that raises is logged and the readings are stored anyway.
        """
        self._observers.append(callback)

    @property
    def staged(self) -> int:
        return len(self._staged)

    async def put(self, readings: Sequence[Reading]) -> None:
        """Stage ``readings`` and return once they are on disk."""
        if len(readings) > self._max_staged:
            raise ValueError(
                f"{len(readings)} readings exceed the staging bound {self._max_staged}"
            )
        for observer in self._observers:
            try:
                observer(readings)
            except Exception:  # a watcher's bug must not lose readings
                log.exception("reading observer %r failed", observer)
        async with self._space:
            await self._space.wait_for(
                lambda: len(self._staged) + len(readings) <= self._max_staged
            )
            self._staged.extend(readings)
            committed = self._committed
        if len(self._staged) >= self._flush_size:
            self._wake.set()
        await asyncio.shield(committed)

    async def run(self) -> None:
        """Commit staged readings every flush interval (or sooner when a batch is full)."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
                await self.flush()
        finally:
            await self.flush()

    async def flush(self) -> None:
        if not self._staged:
            return
        readings, self._staged = self._staged, []
        committed = self._committed
        self._committed = asyncio.get_running_loop().create_future()
        async with self._space:
            self._space.notify_all()
        try:
            await self._outbox.append_readings(readings)
        except BaseException as exc:
            committed.set_exception(exc)
            raise
        self.commits += 1
        self.readings_committed += len(readings)
        committed.set_result(None)
