"""The outbox's SQLite schema and pragmas.

Durability: WAL with ``synchronous=FULL``. A transaction that returned is on disk, through a
process kill and through a power cut or kernel crash (the WAL is fsynced at every commit). Commits
are grouped (one per flush of the batcher, a few per second), so the fsync cost is paid per batch,
not per reading. NORMAL would lose the last commits on power loss; we chose not to have that window.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

SCHEMA_VERSION = 1

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    # Keep the WAL from growing without bound between checkpoints on a long backlog.
    "PRAGMA journal_size_limit=67108864",
)

TABLES = (
    """CREATE TABLE IF NOT EXISTS batch (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        priority INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        items INTEGER NOT NULL,
        size INTEGER NOT NULL,
        payload BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS batch_eviction ON batch (priority, seq)",
    "CREATE INDEX IF NOT EXISTS batch_age ON batch (created_ms)",
    """CREATE TABLE IF NOT EXISTS counter (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS command_seen (
        id TEXT PRIMARY KEY,
        expires_ms INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS eviction (
        reason TEXT NOT NULL,
        kind TEXT NOT NULL,
        batches INTEGER NOT NULL,
        items INTEGER NOT NULL,
        PRIMARY KEY (reason, kind)
    )""",
)


def connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        connection.execute(pragma)
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        raise sqlite3.OperationalError(f"journal_mode is {mode}, WAL needed")
    return connection


def create(connection: sqlite3.Connection) -> None:
    with transaction(connection):
        for statement in TABLES:
            connection.execute(statement)
        connection.execute(
            "INSERT OR IGNORE INTO counter (name, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )
        connection.execute("INSERT OR IGNORE INTO counter (name, value) VALUES ('next_seq', 1)")


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
