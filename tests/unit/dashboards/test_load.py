"""``eclor dashboards load``: a backfill history goes into a store as the ingest writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud.dashboards.errors import DashboardError
from cloud.dashboards.load import load_history
from cloud.store import SqliteSettings, SqliteStore
from eclor.clock import ManualClock
from simulators.backfill import backfill
from simulators.scenario import load_scenario

END = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


async def test_a_backfill_history_is_loaded_with_the_ingest_tags(tmp_path: Path) -> None:
    history = tmp_path / "demo.jsonl.gz"
    result = backfill(load_scenario("demo"), END, 0.02, history)
    store = await SqliteStore.open(SqliteSettings(path=tmp_path / "ts.sqlite"), ManualClock(END))
    try:
        assert await load_history(history, store) == result.readings
        [meter] = await store.latest(
            "energy", where={"gateway": "vil-c001"}, group_by=("gateway", "device", "commune")
        )
    finally:
        await store.close()
    assert meter.tags["device"] == "meter"
    assert meter.tags["commune"] == "Villerupt"
    assert "energy_import_kwh" in meter.fields


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (b'{"device": "meter"}', "demo.jsonl:2: not a wire reading"),
        (
            b'{"device":"m","measurement":"energy","time":1795690860000,"fields":{"x":1.0}}',
            "without a gateway tag",
        ),
    ],
)
async def test_a_bad_line_is_named_with_its_file_and_number(
    tmp_path: Path, line: bytes, said: str
) -> None:
    good = (
        b'{"device":"m","measurement":"energy","time":1795690860000,"fields":{"x":1.0},'
        b'"tags":{"gateway":"g1"}}'
    )
    history = tmp_path / "demo.jsonl"
    history.write_bytes(good + b"\n" + line + b"\n")
    store = await SqliteStore.open(SqliteSettings(path=tmp_path / "ts.sqlite"), ManualClock(END))
    try:
        with pytest.raises(DashboardError, match=said):
            await load_history(history, store)
    finally:
        await store.close()
