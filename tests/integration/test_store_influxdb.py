"""What only the InfluxDB backend does: setup on first start, outages, gzip, authentication."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cloud.errors import StoreRejected, StoreUnavailable
from cloud.store import InfluxSettings, InfluxStore, Point, Sample
from eclor.clock import WallClock, to_epoch_ms
from tests.services.influxdb import InfluxDBServer
from tests.services.plugin import InfluxDBFactory
from tests.services.ports import LOOPBACK, free_port

pytestmark = pytest.mark.integration

T0 = 1_764_288_000_000
DAY = 86_400_000


def database() -> str:
    return f"influx_{uuid.uuid4().hex[:12]}"


def point(time_ms: int = T0, value: float = 1.0, device: str = "d1") -> Point:
    return Point("energy", {"gateway": "g1", "device": device}, {"power_w": value}, time_ms)


def show(server: InfluxDBServer, statement: str) -> list[list[object]]:
    response = httpx.get(f"{server.url}/query", params={"q": statement})
    series = response.json()["results"][0].get("series", [])
    return [row for s in series for row in s["values"]]


async def test_first_start_creates_the_database_and_its_retention_policy(
    influxdb: InfluxDBServer,
) -> None:
    name = database()
    settings = InfluxSettings(url=influxdb.url, database=name, retention_days=30)
    store = await InfluxStore.open(settings)
    await store.close()
    assert [name] in show(influxdb, "SHOW DATABASES")
    policies = show(influxdb, f'SHOW RETENTION POLICIES ON "{name}"')
    assert ["eclor", "720h0m0s", "24h0m0s", 1, True] in policies

    forever = InfluxSettings(url=influxdb.url, database=name)
    store = await InfluxStore.open(forever)
    await store.write([point(T0 - 400 * DAY)])
    await store.close()
    policies = show(influxdb, f'SHOW RETENTION POLICIES ON "{name}"')
    assert ["eclor", "0s", "168h0m0s", 1, True] in policies


async def test_points_beyond_the_retention_policy_are_rejected(influxdb: InfluxDBServer) -> None:
    settings = InfluxSettings(url=influxdb.url, database=database(), retention_days=1)
    store = await InfluxStore.open(settings)
    now = to_epoch_ms(WallClock().now())
    await store.write([point(now)])
    with pytest.raises(StoreRejected, match="beyond retention"):
        await store.write([point(now - 3 * DAY)])
    await store.close()


async def test_a_dropped_database_is_created_again_on_write(influxdb: InfluxDBServer) -> None:
    settings = InfluxSettings(url=influxdb.url, database=database())
    store = await InfluxStore.open(settings)
    async with httpx.AsyncClient() as client:
        drop = f'DROP DATABASE "{settings.database}"'
        await client.post(f"{influxdb.url}/query", data={"q": drop})
    await store.write([point()])
    [row] = await store.latest("energy")
    assert row.fields == {"power_w": Sample(T0, 1.0)}
    await store.close()


async def test_stopped_influxdb_is_unavailable_then_writes_work_again(
    influxdb_factory: InfluxDBFactory,
) -> None:
    server = influxdb_factory()
    store = await InfluxStore.open(InfluxSettings(url=server.url, database="eclor", timeout_s=2))
    await store.write([point(T0)])
    server.stop()
    with pytest.raises(StoreUnavailable):
        await store.write([point(T0 + 1000, 2.0)])
    with pytest.raises(StoreUnavailable):
        await store.latest("energy")
    assert not (await store.health()).ok
    server.restart()
    await store.write([point(T0 + 1000, 2.0)])
    [row] = await store.latest("energy")
    assert row.fields == {"power_w": Sample(T0 + 1000, 2.0)}
    assert (await store.health()).ok
    await store.close()


async def test_opening_before_influxdb_answers_defers_the_setup(tmp_path: Path) -> None:
    port = free_port()
    settings = InfluxSettings(url=f"http://{LOOPBACK}:{port}", database="late", timeout_s=2)
    store = await InfluxStore.open(settings)
    health = await store.health()
    assert not health.ok
    assert "ConnectError" in health.detail
    with pytest.raises(StoreUnavailable):
        await store.write([point()])
    with InfluxDBServer(tmp_path, port=port):
        await store.write([point()])
        assert len(await store.latest("energy")) == 1
    await store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        await store.write([point()])


class RecordingProxy:
    """A TCP relay to influxd that keeps every byte the client sent (to see the real request)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = bytearray()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._relay, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def requests(self, start: bytes) -> list[tuple[bytes, bytes]]:
        """(head, first two body bytes) of each request whose request line starts with ``start``,
        the head lower-cased."""
        sent = bytes(self.sent)
        found = []
        at = sent.find(start)
        while at != -1:
            end = sent.index(b"\r\n\r\n", at)
            found.append((sent[at:end].lower(), sent[end + 4 : end + 6]))
            at = sent.find(start, end)
        return found

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        await asyncio.gather(
            self._pump(reader, up_writer, record=True), self._pump(up_reader, writer, record=False)
        )

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, record: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                if record:
                    self.sent += data
                sink.write(data)
                await sink.drain()
        sink.close()


@pytest.fixture
async def proxy(influxdb: InfluxDBServer) -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy(influxdb.port) as relay:
        yield relay


async def test_writes_are_gzipped_and_influxdb_reads_them(proxy: RecordingProxy) -> None:
    store = await InfluxStore.open(InfluxSettings(url=proxy.url, database=database()))
    await store.write([point(T0 + i, float(i)) for i in range(100)])
    [(head, body)] = proxy.requests(b"POST /write")
    assert b"content-encoding: gzip" in head
    assert body == b"\x1f\x8b"
    [row] = await store.latest("energy")
    assert row.fields == {"power_w": Sample(T0 + 99, 99.0)}
    await store.close()


async def test_gzip_can_be_switched_off(proxy: RecordingProxy) -> None:
    store = await InfluxStore.open(InfluxSettings(url=proxy.url, database=database(), gzip=False))
    await store.write([point()])
    [(head, body)] = proxy.requests(b"POST /write")
    assert b"content-encoding" not in head
    assert body == b"en"  # "energy,device=…" in clear
    await store.close()


async def test_large_writes_are_split_into_requests(proxy: RecordingProxy) -> None:
    settings = InfluxSettings(url=proxy.url, database=database(), max_lines_per_request=40)
    store = await InfluxStore.open(settings)
    await store.write([point(T0 + i, float(i)) for i in range(100)])
    assert len(proxy.requests(b"POST /write")) == 3
    counted = await store.aggregate(
        "energy", "power_w", start_ms=T0, end_ms=T0 + 1000, every_ms=1000, fn="count"
    )
    assert counted[0].windows[0].value == 100
    await store.close()


async def test_a_token_is_sent_as_a_token_header_and_never_shown(proxy: RecordingProxy) -> None:
    secret = "s3cret-token-value"
    settings = InfluxSettings(url=proxy.url, database=database(), token=secret)
    store = await InfluxStore.open(settings)  # influxd 1.6 without auth ignores the header
    await store.write([point()])
    for head, _ in proxy.requests(b"POST /write"):
        assert f"authorization: token {secret}".encode() in head
    assert secret not in repr(settings)
    assert secret not in (await store.health()).detail
    await store.close()


class AuthInfluxDBServer(InfluxDBServer):
    """influxd with ``auth-enabled = true`` (the fixture's config otherwise)."""

    def _config_text(self) -> str:
        return super()._config_text().replace("auth-enabled = false", "auth-enabled = true")


async def test_username_and_password_on_an_influxdb_with_auth(tmp_path: Path) -> None:
    with AuthInfluxDBServer(tmp_path) as server:
        async with httpx.AsyncClient() as client:
            created = await client.post(
                f"{server.url}/query",
                data={"q": "CREATE USER admin WITH PASSWORD 'p@ss w0rd' WITH ALL PRIVILEGES"},
            )
        assert created.status_code == 200
        good = InfluxSettings(url=server.url, username="admin", password="p@ss w0rd")
        store = await InfluxStore.open(good)
        await store.write([point()])
        assert len(await store.latest("energy")) == 1
        await store.close()

        bad = InfluxSettings(url=server.url, username="admin", password="wrong")
        store = InfluxStore(bad)
        with pytest.raises(StoreUnavailable, match="401"):
            await store.write([point()])
        await store.close()


async def test_a_field_type_conflict_inside_one_batch_is_rejected(
    influxdb: InfluxDBServer,
) -> None:
    store = await InfluxStore.open(InfluxSettings(url=influxdb.url, database=database()))
    batch = [point(T0, 1.0), Point("energy", {"device": "d2"}, {"power_w": 3}, T0 + 1)]
    with pytest.raises(StoreRejected, match="conflict"):
        await store.write(batch)
    await store.close()
