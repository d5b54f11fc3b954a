"""The lighting jobs on a real Mosquitto, a migrated SQLite registry and the SQLite store:
the adaptive policy raises a group from loop-station traffic written in the store, renews the
raise while traffic lasts, holds a higher level for its hold time, and stops when traffic falls;
programs are (re)published retained by the scheduler's jobs."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import Conflict, NotFound
from cloud.ingest.mqtt import MqttSettings
from cloud.lighting.jobs import jobs, republish_programs, run_adaptive
from cloud.lighting.policy import PolicyBody, PolicyStep
from cloud.lighting.publisher import MqttPublisher
from cloud.lighting.views import policy_values
from cloud.registry import get_command, upgrade
from cloud.registry.lighting import (
    OverrideSpec,
    clear_overrides,
    delete_policy,
    get_override,
    get_policy,
    get_program,
    list_overrides,
    list_policies,
    mark_published,
    put_policy,
    put_program,
    record_evaluation,
    record_override,
)
from cloud.scheduler import JobContext
from cloud.store import Point, SqliteSettings, SqliteStore
from eclor.clock import ManualClock, to_epoch_ms
from tests.integration.test_api_harness import NOW, seed_fleet
from tests.integration.test_lighting_api import (
    GROUP,
    GW,
    BrokerWatch,
    add_group,
    program_doc,
    wipe_retained,
)
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine
from tests.services.mosquitto import MosquittoServer
from tests.support.cloud_parts import sqlite_registry
from tests.support.gateway import until

pytestmark = pytest.mark.integration

LOOP_GW = "cab-thil-07"
LOOPS = "loops"
T0 = NOW.replace(hour=19, minute=0)
HOLD = timedelta(minutes=10)


@dataclass
class Stand:
    context: JobContext
    clock: ManualClock
    store: SqliteStore
    watch: BrokerWatch
    publisher: MqttPublisher
    broker: MosquittoServer

    def at(self, minutes: float) -> datetime:
        """Move the clock to ``T0 + minutes`` (never back)."""
        target = T0 + timedelta(minutes=minutes)
        self.clock.advance((target - self.clock.now()).total_seconds())
        return target


@pytest.fixture
async def stand(tmp_path: Path, mosquitto: MosquittoServer) -> AsyncIterator[Stand]:
    sessions = sqlite_registry(tmp_path)
    seed_fleet(sessions)
    add_group(sessions, GW, GROUP)
    clock = ManualClock(T0)
    store = await SqliteStore.open(
        SqliteSettings(path=tmp_path / "timeseries.sqlite", retention_days=None), clock
    )
    publisher = MqttPublisher(
        MqttSettings("127.0.0.1", mosquitto.port), f"sch-{secrets.token_hex(4)}"
    )
    publisher.start()
    assert await asyncio.to_thread(publisher.connected.wait, 10)
    wipe_retained(mosquitto.port, GW)  # the session's broker keeps earlier tests' programs
    watch = BrokerWatch(mosquitto.port)
    context = JobContext(sessions, store, clock, publisher.publish)
    try:
        yield Stand(context, clock, store, watch, publisher, mosquitto)
    finally:
        watch.close()
        await asyncio.to_thread(publisher.stop)
        await store.close()


def add_policy(stand: Stand, device: str = LOOPS) -> None:
    body = PolicyBody(
        gateway=GW,
        group=GROUP,
        loop_gateway=LOOP_GW,
        loop_device=device,
        lanes=[1, 2],
        window_min=5,
        hold_min=int(HOLD.total_seconds() // 60),
        design_class="M4",
        steps=[
            PolicyStep(min_vph=300, road_class="M5"),
            PolicyStep(min_vph=600, road_class="M4"),
        ],
    )
    with stand.context.sessions.begin() as session:
        put_policy(session, "rd13", policy_values(body), by="test", now=stand.clock.now())


async def traffic(stand: Stand, first_min: int, last_min: int, per_lane_per_min: int) -> None:
    """Minute intervals ``[first_min, last_min)`` after T0, each read twice (the station is
    polled every 30 s: the same interval count shows up twice)."""
    points = []
    for minute in range(first_min, last_min):
        for offset_s in (0, 30):
            time = T0 + timedelta(minutes=minute, seconds=offset_s)
            fields: dict[str, int | float | bool | str] = {
                "lane_count": 2,
                "interval_s": 60,
                "lane1_interval_count": per_lane_per_min,
                "lane2_interval_count": per_lane_per_min,
            }
            tags = {"gateway": LOOP_GW, "device": LOOPS}
            points.append(Point("traffic", tags, fields, to_epoch_ms(time)))
    await stand.store.write(points)


async def sent_commands(stand: Stand, count: int) -> None:
    await until(lambda: len(stand.watch.commands(GW)) >= count, 5, f"{count} commands")
    await asyncio.sleep(0.1)  # and no more
    assert len(stand.watch.commands(GW)) == count


async def test_adaptive_raises_renews_holds_and_stops(stand: Stand) -> None:
    add_policy(stand)
    await traffic(stand, -10, 6, 3)  # 2 lanes x 3 a minute = 360 veh/h: M5 step
    await traffic(stand, 6, 12, 6)  # 720 veh/h: M4 step (design level)
    await traffic(stand, 12, 23, 3)  # back to 360 veh/h
    await traffic(stand, 23, 60, 1)  # 120 veh/h: below the first step

    now = stand.at(0)
    assert await run_adaptive(stand.context, stand.publisher.publish) == 1
    await sent_commands(stand, 1)
    first = stand.watch.commands(GW)[0]
    assert (first.kind, first.target) == ("set_level", f"group:{GROUP}")
    assert first.args["mode"] == "raise"
    assert first.args["source"] == "adaptive"
    assert first.args["level_pct"] == 66.7  # M5 / M4 luminance: 0.5 / 0.75
    assert first.args["until"] == first.expires_at == to_epoch_ms(now + HOLD)

    assert await run_adaptive(stand.context, stand.publisher.publish) == 0  # idempotent
    stand.at(2)
    assert await run_adaptive(stand.context, stand.publisher.publish) == 0  # 8 of 10 min left
    now = stand.at(6)
    assert await run_adaptive(stand.context, stand.publisher.publish) == 1  # renewed
    await sent_commands(stand, 2)
    renewal = stand.watch.commands(GW)[1]
    assert renewal.args["level_pct"] == 66.7
    assert renewal.args["until"] == to_epoch_ms(now + HOLD)

    now = stand.at(12)  # window 7-12: heavy traffic
    assert await run_adaptive(stand.context, stand.publisher.publish) == 1
    await sent_commands(stand, 3)
    up = stand.watch.commands(GW)[2]
    assert up.args["level_pct"] == 100.0
    high_until = now + HOLD

    stand.at(18)  # window 13-18: 360 veh/h again, but 100 % is held until 22
    assert await run_adaptive(stand.context, stand.publisher.publish) == 0
    now = stand.at(23)  # hold over: down to the M5 level
    assert await run_adaptive(stand.context, stand.publisher.publish) == 1
    await sent_commands(stand, 4)
    down = stand.watch.commands(GW)[3]
    assert down.args["level_pct"] == 66.7
    assert to_epoch_ms(now) >= to_epoch_ms(high_until)

    for minute in (30, 35, 40, 60):  # traffic fell below the first step: nothing more
        stand.at(minute)
        assert await run_adaptive(stand.context, stand.publisher.publish) == 0
    await sent_commands(stand, 4)

    with stand.context.sessions.begin() as session:
        policy = get_policy(session, "rd13")
        assert policy.last_vph == pytest.approx(120.0)
        assert policy.raised_pct == 66.7
        assert policy.last_command_id == down.id
        rows = list_overrides(session, gateway_id=GW)
        assert {(o.source, o.mode) for o, _ in rows} == {("adaptive", "raise")}
        assert {c.issued_by for _, c in rows} == {"adaptive:rd13"}
        assert len(rows) == 4


async def test_adaptive_sends_nothing_without_traffic_readings(stand: Stand) -> None:
    add_policy(stand, device="silent-loops")
    await traffic(stand, -10, 0, 10)  # another station's readings
    assert await run_adaptive(stand.context, stand.publisher.publish) == 0
    await asyncio.sleep(0.3)
    assert stand.watch.commands(GW) == []
    with stand.context.sessions.begin() as session:
        policy = get_policy(session, "rd13")
        assert policy.evaluated_at == T0
        assert policy.last_vph is None


async def test_programs_published_when_pending_and_republished_after_a_wipe(
    stand: Stand,
) -> None:
    with stand.context.sessions.begin() as session:
        put_program(session, GW, program_doc(), by="test", now=stand.clock.now())
    publish = stand.publisher.publish
    assert await republish_programs(stand.context, publish, only_pending=True) == 1
    assert await republish_programs(stand.context, publish, only_pending=True) == 0
    await until(lambda: len(stand.watch.programs(GW)) == 1, 5, "program published")
    with stand.context.sessions.begin() as session:
        row = get_program(session, GW)
        assert row is not None
        assert row.published_at == T0

    wipe_retained(stand.broker.port, GW)

    seen = len(stand.watch.programs(GW))
    assert await republish_programs(stand.context, publish) == 1
    # the publish is queued, not done, when the call returns: a watcher subscribing before the
    # broker has it would get it live (retain flag off) instead of as the retained copy
    await until(lambda: len(stand.watch.programs(GW)) > seen, 5, "program republished")
    late = BrokerWatch(stand.broker.port)
    try:
        await until(lambda: bool(late.programs(GW)), 5, "retained program after the wipe")
        program, retained = late.programs(GW)[0]
        assert retained
        assert (program.gateway, program.revision) == (GW, 1)
    finally:
        late.close()


async def test_jobs_need_a_broker_connection(stand: Stand) -> None:
    names = [job.name for job in jobs(stand.context)]
    assert names == ["lighting-adaptive", "lighting-publish-pending", "lighting-republish"]
    without = JobContext(stand.context.sessions, stand.store, stand.clock)
    assert jobs(without) == []


# -- the registry functions, on SQLite and PostgreSQL -------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for engine in registry_engine(request, tmp_path_factory.mktemp("registry")):
        upgrade(engine)
        yield engine


@pytest.fixture
def sessions(migrated: Engine) -> Iterator[sessionmaker[Session]]:
    yield from clean_sessions(migrated)


def test_program_revisions_go_up_and_publication_follows(
    sessions: sessionmaker[Session],
) -> None:
    seed_fleet(sessions)
    with sessions.begin() as session:
        assert get_program(session, GW) is None
        first = put_program(session, GW, program_doc(), by="ops", now=T0)
        assert (first.revision, first.published_at) == (1, None)
        assert mark_published(session, GW, 1, T0)
    later = T0 + timedelta(minutes=5)
    with sessions.begin() as session:
        second = put_program(
            session, GW, program_doc(site={"latitude": 49, "longitude": 6}), by="ops", now=later
        )
        assert second.revision == 2
        assert second.published_at is None
        assert not mark_published(session, GW, 1, later)  # an old revision
    with sessions.begin() as session:
        row = get_program(session, GW)
        assert row is not None
        assert (row.revision, row.updated_at, row.document["site"]["latitude"]) == (2, later, 49)
        with pytest.raises(NotFound):
            get_program(session, "cab-nowhere")


def test_overrides_audited_listed_and_cleared(sessions: sessionmaker[Session]) -> None:
    seed_fleet(sessions)
    add_group(sessions, GW, GROUP)
    spec = OverrideSpec(
        gateway_id=GW,
        target=f"group:{GROUP}",
        level_pct=40.0,
        starts_at=T0,
        until=T0 + timedelta(hours=1),
    )
    with sessions.begin() as session:
        record_override(
            session, "ovr-1", spec, {"level_pct": 40.0}, by="ops", now=T0, expires_at=spec.until
        )
        adaptive = OverrideSpec(
            gateway_id=GW,
            target=f"group:{GROUP}",
            level_pct=70.0,
            starts_at=T0,
            until=T0 + timedelta(minutes=10),
            mode="raise",
            source="adaptive",
        )
        record_override(
            session, "adp-1", adaptive, {}, by="adaptive:rd13", now=T0, expires_at=adaptive.until
        )
        with pytest.raises(Conflict):
            record_override(session, "ovr-1", spec, {}, by="ops", now=T0, expires_at=spec.until)
        bad = OverrideSpec(GW, f"group:{GROUP}", 10.0, T0, T0)
        with pytest.raises(ValueError, match="ends after it starts"):
            record_override(session, "ovr-2", bad, {}, by="ops", now=T0, expires_at=T0 + HOLD)
    with sessions.begin() as session:
        active = list_overrides(session, gateway_id=GW, active_at=T0 + timedelta(minutes=1))
        assert {o.command_id for o, _ in active} == {"ovr-1", "adp-1"}
        assert get_command(session, "ovr-1").issued_by == "ops"
        cleared = clear_overrides(
            session, GW, f"group:{GROUP}", clear_command_id="clr-1", by="ops", now=T0 + HOLD / 2
        )
        assert [row.command_id for row in cleared] == ["ovr-1"]  # adaptive raises lapse
    with sessions.begin() as session:
        row, command = get_override(session, "ovr-1")
        assert (row.cleared_by, row.clear_command_id, row.cleared_at) == (
            "ops",
            "clr-1",
            T0 + HOLD / 2,
        )
        assert command.kind == "set_level"
        assert list_overrides(session, active_at=T0 + timedelta(minutes=11)) == []


def test_policies_keep_their_raise_state_across_a_replace(sessions: sessionmaker[Session]) -> None:
    seed_fleet(sessions)
    add_group(sessions, GW, GROUP)
    body = PolicyBody(
        gateway=GW,
        group=GROUP,
        loop_gateway=LOOP_GW,
        loop_device=LOOPS,
        lanes=[1],
        design_class="M4",
        steps=[PolicyStep(min_vph=300, road_class="M5")],
    )
    with sessions.begin() as session:
        _, created = put_policy(session, "rd13", policy_values(body), by="ops", now=T0)
        assert created
        record_evaluation(session, "rd13", at=T0, vph=420.0, raised=(66.7, T0 + HOLD, "adp-1"))
    with sessions.begin() as session:
        values = policy_values(body.model_copy(update={"hold_min": 20}))
        row, created = put_policy(session, "rd13", values, by="ops", now=T0)
        assert not created
        assert (row.hold_min, row.raised_pct, row.raised_until) == (20, 66.7, T0 + HOLD)
        with pytest.raises(NotFound):
            put_policy(session, "x", {**values, "group_id": "nope"}, by="ops", now=T0)
    with sessions.begin() as session:
        assert [p.id for p in list_policies(session, gateway_id=GW, enabled_only=True)] == ["rd13"]
        delete_policy(session, "rd13")
    with sessions.begin() as session:
        assert list_policies(session) == []
