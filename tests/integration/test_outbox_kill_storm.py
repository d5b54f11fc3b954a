"""Many kills inside writes: what the pollers were told is committed survives, once, unchanged.

A forked writer runs the agent's write path (pollers → :class:`ReadingBatcher` group commits →
:class:`AsyncOutbox` thread → :class:`Outbox` on SQLite) and reports on a pipe, after each
``put()`` returned, which readings it had handed over: that is the acknowledgement the edge gives
its pollers. The writer dies by ``SIGKILL`` at random points: half the time sent by the test after
a random number of acknowledgements and delay, half the time from inside SQLite (a progress handler
that kills the process at a random VM step, so inside an INSERT, an UPDATE of the sequence, a
COMMIT or the opening of the database). After every kill the test checks the files the way the
agent restarts on them: ``PRAGMA integrity_check``, the sequence continues without a hole or a
reuse, every acknowledged reading is stored exactly once with the value produced; then it drains
the outbox (as the uplink would) and starts the next writer on the same database.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from eclor.wire import Reading, TelemetryBatch, decode
from edge.batcher import ReadingBatcher
from edge.outbox import Outbox, OutboxLimits
from edge.outbox.worker import AsyncOutbox

pytestmark = pytest.mark.integration

GATEWAY = "cab-01"
T0 = 1_764_370_000_000
KILLS = 60
POLLERS = 4
Key = tuple[str, int]


def value_of(device: str, time_ms: int) -> float:
    return float((time_ms * 7919 + sum(map(ord, device))) % 1_000_003) / 10


def poll(device: str, k: int, count: int) -> list[Reading]:
    """The readings of poll ``k`` of ``device``: what the device produced, known to the test."""
    return [
        Reading(
            device=device,
            measurement="energy",
            time=T0 + k * 100 + i,
            fields={"wh": value_of(device, T0 + k * 100 + i)},
        )
        for i in range(count)
    ]


def kill_after(calls: int) -> Callable[[], int]:
    """A progress handler that kills the process on its ``calls``-th call: inside a statement."""
    remaining = iter(range(calls))

    def handler() -> int:
        if next(remaining, None) is None:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0  # 0: let the statement go on

    return handler


async def write_forever(path: Path, ack_fd: int, seed: int, life: int, step_budget: int) -> None:
    def open_store() -> Outbox:
        box = Outbox(path, GATEWAY, OutboxLimits(batch_max_readings=50))
        if step_budget:  # SQLite calls the handler every 10 VM steps of any statement
            box._db.set_progress_handler(kill_after(step_budget), 10)
        return box

    outbox = AsyncOutbox(open_store)
    batcher = ReadingBatcher(outbox, flush_interval_s=0.003, flush_size=120)
    runner = asyncio.create_task(batcher.run())

    async def poller(p: int) -> None:
        rng = random.Random(seed * 100 + p)
        device = f"life{life}-p{p}"
        for k in range(1_000_000):
            count = rng.randint(1, 30)
            await batcher.put(poll(device, k, count))
            os.write(ack_fd, f"{device} {k} {count}\n".encode())
            await asyncio.sleep(rng.random() * 0.002)

    await asyncio.gather(runner, *(poller(p) for p in range(POLLERS)))


def run_writer(path: Path, seed: int, life: int, step_budget: int) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer: never returns into pytest
        try:
            os.close(read_end)
            asyncio.run(write_forever(path, write_end, seed, life, step_budget))
        finally:
            os._exit(3)
    os.close(write_end)
    return pid, read_end


def kill_and_collect(pid: int, read_end: int, rng: random.Random, external: bool) -> set[Key]:
    """Read acknowledgements until the writer dies (or is killed); return the acked readings."""
    data = b""
    wanted_lines = rng.randint(1, 60)
    deadline = time.monotonic() + 20
    killed_at: float | None = None
    while True:
        ready, _, _ = select.select([read_end], [], [], 0.001)
        chunk = os.read(read_end, 65536) if ready else b""
        if ready and not chunk:
            break  # EOF: the writer is dead
        data += chunk
        now = time.monotonic()
        assert now < deadline, "the writer neither died nor acknowledged in time"
        if external and killed_at is None and data.count(b"\n") >= wanted_lines:
            killed_at = now + rng.random() * 0.02
        if killed_at is not None and now >= killed_at:
            os.kill(pid, signal.SIGKILL)
            killed_at = float("inf")
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), f"the writer exited by itself: {status}"
    assert os.WTERMSIG(status) == signal.SIGKILL
    acked: set[Key] = set()
    for line in data.decode().splitlines():
        device, k, count = line.split()
        acked.update((r.device, r.time) for r in poll(device, int(k), int(count)))
    return acked


@dataclass
class Tally:
    kills: int = 0
    kills_inside_sqlite: int = 0
    readings_acked: int = 0
    readings_committed_unacked: int = 0
    batches_verified: int = 0


def verify_and_drain(path: Path, acked: set[Key], delivered: set[Key], first_seq: int) -> int:
    """Check the outbox after a kill, then empty it as the uplink would; return the next seq."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    box = Outbox(path, GATEWAY)
    batches = box.pending(1_000_000)
    next_seq = box.stats().next_seq
    assert [b.seq for b in batches] == list(range(first_seq, next_seq)), "hole or reused seq"
    for batch in batches:
        message = decode(TelemetryBatch, batch.payload)
        assert message.seq == batch.seq
        for reading in message.readings:
            key = (reading.device, reading.time)
            assert key not in delivered, f"{key} stored twice"
            assert reading.fields == {"wh": value_of(*key)}, f"{key} changed"
            delivered.add(key)
    lost = acked - delivered
    assert not lost, f"{len(lost)} acknowledged readings lost, e.g. {sorted(lost)[:3]}"
    assert box.ack([b.seq for b in batches]) == len(batches)
    box.close()
    return next_seq


def test_acknowledged_readings_survive_many_kills_inside_writes(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    rng = random.Random(20261129)
    tally, delivered, next_seq = Tally(), set[Key](), 1
    started = time.monotonic()
    for life in range(KILLS):
        inside = life % 2 == 1
        budget = rng.randint(1, 1500) if inside else 0
        pid, read_end = run_writer(path, rng.randrange(1 << 30), life, budget)
        acked = kill_and_collect(pid, read_end, rng, external=not inside)
        before = len(delivered)
        seq_before = next_seq
        next_seq = verify_and_drain(path, acked, delivered, next_seq)
        tally.kills += 1
        tally.kills_inside_sqlite += inside
        tally.readings_acked += len(acked)
        tally.readings_committed_unacked += len(delivered) - before - len(acked)
        tally.batches_verified += next_seq - seq_before
    elapsed = time.monotonic() - started
    print(f"\nkill storm: {tally}, {len(delivered)} readings delivered, {elapsed:.1f} s")
    assert tally.kills == KILLS
    assert tally.readings_acked > 1000
    assert tally.readings_committed_unacked > 0  # some kills did land between commit and ack
