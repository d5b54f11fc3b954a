"""Ingest against a real Mosquitto, a real registry and both stores: ack only once stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.ingest.convert import status_points
from cloud.ingest.service import IngestSettings
from cloud.registry.dead_letters import count_dead_letters_by_reason
from cloud.store import InfluxSettings, InfluxStore, SqliteSettings, SqliteStore
from cloud.store.base import TimeSeriesStore
from eclor.wire import Reading, Status, encode
from eclor.wire.messages import DeviceHealth, DeviceState
from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer
from tests.services.plugin import InfluxDBFactory, MosquittoFactory
from tests.support.cloud_parts import enroll, running_ingest, sqlite_registry
from tests.support.gateway import until
from tests.support.gateway_client import GatewayClient

pytestmark = pytest.mark.integration
T0 = 1_764_370_000_000


def readings(seq: int, n: int = 3) -> list[Reading]:
    return [
        Reading(
            device="meter",
            measurement="energy",
            time=T0 + seq * 1000 + i,
            fields={"voltage_l1_v": 230.0 + i, "energy_import_kwh": 100.0 + seq},
            tags={"commune": "thil"},
        )
        for i in range(n)
    ]


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    registry = sqlite_registry(tmp_path)
    enroll(registry, "gw-a", "gw-b")
    return registry


@pytest.fixture(params=["sqlite", "influxdb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    if request.param == "sqlite":
        opened: TimeSeriesStore = await SqliteStore.open(
            SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None)
        )
    else:
        influx: InfluxDBServer = request.getfixturevalue("influxdb")
        db = f"ingest_{abs(hash(tmp_path)) % 10**8}"
        opened = await InfluxStore.open(InfluxSettings(url=influx.url, database=db))
    yield opened
    await opened.close()


async def test_batches_are_stored_then_acked(
    store: TimeSeriesStore, sessions: sessionmaker[Session], mosquitto: MosquittoServer
) -> None:
    gw = GatewayClient(mosquitto.port, "gw-a")
    try:
        async with running_ingest(store, sessions, mosquitto.port):
            for seq in range(1, 6):
                gw.send(seq, readings(seq))
            await until(lambda: gw.acks() == {1, 2, 3, 4, 5}, what="acks")
    finally:
        gw.close()
    latest = await store.latest("energy", {"gateway": "gw-a"})
    assert latest, "stored"
    values = {k: v.value for series in latest for k, v in series.fields.items()}
    assert values["energy_import_kwh"] == pytest.approx(105.0)


async def test_every_kind_of_invalid_message_is_dead_lettered_while_valid_traffic_flows(
    store: TimeSeriesStore, sessions: sessionmaker[Session], mosquitto_factory: MosquittoFactory
) -> None:
    mosquitto = mosquitto_factory()  # its own broker: no retained status of other tests' gateways
    good = GatewayClient(mosquitto.port, "gw-a")
    stranger = GatewayClient(mosquitto.port, "gw-unknown")
    valid = json.loads(
        json.dumps(
            {
                "v": 1,
                "gateway": "gw-a",
                "seq": 99,
                "readings": [
                    {"device": "m", "measurement": "energy", "time": T0, "fields": {"p_w": 1.0}}
                ],
            }
        )
    )
    try:
        async with running_ingest(store, sessions, mosquitto.port) as ingest:
            good.send(1, readings(1))
            good.publish_raw("telemetry", b"{not json")
            good.publish_raw("telemetry", json.dumps({**valid, "v": 7}).encode())
            good.publish_raw("telemetry", b"{" + b" " * 300_000 + b"}")
            good.publish_raw("telemetry", json.dumps({**valid, "seq": -4}).encode())
            good.publish_raw("telemetry", json.dumps({**valid, "gateway": "gw-b"}).encode())
            stranger.send(1, readings(1))
            good.publish_raw("telemetry", b"{}", gateway="Not-A-Gateway")
            good.send(2, readings(2))
            await until(lambda: {1, 2} <= good.acks(), what="valid batches acked")
            await until(
                lambda: (
                    ingest.metrics.registry.get_sample_value(
                        "eclor_ingest_messages_total",
                        {"suffix": "telemetry", "outcome": "rejected"},
                    )
                    == 7
                )
            )
    finally:
        good.close()
        stranger.close()
    with sessions() as session:
        reasons = dict(count_dead_letters_by_reason(session))
    assert reasons == {
        "invalid": 3,
        "unsupported_version": 1,
        "oversize": 1,
        "unregistered_gateway": 1,
        "bad_topic": 1,
    }
    assert stranger.acks() == set(), "an unregistered gateway gets no ack"


async def test_influxdb_down_means_no_ack_and_nothing_lost_after_it_returns(
    sessions: sessionmaker[Session], mosquitto: MosquittoServer, influxdb_factory: InfluxDBFactory
) -> None:
    influx = influxdb_factory()
    store = await InfluxStore.open(InfluxSettings(url=influx.url, database="outage", timeout_s=2))
    gw = GatewayClient(mosquitto.port, "gw-b")
    try:
        async with running_ingest(store, sessions, mosquitto.port) as ingest:
            gw.send(1, readings(1))
            await until(lambda: gw.acks() == {1})
            influx.stop()
            for seq in range(2, 8):
                gw.send(seq, readings(seq))
            await asyncio.sleep(6)
            assert gw.acks() == {1}, "no ack while the store is down"
            sample = ingest.metrics.registry.get_sample_value
            assert (sample("eclor_ingest_store_errors_total", {"kind": "unavailable"}) or 0) >= 1
            influx.restart()
            await until(lambda: gw.acks() == set(range(1, 8)), within=60, what="acks after restart")
        stored = await store.aggregate(
            "energy",
            "voltage_l1_v",
            start_ms=T0,
            end_ms=T0 + 10_000,
            every_ms=60_000,
            fn="count",
            where={"gateway": "gw-b"},
            group_by=(),
        )
    finally:
        gw.close()
        await store.close()
    assert sum(w.value or 0 for series in stored for w in series.windows) == 7 * 3


async def test_two_workers_share_the_stream_and_store_each_point_once(
    tmp_path: Path, sessions: sessionmaker[Session], mosquitto: MosquittoServer
) -> None:
    store = await SqliteStore.open(SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None))
    gw = GatewayClient(mosquitto.port, "gw-a")
    shared = IngestSettings(flush_interval_s=0.05, shared_group="ingest")
    try:
        async with (
            running_ingest(store, sessions, mosquitto.port, name="w1", settings=shared) as one,
            running_ingest(store, sessions, mosquitto.port, name="w2", settings=shared) as two,
        ):
            for seq in range(1, 41):
                gw.send(seq, readings(seq, n=1))
            await until(lambda: gw.acks() == set(range(1, 41)), what="every batch acked")
            per_worker = [
                w.metrics.registry.get_sample_value(
                    "eclor_ingest_messages_total", {"suffix": "telemetry", "outcome": "accepted"}
                )
                or 0
                for w in (one, two)
            ]
        window = {"start_ms": T0, "end_ms": T0 + 100_000, "every_ms": 3_600_000, "group_by": ()}
        counted = await store.aggregate("energy", "energy_import_kwh", fn="count", **window)
        summed = await store.aggregate("energy", "energy_import_kwh", fn="sum", **window)
    finally:
        gw.close()
        await store.close()
    assert sum(per_worker) == 40
    assert min(per_worker) > 0, f"both workers took a share: {per_worker}"
    assert counted[0].windows[0].value == 40
    assert summed[0].windows[0].value == pytest.approx(sum(100.0 + s for s in range(1, 41)))


async def test_a_full_buffer_waits_for_the_flush_instead_of_refusing(
    tmp_path: Path, sessions: sessionmaker[Session], mosquitto: MosquittoServer
) -> None:
    store = await SqliteStore.open(SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None))
    gw = GatewayClient(mosquitto.port, "gw-a")
    tight = IngestSettings(flush_interval_s=0.05, max_pending_points=5)
    try:
        async with running_ingest(store, sessions, mosquitto.port, settings=tight) as ingest:
            for seq in range(1, 21):
                gw.send(seq, readings(seq))
            await until(lambda: gw.acks() == set(range(1, 21)), what="every batch acked")
            refused = ingest.metrics.registry.get_sample_value(
                "eclor_ingest_refused_total", {"why": "store_backlog"}
            )
    finally:
        gw.close()
        await store.close()
    assert not refused, "a working store never makes the ingest refuse"


HOUR = T0 - T0 % 3_600_000  # windows are epoch-aligned


def _status(minute: int, meter_errors: int, meter_state: DeviceState) -> Status:
    time = HOUR + minute * 60_000
    return Status(
        gateway="gw-a",
        state="online",
        time=time,
        devices={
            "meter": DeviceHealth(
                state=meter_state, last_ok=time - 30_000, errors=meter_errors, detail="timeout"
            ),
            "controller": DeviceHealth(state="ok", last_ok=time, errors=0),
        },
    )


async def test_device_health_from_status_messages_gives_poll_errors_per_device(
    store: TimeSeriesStore,
) -> None:
    # the agent's error counter grows by 2, 3, 0 then restarts from 0 with the agent
    history: list[tuple[int, int, DeviceState]] = [
        (0, 4, "ok"),
        (1, 6, "degraded"),
        (2, 9, "unreachable"),
        (3, 9, "ok"),
        (4, 1, "ok"),
    ]
    points = [p for m, e, s in history for p in status_points(_status(m, e, s))]
    assert [p.measurement for p in points[:3]] == [
        "gateway_status",
        "device_status",
        "device_status",
    ]
    await store.write(points)

    latest = await store.latest("device_status", {"gateway": "gw-a", "device": "meter"})
    fields = {k: v.value for series in latest for k, v in series.fields.items()}
    assert fields == {"state": "ok", "errors": 1, "last_ok_age_s": 30.0, "detail": "timeout"}
    grown = await store.increase(
        "device_status",
        "errors",
        start_ms=HOUR,
        end_ms=HOUR + 3_600_000,
        every_ms=3_600_000,
        where={"gateway": "gw-a"},
        group_by=["device"],
    )
    per_device = {s.tags["device"]: [w.value for w in s.windows] for s in grown}
    assert per_device == {"meter": [6], "controller": [0]}


async def test_status_messages_through_the_ingest_store_each_devices_health(
    store: TimeSeriesStore, sessions: sessionmaker[Session], mosquitto: MosquittoServer
) -> None:
    gw = GatewayClient(mosquitto.port, "gw-a")

    async def meter_state() -> object:
        latest = await store.latest("device_status", {"gateway": "gw-a", "device": "meter"})
        return next((s.fields["state"].value for s in latest if "state" in s.fields), None)

    try:
        async with running_ingest(store, sessions, mosquitto.port):
            gw.publish_raw("status", encode(_status(0, 4, "degraded")))
            for _ in range(100):
                if await meter_state() == "degraded":
                    break
                await asyncio.sleep(0.05)
    finally:
        gw.close()
    assert await meter_state() == "degraded"
    controller = await store.latest("device_status", {"gateway": "gw-a", "device": "controller"})
    assert {k: v.value for s in controller for k, v in s.fields.items()}["errors"] == 0
