"""The embedded store, the default when no InfluxDB is configured: stdlib ``sqlite3`` on one
worker thread that owns the only connection, so the event loop never waits on the disk and
writes are serialised in arrival order.

Retention: points older than ``retention_days`` (by the injected clock) are refused like
InfluxDB refuses points beyond its retention policy, and pruned at most every
``prune_interval_s`` after a write (or when :meth:`SqliteStore.prune` is called).

Errors: any ``sqlite3`` failure (disk full, I/O error, a file that is not a database) and a
closed store → :class:`StoreUnavailable`; an integer ``sum`` past 64 bits → :class:`QueryError`.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from cloud.errors import QueryError, StoreRejected, StoreUnavailable
from cloud.store import sqlite_queries
from cloud.store.base import TimeSeriesStore
from cloud.store.counters import SeriesSamples
from cloud.store.points import FieldType, Point
from cloud.store.query import AggregateFn, Selection, Windows
from cloud.store.results import Latest, StoreHealth, WindowSeries
from cloud.store.settings import SqliteSettings
from cloud.store.sqlite_db import SqliteDatabase
from eclor.clock import Clock, WallClock, to_epoch_ms

T = TypeVar("T")
_DAY_MS = 86_400_000


class SqliteStore(TimeSeriesStore):
    """A :class:`TimeSeriesStore` in one SQLite file. Create it with :meth:`open`."""

    backend = "sqlite"

    def __init__(
        self,
        db: SqliteDatabase,
        executor: ThreadPoolExecutor,
        settings: SqliteSettings,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self._db = db
        self._executor = executor
        self._clock = clock
        self._closed = False
        self._last_prune = clock.monotonic()

    @classmethod
    async def open(cls, settings: SqliteSettings, clock: Clock | None = None) -> SqliteStore:
        """Open (or create) the file at ``settings.path`` on a new worker thread."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eclor-sqlite-store")
        loop = asyncio.get_running_loop()
        try:
            db = await loop.run_in_executor(executor, SqliteDatabase, settings.path)
        except sqlite3.Error as exc:
            executor.shutdown(wait=False)
            raise StoreUnavailable(f"cannot open {settings.path}: {exc}") from exc
        return cls(db, executor, settings, clock or WallClock())

    async def health(self) -> StoreHealth:
        where = f"SQLite at {self.settings.path}"
        try:
            size = await self._run(self._db.size_bytes)
        except StoreUnavailable as exc:
            return StoreHealth(False, self.backend, f"{where}: {exc.reason}")
        return StoreHealth(True, self.backend, f"{where}, {size} bytes")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=True)

    async def prune(self) -> int:
        """Delete points older than the retention now; returns how many field values went."""
        self._last_prune = self._clock.monotonic()
        oldest = self._oldest_kept_ms()
        return 0 if oldest is None else await self._run(self._db.prune, oldest)

    async def _write(self, points: Sequence[Point]) -> None:
        oldest = self._oldest_kept_ms()
        if oldest is not None:
            for index, point in enumerate(points):
                if point.time_ms < oldest:
                    raise StoreRejected(
                        f"older than the {self.settings.retention_days}-day retention", index
                    )
        await self._run(self._db.write, points)
        if self._clock.monotonic() - self._last_prune >= self.settings.prune_interval_s:
            await self.prune()

    async def _field_types(self, measurement: str) -> dict[str, FieldType]:
        return await self._run(self._db.field_types, measurement)

    async def _latest(self, selection: Selection, types: dict[str, FieldType]) -> list[Latest]:
        return await self._run(sqlite_queries.latest, self._db, selection, types)

    async def _aggregate(
        self,
        selection: Selection,
        field: str,
        ftype: FieldType,
        windows: Windows,
        fn: AggregateFn,
    ) -> list[WindowSeries]:
        return await self._run(
            sqlite_queries.aggregate, self._db, selection, field, ftype, windows, fn
        )

    async def _samples(
        self, selection: Selection, field: str, ftype: FieldType, windows: Windows
    ) -> list[SeriesSamples]:
        return await self._run(self._samples_sync, selection, field, windows)

    def _samples_sync(
        self, selection: Selection, field: str, windows: Windows
    ) -> list[SeriesSamples]:
        found = self._db.field(selection.measurement, field)
        if found is None:
            return []
        return self._db.samples(self._db.select_series(selection), found, windows)

    def _oldest_kept_ms(self) -> int | None:
        days = self.settings.retention_days
        return None if days is None else to_epoch_ms(self._clock.now()) - days * _DAY_MS

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the store's thread; sqlite3 errors become store errors."""
        if self._closed:
            raise StoreUnavailable(f"the SQLite store {self.settings.path} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.Error as exc:
            if "integer overflow" in str(exc):
                raise QueryError(f"SQLite: {exc}") from exc
            raise StoreUnavailable(f"SQLite at {self.settings.path}: {exc}") from exc
