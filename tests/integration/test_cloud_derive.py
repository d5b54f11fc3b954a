"""``eclor cloud derive``: derived series written for a past period from stored history."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from cloud.cli import app as cloud_app
from cloud.dashboards.load import load_history
from cloud.derive import days
from cloud.registry.waste_centres import WasteCentreSpec, add_waste_centre
from cloud.store import SqliteSettings, StoreSettings, open_store
from eclor.clock import WallClock
from simulators.backfill import backfill as sim_backfill
from simulators.scenario import load_scenario
from tests.support.cloud_parts import sqlite_registry

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
END = datetime(2026, 11, 28, 0, 0, tzinfo=PARIS)  # a Saturday ends: Friday was open all day


def test_days_cut_at_local_midnight_and_keep_the_ends() -> None:
    start = datetime(2026, 10, 24, 18, 0, tzinfo=PARIS)
    end = datetime(2026, 10, 26, 6, 0, tzinfo=PARIS)
    cuts = list(days(start, end))
    assert [low.isoformat() for low, _ in cuts] == [
        "2026-10-24T18:00:00+02:00",
        "2026-10-25T00:00:00+02:00",
        "2026-10-26T00:00:00+01:00",
    ]
    assert cuts[-1][1] == end


async def _load(history: Path, store_path: Path) -> int:
    store = await open_store(StoreSettings(sqlite=SqliteSettings(path=store_path)), WallClock())
    try:
        return await load_history(history, store)
    finally:
        await store.close()


async def _sites_with_waits(store_path: Path, start: datetime, end: datetime) -> list[str]:
    store = await open_store(StoreSettings(sqlite=SqliteSettings(path=store_path)), WallClock())
    try:
        rows = await store.aggregate(
            "waste_wait",
            "wait_min",
            start_ms=int(start.timestamp() * 1000),
            end_ms=int(end.timestamp() * 1000),
            every_ms=3_600_000,
            fn="count",
            group_by=("site",),
        )
        return [row.tags["site"] for row in rows if row.windows]
    finally:
        await store.close()


def test_derive_writes_the_waits_of_a_backfilled_day(tmp_path: Path) -> None:
    scenario = load_scenario("demo")
    history = tmp_path / "history.jsonl"
    sim_backfill(scenario, END, 1.0, history)
    store_path = tmp_path / "ts.sqlite"
    assert asyncio.run(_load(history, store_path)) > 0
    sessions = sqlite_registry(tmp_path)
    spec = next(g for g in scenario.gateways if g.id == "vil-dech")
    assert spec.waste_centre is not None
    with sessions.begin() as session:
        add_waste_centre(
            session,
            WasteCentreSpec(
                centre_id="vil-dech",
                name=spec.site,
                commune="villerupt",
                latitude=spec.latitude,
                longitude=spec.longitude,
                capacity=spec.waste_centre.bays,
                opening_hours=dict(spec.waste_centre.opening_hours),
                closed_dates=tuple(d.isoformat() for d in spec.waste_centre.closed_dates),
                poll_interval_s=scenario.poll_s,
            ),
        )
    config = tmp_path / "cloud.yaml"
    config.write_text(
        f"store: {{sqlite: {{path: {store_path}}}}}\n"
        f"registry: {{url: 'sqlite:///{tmp_path / 'registry.sqlite'}'}}\n"
    )
    start = END - timedelta(days=1)
    args = ["derive", "--config", str(config), "--from", start.isoformat(), "--to", END.isoformat()]
    result = CliRunner().invoke(cloud_app, args)
    assert result.exit_code == 0, result.output
    assert "vil-dech" in asyncio.run(_sites_with_waits(store_path, start, END))


def test_derive_refuses_a_period_without_offset(tmp_path: Path) -> None:
    config = tmp_path / "cloud.yaml"
    config.write_text(f"registry: {{url: 'sqlite:///{tmp_path / 'r.sqlite'}'}}\n")
    args = ["derive", "--config", str(config), "--from", "2026-11-01T00:00", "--to", "2026-11-02"]
    result = CliRunner().invoke(cloud_app, args)
    assert result.exit_code == 2
    assert "UTC offset" in result.output
