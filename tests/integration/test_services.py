"""The real-service fixtures work: each service is reachable, does its job, and fails loudly."""

from __future__ import annotations

import queue
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import create_engine, text

from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer, gateway_acl
from tests.services.plugin import InfluxDBFactory, MosquittoFactory
from tests.services.ports import (
    LOOPBACK,
    MissingBinaryError,
    PortInUseError,
    ServiceStartError,
    port_answers,
)
from tests.services.postgres import (
    MODE_ENV,
    PostgresCluster,
    PostgresDatabase,
    database_exists,
)

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
NOT_AUTHORIZED = 135  # MQTT 5 reason code 0x87


class MqttProbe:
    """A paho 2.x client whose callbacks feed thread-safe queues, with blocking helpers."""

    def __init__(
        self,
        broker: MosquittoServer,
        client_id: str,
        *,
        auth: tuple[str, str] | None = None,
        protocol: MQTTProtocolVersion = mqtt.MQTTv5,
        clean_session: bool | None = None,
    ) -> None:
        self.broker = broker
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            clean_session=clean_session,
        )
        if auth is not None:
            self.client.username_pw_set(*auth)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connacks: queue.Queue[ReasonCode] = queue.Queue()
        self._subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self._pubacks: dict[int, ReasonCode] = {}
        self._puback_seen = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda _client, _userdata, message: self.messages.put(message)

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, code: ReasonCode, _p: Properties | None
    ) -> None:
        if code.is_failure:
            client.disconnect()  # no reconnect attempts (and no 1 s back-off at close)
        self._connacks.put(code)

    def _on_subscribe(
        self,
        _c: mqtt.Client,
        _u: object,
        _mid: int,
        codes: list[ReasonCode],
        _p: Properties | None,
    ) -> None:
        self._subacks.put(codes)

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, code: ReasonCode, _p: Properties | None
    ) -> None:
        with self._puback_seen:
            self._pubacks[mid] = code
            self._puback_seen.notify_all()

    def connect(self) -> ReasonCode:
        """Connect and return the CONNACK reason code."""
        self.client.connect(self.broker.host, self.broker.port, keepalive=10)
        self.client.loop_start()
        return self._connacks.get(timeout=TIMEOUT)

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and wait for a granting SUBACK."""
        self.client.subscribe(topic, qos=1)
        codes = self._subacks.get(timeout=TIMEOUT)
        assert [code.value for code in codes] == [1], f"SUBACK for {topic}: {codes}"

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1 and return the PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._puback_seen:
            got = self._puback_seen.wait_for(lambda: info.mid in self._pubacks, TIMEOUT)
            assert got, f"no PUBACK for {topic}"
            return self._pubacks.pop(info.mid)

    def next_message(self) -> mqtt.MQTTMessage:
        """The next message received (fails after the timeout)."""
        return self.messages.get(timeout=TIMEOUT)

    def close(self) -> None:
        """Disconnect cleanly and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def probes() -> Iterator[Callable[..., MqttProbe]]:
    """Make MQTT probes that are all closed at the end of the test."""
    made: list[MqttProbe] = []

    def make(*args: object, **kwargs: object) -> MqttProbe:
        probe = MqttProbe(*args, **kwargs)  # type: ignore[arg-type]
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


# --- InfluxDB ---------------------------------------------------------------------------------


def _influx_query(http: httpx.Client, q: str, db: str | None = None) -> dict[str, object]:
    params = {"q": q, "epoch": "s", **({"db": db} if db else {})}
    response = http.post("/query", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["results"][0]
    assert "error" not in result, result
    return result


def _write_and_read_back(server: InfluxDBServer, db: str) -> None:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        _influx_query(http, f'CREATE DATABASE "{db}"')
        line = b"energy,device=meter-1,site=dech-01 active_power_w=1234.5,energy_wh=42i 1700000000"
        written = http.post("/write", params={"db": db, "precision": "s"}, content=line)
        assert written.status_code == 204, written.text
        assert _read_energy(http, db) == [[1700000000, 1234.5, 42]]


def _read_energy(http: httpx.Client, db: str) -> object:
    q = "SELECT active_power_w, energy_wh FROM energy WHERE device = 'meter-1'"
    result = _influx_query(http, q, db)
    series = result["series"]
    assert isinstance(series, list)
    assert series[0]["columns"] == ["time", "active_power_w", "energy_wh"]
    return series[0]["values"]


def test_influxdb_write_and_query_back(influxdb: InfluxDBServer) -> None:
    _write_and_read_back(influxdb, f"eclor_{uuid.uuid4().hex[:8]}")


def test_influxdb_binds_http_and_rpc_to_private_loopback_ports(influxdb: InfluxDBServer) -> None:
    assert influxdb.url == f"http://127.0.0.1:{influxdb.port}"
    assert influxdb.rpc_port not in (8088, influxdb.port)
    assert port_answers(LOOPBACK, influxdb.rpc_port)
    assert influxdb.ping()


def test_influxdb_restart_keeps_data_and_port(influxdb_factory: InfluxDBFactory) -> None:
    server = influxdb_factory()
    _write_and_read_back(server, "kept")
    port = server.port
    server.restart()
    assert server.port == port
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        assert _read_energy(http, "kept") == [[1700000000, 1234.5, 42]]


def test_influxdb_readiness_timeout_kills_and_reports(tmp_path: Path) -> None:
    server = InfluxDBServer(tmp_path, startup_timeout=0.0)
    with pytest.raises(ServiceStartError, match=r"did not answer /ping .*log tail"):
        server.start()
    assert not server.running


# --- Mosquitto --------------------------------------------------------------------------------


def test_mosquitto_publish_and_receive_qos1(
    mosquitto: MosquittoServer, probes: Callable[..., MqttProbe]
) -> None:
    subscriber = probes(mosquitto, "cloud-ingest")
    assert subscriber.connect().value == 0
    subscriber.subscribe("eclor/v1/+/telemetry")
    publisher = probes(mosquitto, "gw-a")
    assert publisher.connect().value == 0
    assert publisher.publish("eclor/v1/gw-a/telemetry", b'{"seq": 1}').value == 0
    message = subscriber.next_message()
    assert (message.topic, message.payload, message.qos) == (
        "eclor/v1/gw-a/telemetry",
        b'{"seq": 1}',
        1,
    )


def test_mosquitto_restart_keeps_retained_and_queued_messages(
    mosquitto_factory: MosquittoFactory, probes: Callable[..., MqttProbe]
) -> None:
    broker = mosquitto_factory()
    gateway = probes(broker, "gw-a", protocol=mqtt.MQTTv311, clean_session=False)
    gateway.connect()
    gateway.subscribe("eclor/v1/gw-a/cmd")
    gateway.close()
    cloud = probes(broker, "cloud")
    cloud.connect()
    cloud.publish("eclor/v1/gw-a/program", b"program-7", retain=True)
    cloud.publish("eclor/v1/gw-a/cmd", b"dim-40")
    cloud.close()
    port = broker.port
    broker.restart()
    assert broker.port == port
    again = probes(broker, "gw-a", protocol=mqtt.MQTTv311, clean_session=False)
    again.connect()
    assert again.next_message().payload == b"dim-40"  # queued for the persistent session
    again.subscribe("eclor/v1/gw-a/program")
    assert again.next_message().payload == b"program-7"  # retained


def test_mosquitto_kill_then_restart_on_same_port(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory()
    broker.kill()
    assert not broker.running
    assert not port_answers(broker.host, broker.port)
    broker.restart()
    assert broker.running
    assert port_answers(broker.host, broker.port)


USERS = {"gw-a": "secret-a", "gw-b": "secret-b", "cloud": "secret-cloud"}


@pytest.fixture
def secured_broker(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    return mosquitto_factory(USERS, gateway_acl("cloud"))


def _login(
    probes: Callable[..., MqttProbe], broker: MosquittoServer, user: str, **kwargs: object
) -> MqttProbe:
    probe = probes(broker, f"{user}-{uuid.uuid4().hex[:6]}", auth=(user, USERS[user]), **kwargs)
    assert probe.connect().value == 0
    return probe


def test_acl_lets_a_gateway_publish_only_its_own_telemetry(
    secured_broker: MosquittoServer, probes: Callable[..., MqttProbe]
) -> None:
    cloud = _login(probes, secured_broker, "cloud")
    cloud.subscribe("$share/ingest/eclor/v1/+/telemetry")
    gateway = _login(probes, secured_broker, "gw-a")
    refused = gateway.publish("eclor/v1/gw-b/telemetry", b"forged")
    assert refused.value == NOT_AUTHORIZED, refused
    assert gateway.publish("eclor/v1/gw-a/telemetry", b"genuine").value == 0
    # Mosquitto keeps one publisher's order: had "forged" passed, it would arrive first.
    assert cloud.next_message().payload == b"genuine"
    assert cloud.messages.empty()


def test_acl_drops_silently_under_mqtt_311(
    secured_broker: MosquittoServer, probes: Callable[..., MqttProbe]
) -> None:
    cloud = _login(probes, secured_broker, "cloud")
    cloud.subscribe("eclor/v1/#")
    gateway = _login(probes, secured_broker, "gw-a", protocol=mqtt.MQTTv311)
    assert gateway.publish("eclor/v1/gw-b/telemetry", b"forged").value == 0  # plain PUBACK
    gateway.publish("eclor/v1/gw-a/event", b"door-open")
    message = cloud.next_message()
    assert (message.topic, message.payload) == ("eclor/v1/gw-a/event", b"door-open")
    assert cloud.messages.empty()


def test_acl_lets_a_gateway_read_only_its_own_commands(
    secured_broker: MosquittoServer, probes: Callable[..., MqttProbe]
) -> None:
    gateway = _login(probes, secured_broker, "gw-a")
    gateway.subscribe("eclor/v1/+/cmd")  # mosquitto grants it; delivery is filtered
    cloud = _login(probes, secured_broker, "cloud")
    assert cloud.publish("eclor/v1/gw-b/cmd", b"for-b").value == 0
    assert cloud.publish("eclor/v1/gw-a/cmd", b"for-a").value == 0
    assert gateway.next_message().payload == b"for-a"
    assert gateway.messages.empty()


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311])
def test_wrong_password_is_refused_at_connect(
    secured_broker: MosquittoServer,
    probes: Callable[..., MqttProbe],
    protocol: MQTTProtocolVersion,
) -> None:
    probe = probes(secured_broker, "gw-a-bad", auth=("gw-a", "wrong"), protocol=protocol)
    code = probe.connect()
    assert code.is_failure
    # Mosquitto 2.0.11 answers "Not authorized" (v5 135, v3.1.1 5, which paho maps to 135);
    # later versions say "Bad user name or password" (134).
    assert code.value in (134, NOT_AUTHORIZED), code


def test_anonymous_client_is_refused_when_users_are_set(
    secured_broker: MosquittoServer, probes: Callable[..., MqttProbe]
) -> None:
    assert probes(secured_broker, "nobody").connect().is_failure


def test_gateway_acl_text() -> None:
    acl = gateway_acl("cloud")
    for suffix in ("telemetry", "event", "status", "cmd/result"):
        assert f"pattern write eclor/v1/%u/{suffix}\n" in acl
    for suffix in ("ack", "cmd", "program"):
        assert f"pattern read eclor/v1/%u/{suffix}\n" in acl
    assert "user cloud\ntopic readwrite eclor/v1/#\n" in acl
    with pytest.raises(ValueError, match="user name"):
        gateway_acl("cloud #1")


# --- ports ------------------------------------------------------------------------------------


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A loopback port held by a listening socket for the test's duration."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_given_port_that_is_taken_fails_with_the_log_tail(
    tmp_path: Path, occupied_port: int
) -> None:
    broker = MosquittoServer(tmp_path, port=occupied_port)
    with pytest.raises(PortInUseError, match=r"(?s)log tail .*Address already in use"):
        broker.start()
    assert not broker.running


def test_a_picked_port_that_gets_taken_is_replaced(tmp_path: Path) -> None:
    broker = MosquittoServer(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind((LOOPBACK, broker.port))  # steal the port it picked
        squatter.listen()
        with broker:
            assert broker.port != squatter.getsockname()[1]
            assert broker.running
            assert "Address already in use" in broker.log_text()


# --- PostgreSQL -------------------------------------------------------------------------------


def _table_roundtrip(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE gateway (id text PRIMARY KEY, site text NOT NULL)"))
            conn.execute(
                text("INSERT INTO gateway (id, site) VALUES (:id, :site)"),
                [{"id": "gw-a", "site": "dech-01"}, {"id": "gw-b", "site": "eclairage-03"}],
            )
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, site FROM gateway ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [("gw-a", "dech-01"), ("gw-b", "eclairage-03")]
    finally:
        engine.dispose()


def test_postgres_table_roundtrip(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    assert "/eclor_test_" in postgres_url
    _table_roundtrip(postgres_url)


def test_postgres_database_is_dropped_even_with_open_sessions(
    tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    admin = postgres_database.admin_conninfo
    database = PostgresDatabase(tmp_path, mode="shared", admin_url=admin)
    database.start()
    assert database_exists(admin, database.dbname)
    engine = create_engine(database.url)
    held = engine.connect()  # left open on purpose: stop() must terminate it
    held.execute(text("SELECT 1"))
    try:
        database.stop()
        assert not database_exists(admin, database.dbname)
    finally:
        held.invalidate()
        engine.dispose()


def test_postgres_private_cluster_forced_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "private")
    with PostgresDatabase(tmp_path) as database:
        cluster = database.cluster
        assert cluster is not None
        assert database.private
        assert cluster.port != 5432
        assert database.url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/")
        _table_roundtrip(database.url)
    assert not cluster.running
    assert not port_answers(cluster.host, cluster.port)
    assert not cluster.workdir.exists()


def test_postgres_cluster_restart_keeps_data(tmp_path: Path) -> None:
    with PostgresCluster(tmp_path) as cluster:
        database = PostgresDatabase(tmp_path, mode="shared", admin_url=cluster.conninfo)
        database.start()
        port = cluster.port
        cluster.kill()
        cluster.restart()
        assert cluster.port == port
        assert database_exists(cluster.conninfo, database.dbname)
        database.stop()


# --- missing programs -------------------------------------------------------------------------

MISSING = "eclor-no-such-program"


@pytest.mark.parametrize(
    ("launch", "package"),
    [
        (lambda tmp: MosquittoServer(tmp, binary=MISSING), "mosquitto"),
        (lambda tmp: MosquittoServer(tmp, {"u": "p"}, passwd_binary=MISSING), "mosquitto"),
        (lambda tmp: InfluxDBServer(tmp, binary=f"/nonexistent/{MISSING}"), "influxdb"),
        (lambda tmp: PostgresCluster(tmp, initdb=MISSING), "postgresql"),
        (lambda tmp: PostgresDatabase(tmp, mode="private", initdb=MISSING).start(), "postgresql"),
    ],
    ids=["mosquitto", "mosquitto_passwd", "influxd", "initdb", "private-database"],
)
def test_missing_program_names_the_debian_package(
    tmp_path: Path, launch: Callable[[Path], object], package: str
) -> None:
    with pytest.raises(MissingBinaryError, match=rf"apt-get install {package}$") as caught:
        launch(tmp_path)
    assert MISSING in str(caught.value)
