"""Every board's variables and panels, run against a real InfluxDB filled the way production is.

Two days of the demo territory come from ``eclor sim backfill`` and go in through
``eclor dashboards load`` (the ingest's point conversion); gateway status and alarm events through
the ingest's own converters; ``lighting`` readings from the edge's real lighting executor stepped
on a manual clock; ``dali`` readings and lamp-failure events from the edge's DALI line and poller
against the simulated line served as a LUBA interface; then each cloud feature's ``backfill``
(savings, lighting, alarms, residents) over the same range with a registry holding the gateways
and their baselines. Panels whose measurement nothing writes yet are listed in
:data:`NOT_PRODUCED` with the reason, and a test checks that list is exactly what is absent, so it
cannot go stale silently.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cloud.dashboards.board import Board, TagVariable
from cloud.dashboards.boards import BOARDS
from cloud.dashboards.build import board_json
from cloud.dashboards.catalog import MEASUREMENTS
from cloud.dashboards.influx import InfluxReader, Range
from cloud.dashboards.panels import REF_IDS
from cloud.dashboards.query import Query
from cloud.ingest.convert import event_points, status_points
from cloud.registry.baselines import set_baseline
from cloud.registry.traffic_stations import add_traffic_lane
from cloud.registry.waste_centres import WasteCentreSpec, add_waste_centre
from cloud.scheduler import JOB_MODULES, JobContext
from cloud.store import InfluxSettings, InfluxStore, point_from_reading
from eclor.cli import app
from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import DeviceHealth, Event, EventBatch, OutboxHealth, Reading, Status
from edge.lighting.actuators.dali import DaliActuator
from edge.lighting.backends_config import ContactorTarget, DaliLineConfig, DaliTarget
from edge.lighting.config import GroupConfig, LightingConfig, SiteConfig
from edge.lighting.dali_line import DaliLine
from edge.lighting.dali_poll import DaliPoller
from edge.lighting.executor import LightingExecutor
from edge.metrics import EdgeMetrics
from simulators.dali import BusTiming, serve_luba_tcp
from simulators.dali import DaliLine as SimLine
from simulators.scenario import LoopStationSpec, load_scenario
from tests.services.influxdb import InfluxDBServer
from tests.support.cloud_parts import enroll, sqlite_registry

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
# A Friday noon: the two days before hold weekday afternoons, which the waste centre's forecast
# of the coming afternoon is built from.
END = datetime(2026, 11, 27, 12, 0, tzinfo=PARIS)
DAYS = 2
START = END - timedelta(days=DAYS)
WINDOW = Range(to_epoch_ms(START), to_epoch_ms(END), "1h")
PREFER = {
    "commune": "Villerupt",
    "cabinet": "vil-c001",
    "site": "vil-dech",
    "station": "vil-c001",
    "gateway": "vil-c001",
    "group": "main_street",
}
NOT_PRODUCED: dict[str, str] = {}
NUMERIC_UNITS = {"kwatth", "watth", "watt", "amp", "volt", "percent", "h", "m", "s", "none"}


@dataclass(frozen=True)
class Filled:
    url: str
    database: str
    history: Path


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def filled(influxdb: InfluxDBServer, tmp_path_factory: pytest.TempPathFactory) -> Filled:
    folder = tmp_path_factory.mktemp("dashboards")
    history = folder / "demo.jsonl"
    days = str(DAYS)
    _cli(
        "sim",
        "backfill",
        "-s",
        "demo",
        "--days",
        days,
        "--out",
        str(history),
        "--end",
        END.isoformat(),
    )
    database = f"boards_{uuid.uuid4().hex[:10]}"
    _cli("dashboards", "load", str(history), "--influx-url", influxdb.url, "--database", database)
    asyncio.run(_derived(influxdb.url, database, folder))
    return Filled(influxdb.url, database, history)


async def _derived(url: str, database: str, folder: Path) -> None:
    store = await InfluxStore.open(InfluxSettings(url=url, database=database))
    try:
        gateways = [g.id for g in load_scenario("demo").gateways]
        await store.write([p for s in _statuses(gateways) for p in status_points(s)])
        await store.write(event_points(_events()))
        for gateway in ("vil-c001", "vil-c002"):
            readings = await _lighting_readings(gateway, folder)
            await store.write([point_from_reading(r, gateway) for r in readings])
        dali, dali_events = await asyncio.wait_for(_dali_readings(), 120)
        await store.write([point_from_reading(r, "vil-c001") for r in dali])
        await store.write(event_points(EventBatch(gateway="vil-c001", seq=2, events=dali_events)))
        sessions = sqlite_registry(folder)
        enroll(sessions, *gateways)
        with sessions.begin() as session:
            for gateway, watts in (
                ("vil-c001", 3300.0),
                ("vil-c002", 2100.0),
                ("aud-c001", 1600.0),
            ):
                set_baseline(session, gateway, now=END, installed_w=watts, meter_device="meter")
            _register_residents(session)
        context = JobContext(sessions, store, ManualClock(END))
        for name in JOB_MODULES:
            await importlib.import_module(name).backfill(context, START, END)
    finally:
        await store.close()


def _register_residents(session: Session) -> None:
    """The demo's waste centre and loop lanes, under the device ids the backfill uses."""
    for spec in load_scenario("demo").gateways:
        centre = spec.waste_centre
        if centre is not None:
            add_waste_centre(
                session,
                WasteCentreSpec(
                    centre_id=spec.id,
                    name=spec.site,
                    commune=spec.commune,
                    latitude=spec.latitude,
                    longitude=spec.longitude,
                    capacity=centre.bays,
                    opening_hours={d: list(p) for d, p in centre.opening_hours.items()},
                    closed_dates=tuple(d.isoformat() for d in centre.closed_dates),
                ),
            )
        point = {"type": "Point", "coordinates": [spec.longitude, spec.latitude]}
        for device in spec.devices:
            if not isinstance(device, LoopStationSpec):
                continue
            for number, lane in enumerate(device.lanes, start=1):
                add_traffic_lane(
                    session,
                    spec.id,
                    device.id,
                    number,
                    direction=lane.direction,
                    segment=f"{spec.site} ({lane.direction})",
                    geometry=point,
                    interval_s=device.interval_s,
                )


def _statuses(gateways: Sequence[str]) -> list[Status]:
    statuses = []
    for step in range(DAYS * 24 * 12):
        moment = to_epoch_ms(START) + step * 300_000
        for index, gateway in enumerate(gateways):
            rows = (step * (index + 1)) % 500
            statuses.append(
                Status(
                    gateway=gateway,
                    state="offline" if gateway == "aud-c001" and step % 50 == 0 else "online",
                    time=moment,
                    outbox=OutboxHealth(
                        rows=rows, bytes=rows * 180, oldest_age_s=rows * 1.5, evicted=step // 100
                    ),
                    devices={
                        "meter": DeviceHealth(state="ok"),
                        "controller": DeviceHealth(
                            state="unreachable" if step % 7 == 0 else "ok", errors=step // 7
                        ),
                    },
                )
            )
    return statuses


def _events() -> EventBatch:
    start = to_epoch_ms(START)
    events = [
        Event(
            device="controller", kind="cabinetDoorOpen", time=start + 3_600_000, severity="minor"
        ),
        Event(
            device="controller",
            kind="cabinetDoorOpen",
            time=start + 4_000_000,
            severity="minor",
            active=False,
        ),
        Event(
            device="lighting",
            kind="lampUnexpectedOn",
            time=start + 40_000_000,
            severity="major",
            detail="power in daylight while commanded off",
            fields={"power_w": 850.0, "expected_w": 0.0},
        ),
    ]
    return EventBatch(gateway="vil-c001", seq=1, events=events)


async def _lighting_readings(gateway: str, folder: Path) -> list[Reading]:
    """The edge's executor, no program received: the astronomical default, read every minute."""
    config = LightingConfig(
        state_path=folder / f"{gateway}-lighting.json",
        site=SiteConfig(latitude=49.4683, longitude=5.9289),
        groups=[
            GroupConfig(
                name="main_street",
                contactor=ContactorTarget(device="controller", outputs=["contactor_1"]),
            )
        ],
    )
    clock = ManualClock(START)
    readings: list[Reading] = []

    async def sink(batch: Sequence[Reading]) -> None:
        readings.extend(batch)

    executor = LightingExecutor(config, gateway, {}, clock, EdgeMetrics(), sink)
    for _ in range(DAYS * 24 * 60):
        await executor.tick()
        clock.advance(60)
    await executor.idle()
    return readings


async def _dali_readings() -> tuple[list[Reading], list[Event]]:
    """The edge's DALI line and poller against the simulated line served as a LUBA interface:
    the group switched by DAPC at night, gear 2's lamp failing, status and banks 202/206 read
    every 6 hours (the gear's time is the manual clock, the bus 200 times faster than real)."""
    clock = ManualClock(START)
    sim = SimLine(4, clock=clock, timing=BusTiming(speed=200), rated_power_w=40.0, standby_w=0.4)
    for gear in sim.gear:
        gear.settings.groups.add(0)
    readings: list[Reading] = []
    events: list[Event] = []

    async def on_readings(batch: Sequence[Reading]) -> None:
        readings.extend(batch)

    async def on_events(batch: Sequence[Event]) -> None:
        events.extend(batch)

    async with await serve_luba_tcp(sim) as server:
        assert server.tcp_address is not None
        host, port = server.tcp_address
        config = DaliLineConfig(name="dali", port=f"luba232:socket://{host}:{port}", timeout_s=0.5)
        line = DaliLine(
            config,
            clock=clock,
            on_readings=on_readings,
            on_events=on_events,
            group_names={0: "main_street"},
        )
        line.start()
        try:
            await line.wait_up(30)
            poller = DaliPoller(line)
            group = DaliActuator(line, DaliTarget(line="dali", group=0))
            for step in range(DAYS * 4):
                hour = clock.now().astimezone(PARIS).hour
                await group.apply(100 if hour >= 17 or hour < 8 else 0, 0)
                if step == 2:
                    sim.gear[2].set_lamp_failure()
                clock.advance(6 * 3600)
                for address in sorted(line.gear):
                    await poller.status_of(address)
                    await poller.energy_of(address)
        finally:
            await line.close()
    return readings, events


@pytest.fixture(scope="module")
def reader(filled: Filled) -> Any:
    reader = InfluxReader(filled.url, filled.database)
    yield reader
    reader.close()


def test_the_unproduced_measurements_are_exactly_the_absent_ones(filled: Filled) -> None:
    response = httpx.get(
        f"{filled.url}/query", params={"db": filled.database, "q": "SHOW MEASUREMENTS"}
    )
    stored = {row[0] for s in response.json()["results"][0]["series"] for row in s["values"]}
    wanted = {m.name for m in MEASUREMENTS}
    assert wanted - stored == set(NOT_PRODUCED), "update NOT_PRODUCED: a producer landed or broke"


def test_every_template_variable_query_returns_values(reader: InfluxReader) -> None:
    unchecked = []
    for board in BOARDS:
        chosen: dict[str, str] = {}
        for variable in board.variables:
            if not isinstance(variable, TagVariable):
                continue
            if variable.measurement.name in NOT_PRODUCED:
                unchecked.append(f"{board.uid} ${variable.name}")
                chosen[variable.name] = ".*"
                continue
            values = reader.variable_values(variable, chosen, WINDOW)
            assert values, f"{board.uid}: ${variable.name} has no value under {chosen}"
            chosen[variable.name] = PREFER.get(variable.name, values[0])
            assert chosen[variable.name] in values, (variable.name, values)
    assert unchecked == []


def _checkable(query: Query) -> bool:
    return query.measurement.name not in NOT_PRODUCED


def test_every_panel_returns_series_with_the_catalog_units(reader: InfluxReader) -> None:
    checked, unchecked = 0, []
    for board in BOARDS:
        panels_json = board_json(board)["panels"]
        chosen = reader.choose(board, WINDOW, prefer=PREFER, strict=False)
        for spec, panel_json in zip(board.panels, panels_json, strict=True):
            for index, query in enumerate(spec.queries):
                if not isinstance(query, Query):
                    continue  # Prometheus panels: checked against the exported metrics (unit test)
                name = f"{board.uid} / {spec.title} / {REF_IDS[index]}"
                if not _checkable(query):
                    unchecked.append(name)
                    continue
                series = reader.panel_series(query, chosen, _window(board))
                assert series, f"{name}: no series for {chosen}"
                _check_series(name, query, series)
                assert _unit_of(panel_json, REF_IDS[index]) == query.effective_unit, name
                checked += 1
    every = sum(isinstance(q, Query) for b in BOARDS for s in b.panels for q in s.queries)
    assert checked == every - len(unchecked) >= 25
    expected = {
        f"{b.uid} / {s.title} / {REF_IDS[i]}"
        for b in BOARDS
        for s in b.panels
        for i, q in enumerate(s.queries)
        if isinstance(q, Query) and not _checkable(q)
    }
    assert set(unchecked) == expected


def _window(board: Board) -> Range:
    """The test's range as the board shows it: a forecast board reaches past now."""
    return Range(WINDOW.start_ms, WINDOW.end_ms + board.ahead_h * 3_600_000, WINDOW.interval)


def _check_series(name: str, query: Query, series: list[Any]) -> None:
    arithmetic = any(c.op or c.prefix for c in query.columns)
    for one in series:
        assert one.columns == ["time", *(c.name for c in query.columns)], name
        for position, column in enumerate(query.columns, start=1):
            values = [row[position] for row in one.values if row[position] is not None]
            if not values:
                continue
            kind = "float" if arithmetic else column.field.kind
            expected: tuple[type, ...] = {
                "float": (int, float),
                "int": (int, float),
                "bool": (bool,),
                "str": (str,),
            }[kind]
            for value in values:
                assert isinstance(value, expected), f"{name}: {value!r} for {column.name}"
                if kind in ("float", "int"):
                    assert not isinstance(value, bool), name
    assert any(
        row[p] is not None for one in series for row in one.values for p in range(1, len(row))
    ), f"{name}: only nulls"
    if query.effective_unit in ("kwatth", "watt", "h", "currencyEUR"):
        numbers = [v for one in series for row in one.values for v in row[1:] if v is not None]
        assert min(numbers) >= 0, f"{name}: negative {query.effective_unit}"


def _unit_of(panel: dict[str, Any], ref: str) -> str:
    for override in panel["fieldConfig"].get("overrides", []):
        if override["matcher"] == {"id": "byFrameRefID", "options": ref}:
            return str(override["properties"][0]["value"])
    return str(panel["fieldConfig"]["defaults"]["unit"])


def test_preview_draws_a_picture_per_panel_with_data(filled: Filled, tmp_path: Path) -> None:
    out = _cli(
        "dashboards",
        "preview",
        "--out",
        str(tmp_path),
        "--influx-url",
        filled.url,
        "--database",
        filled.database,
        "--end",
        END.isoformat(),
        "--days",
        str(DAYS),
        *(f"--var={name}={value}" for name, value in PREFER.items()),
    )
    pictures = sorted(tmp_path.rglob("*.png"))
    kept = ARTIFACTS / "dashboards"  # for a reviewer without Grafana
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(tmp_path, kept, ignore=shutil.ignore_patterns("*.json"))
    drawable = [
        s
        for b in BOARDS
        for s in b.panels
        if any(isinstance(q, Query) and _checkable(q) for q in s.queries)
    ]
    assert len(pictures) == len(drawable) >= 19
    assert all(p.stat().st_size > 5_000 for p in pictures)
    assert "skipped" in out
    for line in out.splitlines():
        if line.startswith("EMPTY"):
            measurement_missing = any(
                isinstance(q, Query) and not _checkable(q)
                for b in BOARDS
                for s in b.panels
                if s.title in line
                for q in s.queries
            )
            assert measurement_missing, line
