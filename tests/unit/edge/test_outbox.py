"""The outbox keeps batches until acked, bounded by bytes and age, evicting by priority."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import CommandResult, Event, EventBatch, Reading, TelemetryBatch, decode
from edge.errors import OutboxCorrupt
from edge.outbox import Kind, Outbox, OutboxLimits

START = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def readings(n: int, clock: ManualClock, start: int = 0) -> list[Reading]:
    t = to_epoch_ms(clock.now())
    return [
        Reading(device="meter-1", measurement="energy", time=t + i, fields={"power_w": float(i)})
        for i in range(start, start + n)
    ]


def event(clock: ManualClock) -> Event:
    return Event(
        device="ctrl", kind="cabinet_door_open", time=to_epoch_ms(clock.now()), severity="warning"
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def outbox(tmp_path: Path, clock: ManualClock) -> Outbox:
    box = Outbox(tmp_path / "outbox.sqlite", "cab-01", OutboxLimits(batch_max_readings=100), clock)
    yield box
    box.close()


def test_batches_carry_their_seq_and_decode(outbox: Outbox, clock: ManualClock) -> None:
    seqs = outbox.append_readings(readings(250, clock))
    assert seqs == [1, 2, 3]
    pending = outbox.pending(10)
    assert [p.seq for p in pending] == seqs
    decoded = [decode(TelemetryBatch, p.payload) for p in pending]
    assert [b.seq for b in decoded] == seqs
    assert sum(len(b.readings) for b in decoded) == 250
    assert [p.items for p in pending] == [100, 100, 50]


def test_ack_deletes_only_what_it_names(outbox: Outbox, clock: ManualClock) -> None:
    seqs = outbox.append_readings(readings(300, clock))
    assert outbox.ack([seqs[0], seqs[2], 999]) == 2
    assert [p.seq for p in outbox.pending(10)] == [seqs[1]]
    assert outbox.stats().rows == 1


def test_seq_stays_monotonic_across_reopen_and_empty_outbox(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path, "cab-01", clock=clock)
    first = box.append_readings(readings(3, clock))
    box.ack(first)
    box.close()
    box = Outbox(path, "cab-01", clock=clock)
    assert box.append_readings(readings(3, clock)) == [first[-1] + 1]
    box.close()


def test_pending_orders_priority_then_age_and_skips_in_flight(
    outbox: Outbox, clock: ManualClock
) -> None:
    t1 = outbox.append_readings(readings(1, clock))[0]
    e1 = outbox.append_events([event(clock)])[0]
    r1 = outbox.append_command_result(
        lambda seq: CommandResult(
            gateway="cab-01", seq=seq, id="c1", ok=True, time=to_epoch_ms(clock.now())
        )
    )
    t2 = outbox.append_readings(readings(1, clock))[0]
    assert [p.seq for p in outbox.pending(10)] == [r1, e1, t1, t2]
    assert [p.seq for p in outbox.pending(10, skip=[r1, t1])] == [e1, t2]
    assert [p.seq for p in outbox.pending(10, min_seq=t2)] == [t2]
    assert [p.seq for p in outbox.pending(10, max_seq=e1)] == [t1]
    kinds = {p.seq: p.kind for p in outbox.pending(10)}
    assert kinds == {t1: Kind.TELEMETRY, e1: Kind.EVENT, r1: Kind.CMD_RESULT, t2: Kind.TELEMETRY}
    assert decode(EventBatch, outbox.pending(1, min_seq=e1, max_seq=e1 + 1)[0].payload).seq == e1


def test_byte_limit_evicts_oldest_telemetry_first_and_counts(
    tmp_path: Path, clock: ManualClock
) -> None:
    probe = Outbox(tmp_path / "probe.sqlite", "cab-01", OutboxLimits(batch_max_readings=50), clock)
    probe.append_readings(readings(50, clock))
    batch_size = probe.stats().bytes
    probe.close()
    limit = batch_size * 10
    box = Outbox(
        tmp_path / "o.sqlite", "cab-01", OutboxLimits(max_bytes=limit, batch_max_readings=50), clock
    )
    events = [box.append_events([event(clock)])[0] for _ in range(3)]
    telemetry = [box.append_readings(readings(50, clock, start=i * 50))[0] for i in range(12)]
    stats = box.stats()
    assert stats.bytes <= limit
    left = {p.seq for p in box.pending(100)}
    assert set(events) <= left, "events outrank telemetry"
    evicted = sorted(set(telemetry) - left)
    assert evicted == telemetry[: len(evicted)], "oldest telemetry goes first"
    assert telemetry[-1] in left, "the newest reading is kept"
    assert stats.evicted == {("bytes", "telemetry"): (len(evicted), 50 * len(evicted))}
    box.close()


def test_evictions_are_counted_persistently(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path, "cab-01", OutboxLimits(max_bytes=1), clock)
    box.append_readings(readings(1, clock))
    box.close()
    box = Outbox(path, "cab-01", OutboxLimits(max_bytes=1), clock)
    assert box.stats().evicted == {("bytes", "telemetry"): (1, 1)}
    assert box.stats().rows == 0
    box.close()


def test_age_limit_evicts_whatever_the_priority(tmp_path: Path, clock: ManualClock) -> None:
    box = Outbox(tmp_path / "o.sqlite", "cab-01", OutboxLimits(max_age_s=3600), clock)
    old_event = box.append_events([event(clock)])[0]
    old_reading = box.append_readings(readings(5, clock))[0]
    clock.advance(1800)
    young = box.append_readings(readings(5, clock))[0]
    clock.advance(1801)
    assert box.expire() == 2
    assert [p.seq for p in box.pending(10)] == [young]
    assert box.stats().evicted == {("age", "event"): (1, 1), ("age", "telemetry"): (1, 5)}
    assert old_event != old_reading
    box.close()


def test_a_corrupt_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4096)
    with pytest.raises(OutboxCorrupt) as caught:
        Outbox(path, "cab-01")
    assert caught.value.path == str(path)


def test_the_file_is_wal_with_full_sync(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
