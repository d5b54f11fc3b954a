"""Alarms end to end on real parts: edge ``event`` messages through a real Mosquitto and the
ingest into the registry's open/clear life cycle; the cloud's silence check; the API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.alarms.jobs import run_silence_check
from cloud.alarms.kinds import DEVICE_SILENT, EDGE_KINDS, GATEWAY_SILENT, canonical_kind
from cloud.alarms.metrics import register_open_alarms
from cloud.alarms.seen import mark_seen
from cloud.alarms.silence import SilenceSettings
from cloud.registry.alarms import AlarmEvent, apply_alarm_event
from cloud.registry.db import make_session_factory
from cloud.registry.dead_letters import count_dead_letters_by_reason
from cloud.registry.devices import add_device
from cloud.registry.gateways import enroll_gateway, get_gateway
from cloud.registry.health import record_devices_seen, record_status
from cloud.registry.migrate import upgrade
from cloud.registry.models import Device
from cloud.registry.models_alarms import Alarm
from cloud.scheduler import JobContext
from cloud.store import SqliteSettings, SqliteStore
from cloud.store.base import TimeSeriesStore
from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import DeviceHealth, Event, EventBatch, Reading, Status, encode
from tests.integration.test_api_harness import open_api
from tests.integration.test_registry_db import registry_engine
from tests.services.mosquitto import MosquittoServer
from tests.support.cloud_parts import enroll, running_ingest, sqlite_registry
from tests.support.gateway import until
from tests.support.gateway_client import GatewayClient

pytestmark = pytest.mark.integration
GW = "cab-thil-04"


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    registry = sqlite_registry(tmp_path)
    enroll(registry, GW)
    return registry


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    opened = await SqliteStore.open(
        SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None)
    )
    yield opened
    await opened.close()


def alarms(sessions: sessionmaker[Session]) -> list[Alarm]:
    with sessions() as session:
        rows = list(session.scalars(select(Alarm).order_by(Alarm.id)))
        session.expunge_all()
        return rows


def wire_kind(kind: str) -> str:
    """The wire admits only snake case: ``lampFailure`` goes as ``lamp_failure``."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in kind)


def event(kind: str, at_ms: int, active: bool, device: str = "dali-dali-gear-3") -> Event:
    return Event(
        device=device,
        kind=wire_kind(kind),
        time=at_ms,
        severity="warning",
        active=active,
        detail=f"{kind} {'raised' if active else 'cleared'}",
        fields={"power_w": 12.5},
    )


class EdgeEvents:
    """Publishes event batches as a gateway and waits for their acks."""

    def __init__(self, client: GatewayClient) -> None:
        self.client = client

    async def send(self, seq: int, *events: Event) -> None:
        batch = EventBatch(gateway=GW, seq=seq, events=list(events))
        self.client.publish_raw("event", encode(batch))
        await until(lambda: seq in self.client.acks(), what=f"ack of event batch {seq}")


@pytest.fixture
async def edge(
    store: TimeSeriesStore, sessions: sessionmaker[Session], mosquitto: MosquittoServer
) -> AsyncIterator[EdgeEvents]:
    client = GatewayClient(mosquitto.port, GW)
    try:
        async with running_ingest(store, sessions, mosquitto.port):
            yield EdgeEvents(client)
    finally:
        client.close()


async def test_every_edge_alarm_kind_opens_and_clears_through_the_ingest(
    edge: EdgeEvents, sessions: sessionmaker[Session], store: TimeSeriesStore
) -> None:
    t0 = int(time.time() * 1000) - 60_000
    kinds = sorted(EDGE_KINDS)
    await edge.send(1, *(event(kind, t0, True) for kind in kinds))
    opened = alarms(sessions)
    assert sorted(a.kind for a in opened) == kinds
    assert all(a.cleared_at is None and a.count == 1 for a in opened)
    assert all(a.gateway_id == GW and a.device_id == "dali-dali-gear-3" for a in opened)
    await edge.send(2, *(event(kind, t0 + 5_000, False) for kind in kinds))
    cleared = alarms(sessions)
    assert len(cleared) == len(kinds), "a clear closes the episode, it opens nothing"
    assert all(a.cleared_at == a.opened_at + timedelta(seconds=5) for a in cleared)
    stored = await store.latest("event", {"gateway": GW}, group_by=("kind",))
    assert {canonical_kind(row.tags["kind"]) for row in stored} == set(kinds), "stored too"


async def test_a_replay_after_a_lost_ack_opens_no_second_alarm(
    edge: EdgeEvents, sessions: sessionmaker[Session]
) -> None:
    t0 = int(time.time() * 1000) - 60_000
    raise_ = event("lampFailure", t0, True)
    await edge.send(1, raise_)
    await edge.send(1, raise_)  # the same batch again: its first ack was lost
    [alarm] = alarms(sessions)
    assert alarm.count == 1, "a replay is not a new raise"
    await edge.send(2, event("lampFailure", t0 + 1_000, True))
    assert alarms(sessions)[0].count == 2, "a later raise refreshes the episode"
    await edge.send(3, event("lampFailure", t0 + 2_000, False))
    await edge.send(1, raise_)  # replayed after the clear
    await edge.send(2, event("lampFailure", t0 + 1_000, True))
    [alarm] = alarms(sessions)
    assert alarm.cleared_at is not None, "old raises replayed after a clear reopen nothing"
    await edge.send(4, event("lampFailure", t0 + 3_000, True))
    assert [a.cleared_at is None for a in alarms(sessions)] == [False, True], "a new episode"


async def test_a_raise_and_its_clear_in_one_batch_leave_a_cleared_alarm(
    edge: EdgeEvents, sessions: sessionmaker[Session]
) -> None:
    t0 = int(time.time() * 1000) - 60_000
    await edge.send(
        1,
        event("cabinetDoorOpen", t0 + 1, False, "ctrl"),
        event("cabinetDoorOpen", t0, True, "ctrl"),
    )
    [alarm] = alarms(sessions)
    assert alarm.kind == "cabinetDoorOpen"
    assert alarm.cleared_at is not None


async def test_an_event_from_the_future_is_set_aside_and_the_rest_applied(
    edge: EdgeEvents, sessions: sessionmaker[Session], store: TimeSeriesStore
) -> None:
    now = int(time.time() * 1000)
    future = event("gearFailure", now + 2 * 3_600_000, True, "dali-dali-gear-9")
    await edge.send(1, future, event("lampFailure", now, True))
    assert [a.kind for a in alarms(sessions)] == ["lampFailure"]
    with sessions() as session:
        assert count_dead_letters_by_reason(session).get("bad_event") == 1
    stored = await store.latest("event", {"gateway": GW}, group_by=("kind",))
    assert [row.tags["kind"] for row in stored] == ["lamp_failure"]


async def test_non_alarm_events_are_stored_without_an_alarm(
    edge: EdgeEvents, sessions: sessionmaker[Session], store: TimeSeriesStore
) -> None:
    await edge.send(1, event("program_applied", int(time.time() * 1000), True, "lighting"))
    assert alarms(sessions) == []
    assert await store.latest("event", {"gateway": GW})


def status(state: str, at: datetime, devices: dict[str, DeviceHealth] | None = None) -> Status:
    return Status(gateway=GW, time=to_epoch_ms(at), state=state, devices=devices or {})  # type: ignore[arg-type]


async def test_silent_gateways_and_devices_open_and_clear(
    sessions: sessionmaker[Session], store: TimeSeriesStore
) -> None:
    clock = ManualClock(datetime(2026, 11, 29, 20, 0, tzinfo=UTC))
    context = JobContext(sessions, store, clock)
    settings = SilenceSettings(gateway_after_s=600, device_polls=3, default_poll_s=60)
    with sessions.begin() as session:
        add_device(session, GW, "meter", profile="eastron-sdm630", now=clock.now())
        add_device(
            session, GW, "ctrl", profile="x", now=clock.now(), tags={"poll_interval_s": "600"}
        )
        record_status(session, status("online", clock.now()), received_at=clock.now())
        record_devices_seen(session, GW, ["meter", "ctrl"], clock.now())

    def open_kinds() -> list[tuple[str, str]]:
        return [(a.kind, a.device_id) for a in alarms(sessions) if a.cleared_at is None]

    await run_silence_check(context, settings)
    assert open_kinds() == []
    clock.advance(400)  # meter: 3 × 60 s → silent; ctrl polled every 600 s
    with sessions.begin() as session:
        record_status(session, status("online", clock.now()), received_at=clock.now())
    await run_silence_check(context, settings)
    assert open_kinds() == [(DEVICE_SILENT, "meter")]
    await run_silence_check(context, settings)
    assert len(alarms(sessions)) == 1, "a silence going on is one alarm"
    clock.advance(700)  # the gateway said nothing for 700 s
    await run_silence_check(context, settings)
    assert (GATEWAY_SILENT, GW) in open_kinds()
    clock.advance(10)
    with sessions.begin() as session:
        health = {"meter": DeviceHealth(state="ok"), "ctrl": DeviceHealth(state="unreachable")}
        record_status(session, status("online", clock.now(), health), received_at=clock.now())
        record_devices_seen(session, GW, ["meter"], clock.now())
    await run_silence_check(context, settings)
    assert open_kinds() == [(DEVICE_SILENT, "ctrl")], "gateway and meter back, ctrl unreachable"
    clock.advance(10)
    with sessions.begin() as session:  # the last will
        record_status(
            session, status("offline", clock.now() - timedelta(hours=1)), received_at=clock.now()
        )
    await run_silence_check(context, settings)
    assert (GATEWAY_SILENT, GW) in open_kinds()


async def test_the_api_lists_filters_pages_and_acknowledges(tmp_path: Path) -> None:
    async with open_api(tmp_path) as api:
        now = api.clock.now()
        enroll(api.sessions, GW, "cab-vil-01")
        with api.sessions.begin() as session:
            for n, kind in enumerate(["lampFailure", "gearFailure", "cabinetDoorOpen"]):
                at = now - timedelta(minutes=10 - n)
                apply_alarm_event(session, AlarmEvent(GW, f"d{n}", kind, at, True))
            apply_alarm_event(session, AlarmEvent("cab-vil-01", "d9", "lampFailure", now, True))
            apply_alarm_event(session, AlarmEvent(GW, "d0", "lampFailure", now, False))
        auth = api.auth("technician")
        page = (await api.client.get("/api/v1/alarms", params={"limit": 2}, headers=auth)).json()
        assert len(page["items"]) == 2
        assert page["next"]
        rest = (await api.client.get(page["next"], headers=auth)).json()
        assert len(rest["items"]) == 2
        assert rest["next"] is None
        got = await api.client.get(
            "/api/v1/alarms",
            params={"state": "open", "gateway": GW, "kind": "gearFailure"},
            headers=auth,
        )
        [item] = got.json()["items"]
        assert item["device"] == "d1"
        assert item["state"] == "open"
        acked = await api.client.post(f"/api/v1/alarms/{item['id']}/ack", headers=auth)
        assert acked.status_code == 200
        assert acked.json()["acknowledged_by"] == "test"
        assert acked.json()["state"] == "open", "acknowledging does not clear"
        missing = await api.client.post("/api/v1/alarms/999/ack", headers=auth)
        assert missing.status_code == 404
        assert (
            await api.client.get("/api/v1/alarms", params={"state": "x"}, headers=auth)
        ).status_code == 422
        assert (await api.client.get("/api/v1/alarms")).status_code == 401
        registry = CollectorRegistry()
        register_open_alarms(registry, api.sessions)
        assert registry.get_sample_value("eclor_alarms_open", {"kind": "lampFailure"}) == 1
        assert registry.get_sample_value("eclor_alarms_open", {"kind": "gearFailure"}) == 1
        assert registry.get_sample_value("eclor_alarms_open", {"kind": "daliLineDown"}) == 0


async def test_the_ingest_marks_gateways_and_devices_heard(
    edge: EdgeEvents, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        add_device(session, GW, "meter", profile="eastron-sdm630", now=datetime.now(UTC))
    read_at = int(time.time() * 1000) - 120_000
    reading = Reading(device="meter", measurement="energy", time=read_at, fields={"p_w": 1.0})
    edge.client.send(7, [reading])
    await until(lambda: 7 in edge.client.acks(), what="telemetry ack")

    def heard() -> bool:
        with sessions() as session:
            device = session.get(Device, (GW, "meter"))
            return device is not None and device.last_seen_at is not None

    await until(heard, what="device marked seen")
    with sessions() as session:
        device = session.get(Device, (GW, "meter"))
        assert device is not None
        assert device.last_seen_at is not None
        assert to_epoch_ms(device.last_seen_at) == read_at, "at its reading's time, not now"
        gateway = get_gateway(session, GW)
        assert gateway.last_seen_at is not None
        assert gateway.last_seen_at > device.last_seen_at, "the gateway is heard now"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from registry_engine(request, tmp_path)


def test_the_life_cycle_on_both_registries(any_registry: Engine) -> None:
    upgrade(any_registry)
    sessions = make_session_factory(any_registry)
    t0 = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
    with sessions.begin() as session:
        enroll_gateway(session, GW, now=t0)

    def apply(minutes: int, active: bool) -> str:
        event = AlarmEvent(GW, "ctrl", "cabinetDoorOpen", t0 + timedelta(minutes=minutes), active)
        with sessions.begin() as session:
            return apply_alarm_event(session, event).value

    changes = [apply(0, True), apply(0, True), apply(5, True), apply(7, False), apply(5, True)]
    assert changes == ["opened", "ignored", "refreshed", "cleared", "ignored"]
    assert [apply(6, False), apply(9, True)] == ["ignored", "opened"]
    rows = alarms(sessions)
    assert [(r.count, r.cleared_at is None) for r in rows] == [(2, False), (1, True)]
    assert rows[0].cleared_at == t0 + timedelta(minutes=7)


def test_last_seen_times_only_move_forward_on_both_registries(any_registry: Engine) -> None:
    upgrade(any_registry)
    sessions = make_session_factory(any_registry)
    t0 = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
    with sessions.begin() as session:
        enroll_gateway(session, GW, now=t0)
        add_device(session, GW, "meter", profile="eastron-sdm630", now=t0)
        add_device(session, GW, "ctrl", profile="x", now=t0)
    later = t0 + timedelta(minutes=5)
    with sessions.begin() as session:
        mark_seen(session, {GW, "nobody"}, {(GW, "meter"): later, (GW, "ghost"): later}, later)
    with sessions.begin() as session:  # an older flush handled late
        mark_seen(session, {GW}, {(GW, "meter"): t0, (GW, "ctrl"): t0}, t0)
    with sessions() as session:
        assert get_gateway(session, GW).last_seen_at == later
        meter = session.get(Device, (GW, "meter"))
        ctrl = session.get(Device, (GW, "ctrl"))
        assert meter is not None
        assert ctrl is not None
        assert meter.last_seen_at == later
        assert ctrl.last_seen_at == t0
