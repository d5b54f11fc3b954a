"""Power loss under the outbox, simulated at the file-system level.

The real :class:`edge.outbox.Outbox` (its schema, pragmas and every statement of append and ack)
runs on an apsw connection through :class:`tests.support.fs_faults.PowerLossVFS`, which knows what
was fsynced. The power is cut at a random write, sync or truncation; the files are rewritten as a
disk would hold them (unsynced writes dropped, or torn at sector boundaries and reordered); then the
outbox is reopened the way the agent does after a reboot (stdlib ``sqlite3``, default VFS) and
checked: ``PRAGMA integrity_check``, every append that had returned before the cut, every ack
(delete) that had returned, no hole in the sequence, every payload as written.

With ``synchronous=FULL`` (the outbox's setting) nothing that returned is lost. With ``NORMAL`` the
loss is bounded by the last sync of the WAL (a checkpoint), never a corruption. With ``OFF`` the
layer does lose acknowledged appends: the check can fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import pytest

from eclor.wire import Reading, TelemetryBatch, decode
from edge.batcher import ReadingBatcher
from edge.errors import OutboxCorrupt
from edge.outbox import Outbox, OutboxLimits
from edge.outbox.schema import PRAGMAS, create
from edge.outbox.worker import AsyncOutbox
from tests.support.fs_faults import Mode, PowerLossVFS

pytestmark = pytest.mark.integration

GATEWAY = "cab-01"
T0 = 1_764_370_000_000
CUTS = 60
ONE_BATCH_PER_APPEND = OutboxLimits(batch_max_readings=1000)
SYNC_LEVEL = {"OFF": 0, "NORMAL": 1, "FULL": 2}


def readings_for(seq: int) -> list[Reading]:
    return [
        Reading(
            device=f"lamp-{seq % 13}",
            measurement="energy",
            time=T0 + seq * 10 + i,
            fields={"wh": seq * 1000.0 + i, "on": i % 2 == 0},
        )
        for i in range(1 + seq % 7)
    ]


def apsw_outbox(
    path: Path,
    vfs: PowerLossVFS,
    synchronous: str,
    autocheckpoint: int | None = None,
    limits: OutboxLimits = ONE_BATCH_PER_APPEND,
) -> Outbox:
    """The real Outbox on an apsw connection through ``vfs``: only the connection differs
    (and, when given, how many WAL pages trigger a checkpoint: SQLite's default is 1000)."""

    class OnVFS(Outbox):
        @staticmethod
        def _open(path: Path) -> Any:
            db = apsw.Connection(str(path), vfs=vfs.name)
            for pragma in PRAGMAS:
                db.execute(pragma.replace("synchronous=FULL", f"synchronous={synchronous}"))
            if autocheckpoint is not None:
                db.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.execute("PRAGMA synchronous").fetchone()[0] == SYNC_LEVEL[synchronous]
            assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            create(db)  # type: ignore[arg-type]
            return db

    return OnVFS(path, GATEWAY, limits)


@dataclass
class Ledger:
    """What the pollers and the uplink were told, with the WAL syncs completed at that moment."""

    appended: dict[int, int] = field(default_factory=dict)
    deleted: dict[int, int] = field(default_factory=dict)
    attempted_delete: set[int] = field(default_factory=set)
    next_seq: int = 1


@dataclass
class Figures:
    cuts: int = 0
    appends_returned: int = 0
    verified_present: int = 0
    """Appends that had returned in the round and were found after the cut."""
    lost_in_window: int = 0
    max_lost_in_one_cut: int = 0
    wal_syncs: int = 0
    unsynced_writes_at_stake: int = 0
    cuts_amid_checkpoint: int = 0
    """Cuts with unsynced writes to the database file itself (a checkpoint under way)."""
    elapsed_s: float = 0.0


def write_until_cut(box: Outbox, vfs: PowerLossVFS, ledger: Ledger, rng: random.Random) -> None:
    vfs.cut_at = vfs.operations + rng.randint(1, 3000)
    while True:
        seq = ledger.next_seq
        try:
            returned = box.append_readings(readings_for(seq))
        except apsw.Error:
            return
        if vfs.dead:  # returned after the cut (a failed auto-checkpoint): nobody saw it
            return
        assert returned == [seq]
        ledger.appended[seq] = vfs.syncs["wal"]
        ledger.next_seq += 1
        if rng.random() < 0.1:
            delete_oldest(box, vfs, ledger, keep_from=seq - 30)
            if vfs.dead:
                return


def delete_oldest(box: Outbox, vfs: PowerLossVFS, ledger: Ledger, keep_from: int) -> None:
    live = [s for s in ledger.appended if s < keep_from and s not in ledger.deleted]
    if not live:
        return
    ledger.attempted_delete.update(live)
    try:
        box.ack(live)
    except apsw.Error:
        return
    if not vfs.dead:
        for seq in live:
            ledger.deleted[seq] = vfs.syncs["wal"]


def abandon(box: Outbox) -> None:
    """Drop the connection of a dead machine: nothing it still tries reaches the disk."""
    db: Any = box._db
    with contextlib.suppress(apsw.Error):
        db.close(True)


def reopen(path: Path) -> tuple[dict[int, bytes], int]:
    """Reopen as the agent does after a reboot; check integrity, the sequence and the payloads."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "corrupted by power loss"
    db.close()
    try:
        box = Outbox(path, GATEWAY)
    except OutboxCorrupt as exc:
        pytest.fail(f"the outbox does not reopen after the power cut: {exc}")
    stored = {p.seq: p.payload for p in box.pending(1_000_000)}
    next_seq = box.stats().next_seq
    box.close()
    seqs = sorted(stored)
    if seqs:
        assert seqs == list(range(seqs[0], seqs[-1] + 1)), "a hole in the sequence"
        assert next_seq == seqs[-1] + 1
    for seq, payload in stored.items():
        assert decode(TelemetryBatch, payload).readings == readings_for(seq), f"seq {seq} changed"
    return stored, next_seq


def check_promises(
    path: Path, ledger: Ledger, figures: Figures, durable_before: int | None
) -> None:
    """``durable_before``: a return is owed survival when fewer WAL syncs than this had completed
    at that moment (``None``: every return is owed survival)."""
    stored, next_seq = reopen(path)
    owed_before = durable_before if durable_before is not None else 1 << 62
    lost = 0
    for seq, synced_at_return in ledger.appended.items():
        if seq in ledger.deleted and ledger.deleted[seq] < owed_before:
            assert seq not in stored, f"seq {seq} came back although its delete had returned"
        elif synced_at_return < owed_before and seq not in ledger.attempted_delete:
            assert seq in stored, f"append of seq {seq} had returned and is lost"
            figures.verified_present += synced_at_return >= 0
        elif seq not in stored and seq not in ledger.attempted_delete:
            lost += 1
    if durable_before is None and ledger.appended:
        assert next_seq > max(ledger.appended), "a returned seq would be handed out again"
    figures.lost_in_window += lost
    figures.max_lost_in_one_cut = max(figures.max_lost_in_one_cut, lost)
    # What survived is the next round's baseline: on disk for good since the reopen.
    ledger.appended = {seq: -1 for seq in stored}
    ledger.deleted = {}
    ledger.attempted_delete = set()
    ledger.next_seq = next_seq


def run_power_cuts(
    tmp_path: Path,
    synchronous: str,
    mode: Mode,
    seed: int,
    *,
    owed: str = "every return",
    cuts: int = CUTS,
    autocheckpoint: int | None = None,
) -> Figures:
    """``owed``: ``"every return"`` (FULL's promise) or ``"returns before a WAL sync"``."""
    path = tmp_path / "outbox.sqlite"
    vfs = PowerLossVFS(f"powerloss-{synchronous}-{mode}-{seed}")
    rng = random.Random(seed)
    ledger, figures = Ledger(), Figures()
    started = time.monotonic()
    try:
        for _ in range(cuts):
            box = apsw_outbox(path, vfs, synchronous, autocheckpoint)
            appended_before = len(ledger.appended)
            write_until_cut(box, vfs, ledger, rng)
            figures.appends_returned += len(ledger.appended) - appended_before
            abandon(box)
            wal_syncs = vfs.syncs["wal"]
            at_stake = vfs.lose_power(mode, rng)
            figures.unsynced_writes_at_stake += sum(at_stake.values())
            figures.cuts_amid_checkpoint += at_stake.get(path.name, 0) > 0
            figures.cuts += 1
            window = None if owed == "every return" else wal_syncs
            check_promises(path, ledger, figures, window)
    finally:
        vfs.unregister()
    figures.elapsed_s = time.monotonic() - started
    figures.wal_syncs = vfs.syncs["wal"]
    print(f"\npower loss {synchronous}/{mode}/{autocheckpoint} seed {seed}: {figures}")
    return figures


@pytest.mark.parametrize("mode", ["drop", "torn"])
def test_full_loses_nothing_that_returned(tmp_path: Path, mode: Mode) -> None:
    figures = run_power_cuts(tmp_path, "FULL", mode, seed=10)
    assert figures.cuts == CUTS
    assert figures.lost_in_window == 0
    assert figures.verified_present > 1000
    assert figures.wal_syncs >= figures.appends_returned  # one fsync per commit at least
    assert figures.unsynced_writes_at_stake > 0  # some cuts did land amid writes


def test_full_loses_nothing_when_cut_amid_checkpoints(tmp_path: Path) -> None:
    """Checkpoints every 4 WAL pages, so that many cuts land while pages are copied into the
    database file (a rare moment with the default of 1000 pages)."""
    figures = run_power_cuts(tmp_path, "FULL", "torn", seed=14, autocheckpoint=4)
    assert figures.lost_in_window == 0
    assert figures.cuts_amid_checkpoint >= 10


@pytest.mark.parametrize("mode", ["drop", "torn"])
def test_normal_loses_only_since_the_last_wal_sync_and_never_corrupts(
    tmp_path: Path, mode: Mode
) -> None:
    figures = run_power_cuts(tmp_path, "NORMAL", mode, seed=11, owed="returns before a WAL sync")
    assert figures.cuts == CUTS
    assert figures.lost_in_window > 0, "NORMAL has a window; the layer must show it"


def test_the_layer_loses_acknowledged_appends_without_sync(tmp_path: Path) -> None:
    """Control: with no fsync at all, a cut in drop mode loses appends that had returned."""
    with pytest.raises(AssertionError, match="had returned and is lost"):
        run_power_cuts(tmp_path, "OFF", "drop", seed=12, cuts=10)


# -- the pollers' promise: a reading whose put() returned survives the cut ----------------------

Key = tuple[str, int]


def poll(device: str, k: int) -> list[Reading]:
    return [
        Reading(device=device, measurement="energy", time=T0 + k * 10 + i, fields={"wh": k + i})
        for i in range(1 + k % 5)
    ]


async def poll_until_cut(batcher: ReadingBatcher, device: str, acked: set[Key]) -> None:
    for k in range(1_000_000):
        readings = poll(device, k + 1000 * len(acked))
        await batcher.put(readings)  # raises once the power is cut under its commit
        acked.update((r.device, r.time) for r in readings)


async def batcher_until_cut(path: Path, vfs: PowerLossVFS, life: int, acked: set[Key]) -> None:
    outbox = AsyncOutbox(lambda: apsw_outbox(path, vfs, "FULL"))
    batcher = ReadingBatcher(outbox, flush_interval_s=0.002, flush_size=60)
    runner = asyncio.create_task(batcher.run())
    pollers = [
        asyncio.create_task(poll_until_cut(batcher, f"life{life}-p{p}", acked)) for p in range(3)
    ]
    with contextlib.suppress(apsw.Error):
        await runner
    for task in pollers:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    store = outbox._store
    await asyncio.get_running_loop().run_in_executor(outbox._executor, abandon, store)
    outbox._executor.shutdown(wait=True)


def drain(path: Path, delivered: set[Key]) -> None:
    """Reopen after the cut; every stored reading is new and unchanged; then empty the outbox."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    box = Outbox(path, GATEWAY)
    batches = box.pending(1_000_000)
    seqs = [b.seq for b in batches]
    if seqs:
        assert seqs == list(range(seqs[0], seqs[-1] + 1)), "a hole in the sequence"
    for batch in batches:
        for reading in decode(TelemetryBatch, batch.payload).readings:
            key = (reading.device, reading.time)
            assert key not in delivered, f"{key} stored twice"
            delivered.add(key)
    box.ack(seqs)
    box.close()


async def test_readings_whose_put_returned_survive_power_cuts(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    vfs = PowerLossVFS("powerloss-batcher")
    rng = random.Random(13)
    acked: set[Key] = set()
    delivered: set[Key] = set()
    started = time.monotonic()
    try:
        for life in range(30):
            vfs.cut_at = vfs.operations + rng.randint(1, 1500)
            await batcher_until_cut(path, vfs, life, acked)
            vfs.lose_power("torn", rng)
            drain(path, delivered)
            lost = acked - delivered
            assert not lost, f"{len(lost)} readings whose put() returned are lost"
    finally:
        vfs.unregister()
    print(
        f"\npower loss under the batcher: 30 cuts, {len(acked)} readings acknowledged, "
        f"{len(delivered)} stored, {time.monotonic() - started:.1f} s"
    )
    assert len(acked) > 1000


# -- a full outbox: every batch is stored or counted as evicted, through the cuts --------------


def test_evictions_stay_counted_through_power_cuts(tmp_path: Path) -> None:
    """The uplink is down and the byte bound is hit at every append: each append evicts the
    oldest batches in its own transaction. After each cut, every seq ever handed out is either
    stored or counted as evicted (batches and readings), and nothing that returned is lost."""
    path = tmp_path / "outbox.sqlite"
    limits = OutboxLimits(batch_max_readings=1000, max_bytes=24_000)
    vfs = PowerLossVFS("powerloss-evict")
    rng = random.Random(15)
    try:
        for _ in range(40):
            box = apsw_outbox(path, vfs, "FULL", limits=limits)
            ledger = Ledger(next_seq=box.stats().next_seq)
            write_until_cut_no_ack(box, vfs, ledger, rng)
            abandon(box)
            vfs.lose_power("torn", rng)
            stored, next_seq = reopen(path)
            box = Outbox(path, GATEWAY, limits)
            stats = box.stats()
            box.close()
            missing = [seq for seq in range(1, next_seq) if seq not in stored]
            assert stats.evicted == {
                ("bytes", "telemetry"): (len(missing), sum(len(readings_for(s)) for s in missing))
            }
            assert all(seq in stored or seq < min(stored) for seq in ledger.appended)
            assert next_seq > max(ledger.appended, default=0)
            assert stats.bytes <= limits.max_bytes
    finally:
        vfs.unregister()
    print(
        f"\nevictions through 40 torn cuts: {stats.evicted}, {len(stored)} stored, seq {next_seq}"
    )
    assert stats.evicted_batches > 1000


def write_until_cut_no_ack(
    box: Outbox, vfs: PowerLossVFS, ledger: Ledger, rng: random.Random
) -> None:
    vfs.cut_at = vfs.operations + rng.randint(1, 3000)
    while True:
        try:
            returned = box.append_readings(readings_for(ledger.next_seq))
        except apsw.Error:
            return
        if vfs.dead:
            return
        ledger.appended[returned[0]] = vfs.syncs["wal"]
        ledger.next_seq += 1


# -- the layer itself -------------------------------------------------------------------------


def test_the_layer_keeps_what_was_synced_and_tears_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    vfs = PowerLossVFS("powerloss-raw")
    flags = [apsw.SQLITE_OPEN_MAIN_DB | apsw.SQLITE_OPEN_CREATE | apsw.SQLITE_OPEN_READWRITE, 0]
    try:
        for mode in ("drop", "torn"):
            file = vfs.xOpen(str(path), flags)
            file.xWrite(b"a" * 4096, 0)
            file.xSync(0)
            file.xWrite(b"b" * 4096, 2048)  # unsynced: half over synced bytes, half beyond
            vfs.cut_at = vfs.operations + 1
            with pytest.raises(apsw.IOError):
                file.xSync(0)
            with pytest.raises(apsw.IOError):
                file.xWrite(b"c", 0)  # the power is off
            file.xClose()
            assert vfs.lose_power(mode, random.Random(5)) == {"raw.db": 1}
            disk = path.read_bytes()
            sectors = [disk[i : i + 512] for i in range(0, len(disk), 512)]
            assert disk[:2048] == b"a" * 2048
            if mode == "drop":
                assert disk == b"a" * 4096
            else:
                assert set(sectors) <= {b"a" * 512, b"b" * 512, bytes(512)}
                assert b"b" * 512 in sectors, "seed 5 lands some sectors of the torn write"
                assert disk[2048:4096] != b"b" * 2048, "and loses some others"
            path.unlink()
    finally:
        vfs.unregister()
