"""What only the embedded store does: its file, durability settings, retention and its thread."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloud.errors import StoreRejected, StoreUnavailable
from cloud.store import Point, Sample, SqliteSettings, SqliteStore
from eclor.clock import ManualClock, to_epoch_ms

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = 86_400_000


def point(time_ms: int, value: float = 1.0, device: str = "d1") -> Point:
    return Point("energy", {"gateway": "g1", "device": device}, {"power_w": value}, time_ms)


async def open_store(path: Path, clock: ManualClock, **settings: Any) -> SqliteStore:
    return await SqliteStore.open(SqliteSettings(path=path, **settings), clock)


async def test_wal_full_sync_and_data_survive_a_reopen(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    path = tmp_path / "ts.sqlite"
    store = await open_store(path, clock)
    now = to_epoch_ms(NOW)
    await store.write([point(now, 2.5)])
    await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (1,)
    store = await open_store(path, clock)
    assert await store._run(store._db.pragma, "synchronous") == 2  # FULL, on its connection
    [row] = await store.latest("energy")
    assert row.fields == {"power_w": Sample(now, 2.5)}
    health = await store.health()
    assert health.ok
    assert str(path) in health.detail
    await store.close()


async def test_retention_refuses_old_points_and_prunes_them(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    store = await open_store(tmp_path / "ts.sqlite", clock, retention_days=2)
    now = to_epoch_ms(NOW)
    with pytest.raises(StoreRejected, match="2-day retention"):
        await store.write([point(now - 3 * DAY)])
    await store.write([point(now - DAY, device="old"), point(now, device="new")])
    clock.advance(1.5 * 86_400)
    assert await store.prune() == 1
    assert [row.tags["device"] for row in await store.latest("energy")] == ["new"]
    await store.close()


async def test_pruning_runs_by_itself_after_writes(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    store = await open_store(tmp_path / "ts.sqlite", clock, retention_days=1, prune_interval_s=60)
    now = to_epoch_ms(NOW)
    await store.write([point(now - DAY // 2, device="old")])
    clock.advance(86_400)
    await store.write([point(now + DAY, device="new")])
    assert [row.tags["device"] for row in await store.latest("energy")] == ["new"]
    await store.close()


async def test_a_type_conflict_inside_one_batch_writes_nothing(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "ts.sqlite", ManualClock(NOW))
    now = to_epoch_ms(NOW)
    batch = [point(now), Point("energy", {"device": "d2"}, {"power_w": 3}, now)]
    with pytest.raises(StoreRejected) as refused:
        await store.write(batch)
    assert refused.value.index == 1
    assert await store.latest("energy") == []
    await store.write([point(now)])  # the caches were not left with the rolled-back rows
    assert len(await store.latest("energy")) == 1
    await store.close()


async def test_concurrent_writes_are_serialised(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "ts.sqlite", ManualClock(NOW))
    now = to_epoch_ms(NOW)
    batches = [
        [point(now + i * 100 + j, device=f"d{i % 3}") for j in range(100)] for i in range(20)
    ]
    await asyncio.gather(*(store.write(batch) for batch in batches))
    counted = await store.aggregate(
        "energy", "power_w", start_ms=now, end_ms=now + DAY, every_ms=DAY, fn="count", group_by=()
    )
    assert counted[0].windows[0].value == 2000
    await store.close()


async def test_a_closed_store_is_unavailable(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "ts.sqlite", ManualClock(NOW))
    await store.close()
    await store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        await store.write([point(to_epoch_ms(NOW))])
    with pytest.raises(StoreUnavailable):
        await store.latest("energy")
    assert not (await store.health()).ok


async def test_files_it_cannot_use_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot open"):
        await open_store(tmp_path / "missing" / "ts.sqlite", ManualClock(NOW))
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StoreUnavailable):
        await open_store(garbage, ManualClock(NOW))
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as raw:
        raw.execute("PRAGMA user_version = 7")
    with pytest.raises(StoreUnavailable, match="schema version 7"):
        await open_store(newer, ManualClock(NOW))
