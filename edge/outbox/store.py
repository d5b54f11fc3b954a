"""The outbox store: batches on disk, in SQLite, until the cloud acknowledges them.

Each append is one transaction that takes the next sequence number, encodes the message with it
and inserts it, so a batch's sequence number and its bytes never change, across restarts too: a
replay after a crash is the same message. The store is bounded by bytes and by age; when a bound is
hit, the lowest priority class goes first, oldest first (events and command results outrank
telemetry), and every evicted batch is counted, persistently, with its reason.

The class is synchronous and not thread-safe; ``edge.outbox.worker`` runs it on one thread for the
asyncio side.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from eclor.clock import Clock, WallClock, to_epoch_ms
from eclor.errors import EncodeError
from eclor.wire import CommandResult, Event, EventBatch, Message, Reading, TelemetryBatch, encode
from eclor.wire import limits as wire_limits
from edge.errors import OutboxCorrupt, OutboxError
from edge.outbox.schema import connect, create, transaction


class Kind(StrEnum):
    TELEMETRY = "telemetry"
    EVENT = "event"
    CMD_RESULT = "cmd_result"


T = TypeVar("T")
PRIORITY = {Kind.TELEMETRY: 0, Kind.EVENT: 1, Kind.CMD_RESULT: 2}


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    max_bytes: int = 256 * 1024 * 1024
    max_age_s: float = 30 * 86400
    batch_max_readings: int = 500


@dataclass(frozen=True, slots=True)
class PendingBatch:
    seq: int
    kind: Kind
    created_ms: int
    items: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    rows: int
    bytes: int
    oldest_created_ms: int | None
    next_seq: int
    evicted: dict[tuple[str, str], tuple[int, int]]
    """(reason, kind) → (batches, items) evicted since the outbox was created."""

    @property
    def evicted_batches(self) -> int:
        return sum(batches for batches, _ in self.evicted.values())


class Outbox:
    def __init__(
        self,
        path: Path,
        gateway_id: str,
        limits: OutboxLimits | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = path
        self.gateway_id = gateway_id
        self.limits = limits or OutboxLimits()
        self._clock = clock or WallClock()
        self._db = self._open(path)
        self._bytes = int(
            self._db.execute("SELECT COALESCE(SUM(size), 0) FROM batch").fetchone()[0]
        )

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = connect(str(path))
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                db.close()
                raise OutboxCorrupt(str(path), f"integrity check failed: {verdict}")
            create(db)
        except sqlite3.DatabaseError as exc:
            raise OutboxCorrupt(str(path), f"cannot open: {exc}") from exc
        except OSError as exc:
            raise OutboxError(str(path), f"cannot open: {exc}") from exc
        return db

    def close(self) -> None:
        self._db.close()

    # -- appending -----------------------------------------------------------------------------

    def append_readings(self, readings: Sequence[Reading]) -> list[int]:
        """Store ``readings`` as telemetry batches in one transaction; return their seqs."""
        size = self.limits.batch_max_readings
        chunks = [list(readings[i : i + size]) for i in range(0, len(readings), size)]
        return self._append_all(
            Kind.TELEMETRY,
            chunks,
            lambda seq, chunk: TelemetryBatch(gateway=self.gateway_id, seq=seq, readings=chunk),
        )

    def append_events(self, events: Sequence[Event]) -> list[int]:
        size = wire_limits.MAX_EVENTS_PER_BATCH
        chunks = [list(events[i : i + size]) for i in range(0, len(events), size)]
        return self._append_all(
            Kind.EVENT,
            chunks,
            lambda seq, chunk: EventBatch(gateway=self.gateway_id, seq=seq, events=chunk),
        )

    def append_command_result(self, build: Callable[[int], CommandResult]) -> int:
        return self._append_all(Kind.CMD_RESULT, [[None]], lambda seq, _: build(seq))[0]

    def _append_all(
        self, kind: Kind, chunks: list[list[T]], build: Callable[[int, list[T]], Message]
    ) -> list[int]:
        if not chunks:
            return []
        now_ms = to_epoch_ms(self._clock.now())
        seqs: list[int] = []
        with transaction(self._db) as db:
            for chunk in chunks:
                seqs.extend(self._insert_chunk(db, kind, chunk, build, now_ms))
            self._enforce_limits(db, now_ms)
        return seqs

    def _insert_chunk(
        self,
        db: sqlite3.Connection,
        kind: Kind,
        chunk: list[T],
        build: Callable[[int, list[T]], Message],
        now_ms: int,
    ) -> list[int]:
        seq = int(db.execute("SELECT value FROM counter WHERE name = 'next_seq'").fetchone()[0])
        try:
            payload = encode(build(seq, chunk))
        except EncodeError:
            if len(chunk) < 2:
                raise
            half = len(chunk) // 2
            first = self._insert_chunk(db, kind, chunk[:half], build, now_ms)
            return first + self._insert_chunk(db, kind, chunk[half:], build, now_ms)
        db.execute(
            "INSERT INTO batch (seq, kind, priority, created_ms, items, size, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, kind.value, PRIORITY[kind], now_ms, len(chunk), len(payload), payload),
        )
        db.execute("UPDATE counter SET value = ? WHERE name = 'next_seq'", (seq + 1,))
        self._bytes += len(payload)
        return [seq]

    # -- bounds ----------------------------------------------------------------------------------

    def expire(self) -> int:
        """Evict batches past the age limit; return how many went."""
        with transaction(self._db) as db:
            return self._evict_by_age(db, to_epoch_ms(self._clock.now()))

    def _enforce_limits(self, db: sqlite3.Connection, now_ms: int) -> None:
        self._evict_by_age(db, now_ms)
        while self._bytes > self.limits.max_bytes:
            victims = db.execute(
                "SELECT seq, kind, items, size FROM batch ORDER BY priority, seq LIMIT 64"
            ).fetchall()
            if not victims:
                break
            for seq, kind, items, size in victims:
                self._evict(db, "bytes", seq, kind, items, size)
                if self._bytes <= self.limits.max_bytes:
                    break

    def _evict_by_age(self, db: sqlite3.Connection, now_ms: int) -> int:
        cutoff = now_ms - int(self.limits.max_age_s * 1000)
        victims = db.execute(
            "SELECT seq, kind, items, size FROM batch WHERE created_ms < ?", (cutoff,)
        ).fetchall()
        for seq, kind, items, size in victims:
            self._evict(db, "age", seq, kind, items, size)
        return len(victims)

    def _evict(
        self, db: sqlite3.Connection, reason: str, seq: int, kind: str, items: int, size: int
    ) -> None:
        db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
        db.execute(
            "INSERT INTO eviction (reason, kind, batches, items) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (reason, kind) DO UPDATE SET batches = batches + 1,"
            " items = items + excluded.items",
            (reason, kind, items),
        )
        self._bytes -= size

    # -- draining --------------------------------------------------------------------------------

    def pending(
        self,
        limit: int,
        *,
        min_seq: int = 0,
        max_seq: int | None = None,
        skip: Iterable[int] = (),
    ) -> list[PendingBatch]:
        """Unacknowledged batches with ``min_seq <= seq < max_seq``, highest priority first, then
        oldest first, leaving out the seqs in ``skip`` (those already in flight).

        One indexed query per priority class, so the cost does not grow with the backlog.
        """
        skipped = sorted(set(skip))
        upper = max_seq if max_seq is not None else wire_limits.INT64_MAX
        exclude = f" AND seq NOT IN ({','.join('?' * len(skipped))})" if skipped else ""
        batches: list[PendingBatch] = []
        for priority in sorted(set(PRIORITY.values()), reverse=True):
            if len(batches) >= limit:
                break
            rows = self._db.execute(
                "SELECT seq, kind, created_ms, items, payload FROM batch"
                f" WHERE priority = ? AND seq >= ? AND seq < ?{exclude} ORDER BY seq LIMIT ?",
                (priority, min_seq, upper, *skipped, limit - len(batches)),
            ).fetchall()
            batches.extend(
                PendingBatch(seq, Kind(kind), created, items, bytes(payload))
                for seq, kind, created, items, payload in rows
            )
        return batches

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete the acknowledged batches; return how many were still here."""
        wanted = list(dict.fromkeys(seqs))
        deleted = 0
        with transaction(self._db) as db:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                freed = db.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM batch WHERE seq IN ({marks})",
                    part,
                ).fetchone()
                db.execute(f"DELETE FROM batch WHERE seq IN ({marks})", part)
                deleted += int(freed[0])
                self._bytes -= int(freed[1])
        return deleted

    # -- commands --------------------------------------------------------------------------------

    def remember_command(self, command_id: str, expires_ms: int) -> bool:
        """Record a command id; False when it was seen before (a duplicate). Ids are forgotten
        once their command has expired, when no copy of it can be executed anyway."""
        now_ms = to_epoch_ms(self._clock.now())
        with transaction(self._db) as db:
            db.execute("DELETE FROM command_seen WHERE expires_ms < ?", (now_ms,))
            inserted = db.execute(
                "INSERT OR IGNORE INTO command_seen (id, expires_ms) VALUES (?, ?)",
                (command_id, expires_ms),
            ).rowcount
        return inserted == 1

    # -- health ----------------------------------------------------------------------------------

    def stats(self) -> OutboxStats:
        rows, oldest = self._db.execute("SELECT COUNT(*), MIN(created_ms) FROM batch").fetchone()
        next_seq = self._db.execute("SELECT value FROM counter WHERE name = 'next_seq'").fetchone()[
            0
        ]
        evicted = {
            (reason, kind): (batches, items)
            for reason, kind, batches, items in self._db.execute(
                "SELECT reason, kind, batches, items FROM eviction"
            )
        }
        return OutboxStats(int(rows), self._bytes, oldest, int(next_seq), evicted)
