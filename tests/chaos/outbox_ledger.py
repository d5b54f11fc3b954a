"""A record, inside each agent's outbox database, of every batch committed and every eviction.

The outbox deletes a batch once the cloud acknowledges it, so after a run it cannot say what it
held. Before an agent first starts, the chaos suite creates the outbox schema (the agent's own
``edge.outbox.schema``) and adds triggers that copy each inserted batch into ``chaos_ledger`` and
mark it with the eviction reason when the outbox evicts it. The triggers run inside the agent's
own transactions, so the ledger is exactly as durable as the outbox: a batch is in the ledger if
and only if its commit returned. Nothing in the agent reads these tables.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from eclor.wire import TelemetryBatch, decode
from edge.outbox import schema

_LEDGER = (
    """CREATE TABLE IF NOT EXISTS chaos_ledger (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, created_ms INTEGER NOT NULL,
        payload BLOB NOT NULL, evicted TEXT)""",
    """CREATE TABLE IF NOT EXISTS chaos_last_deleted (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER)""",
    "INSERT OR IGNORE INTO chaos_last_deleted (id, seq) VALUES (1, NULL)",
    """CREATE TRIGGER IF NOT EXISTS chaos_committed AFTER INSERT ON batch BEGIN
        INSERT INTO chaos_ledger (seq, kind, created_ms, payload)
        VALUES (NEW.seq, NEW.kind, NEW.created_ms, NEW.payload); END""",
    """CREATE TRIGGER IF NOT EXISTS chaos_deleted AFTER DELETE ON batch BEGIN
        UPDATE chaos_last_deleted SET seq = OLD.seq WHERE id = 1; END""",
    # The outbox deletes the victim, then upserts its eviction counter, in one transaction.
    """CREATE TRIGGER IF NOT EXISTS chaos_evicted_first AFTER INSERT ON eviction BEGIN
        UPDATE chaos_ledger SET evicted = NEW.reason
        WHERE seq = (SELECT seq FROM chaos_last_deleted WHERE id = 1); END""",
    """CREATE TRIGGER IF NOT EXISTS chaos_evicted_again AFTER UPDATE ON eviction BEGIN
        UPDATE chaos_ledger SET evicted = NEW.reason
        WHERE seq = (SELECT seq FROM chaos_last_deleted WHERE id = 1); END""",
)


def depth(path: Path) -> int:
    """Batches of any kind in the outbox right now (read while the agent runs: WAL allows it)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM batch").fetchone()[0])
    finally:
        connection.close()


def install(path: Path) -> None:
    """Create the outbox at ``path`` with the agent's schema plus the ledger triggers."""
    connection = schema.connect(str(path))
    try:
        schema.create(connection)
        with schema.transaction(connection):
            for statement in _LEDGER:
                connection.execute(statement)
    finally:
        connection.close()


@dataclass(frozen=True)
class CommittedReading:
    gateway: str
    device: str
    seq: int
    value: int
    time_ms: int
    batch: int
    evicted: str | None


@dataclass(frozen=True)
class OutboxRecord:
    readings: list[CommittedReading]
    eviction_counters: dict[tuple[str, str], tuple[int, int]]
    """(reason, kind) → (batches, items), the agent's own persistent counters."""
    pending: frozenset[int]
    """Sequence numbers of the batches still in the outbox (not acknowledged, not evicted)."""


def read(path: Path, measurement: str = "chaos") -> OutboxRecord:
    """Every committed reading of ``measurement``, with its batch's eviction reason if any."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT seq, payload, evicted FROM chaos_ledger WHERE kind = 'telemetry'"
        ).fetchall()
        counters = {
            (reason, kind): (int(batches), int(items))
            for reason, kind, batches, items in connection.execute(
                "SELECT reason, kind, batches, items FROM eviction"
            )
        }
        pending = frozenset(int(seq) for (seq,) in connection.execute("SELECT seq FROM batch"))
    finally:
        connection.close()
    readings = [
        reading
        for seq, payload, evicted in rows
        for reading in _readings(decode(TelemetryBatch, bytes(payload)), seq, evicted, measurement)
    ]
    return OutboxRecord(readings, counters, pending)


def _readings(
    batch: TelemetryBatch, seq: int, evicted: str | None, measurement: str
) -> list[CommittedReading]:
    return [
        CommittedReading(
            batch.gateway,
            r.device,
            int(r.fields["seq"]),
            int(r.fields["value"]),
            r.time,
            seq,
            evicted,
        )
        for r in batch.readings
        if r.measurement == measurement
    ]
