"""Broker security generated from the registry, against the real Mosquitto 2 started with the
generated ``mosquitto.conf``: who may publish and receive what, anonymous and wrong passwords,
revocation with a SIGHUP reload (a connected revoked gateway is dropped at once), reloading by
process name, and our hashes against ``mosquitto_passwd``.

Also home of the helpers of ``test_broker_config_tls.py``: :class:`GeneratedBroker` (Mosquitto
started from a generated config), :class:`Client` (paho with blocking helpers),
:func:`open_registry` and :func:`cli`.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cloud.broker_config.accounts import create_service_account
from cloud.broker_config.conf import BrokerSettings
from cloud.broker_config.generate import Outcome, generate
from cloud.broker_config.passwords import mosquitto_verify
from cloud.broker_config.reload import pids_named
from cloud.cli import app as cloud_app
from cloud.registry import enroll_gateway, make_engine, make_session_factory, sqlite_url, upgrade
from cloud.registry.models import Gateway
from tests.services.mosquitto import PACKAGE
from tests.services.ports import (
    LOOPBACK,
    ServiceProcess,
    find_binary,
    free_port,
    port_answers,
    read_log,
    start_with_port_retry,
)

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
NOT_AUTHORIZED = 135  # MQTT 5 reason code 0x87
ACCEPTED = (0, 16)  # PUBACK "Success", or "No matching subscribers" (still a success)
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
GATEWAYS = ("gw-a", "gw-b", "gw-c")
INGEST, API = "cloud.ingest", "cloud.api"


# -- a broker started from a generated config ----------------------------------------------------


class GeneratedBroker:
    """``mosquitto -c <out>/mosquitto.conf``, the file ``broker-config`` wrote; ready once it
    logged "running" and ``ports`` accept connections."""

    def __init__(self, settings: BrokerSettings) -> None:
        binary = find_binary("mosquitto", PACKAGE, ("/usr/sbin", "/usr/local/sbin"))
        self.settings = settings
        self.conf = settings.out_dir / "mosquitto.conf"
        self.log_path = settings.out_dir.parent / f"{settings.out_dir.name}-mosquitto.log"
        self._process = ServiceProcess("mosquitto", [binary, "-c", str(self.conf)], self.log_path)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        ports = [p for p in (self.settings.plain_port, self.settings.port) if p is not None]
        if self.settings.tls is None:
            ports = ports[:1]

        def ready() -> bool:
            started = " running" in read_log(self.log_path, self._process.log_offset)
            return started and all(port_answers(LOOPBACK, p) for p in ports)

        self._process.start()
        self._process.wait_ready(ready, 10.0, "accept MQTT connections")

    def stop(self) -> None:
        self._process.stop()

    def log_text(self) -> str:
        return read_log(self.log_path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_generated(
    sessions: sessionmaker[Session], settings: BrokerSettings
) -> tuple[GeneratedBroker, Outcome]:
    """Generate the files for ``settings`` on free ports and start the broker on them (new ports
    and files again if another process takes a port first)."""
    chosen: list[BrokerSettings] = []
    started: list[tuple[GeneratedBroker, Outcome]] = []

    def pick() -> None:
        tls_port = free_port() if settings.tls is not None else settings.port
        plain = free_port() if settings.plain_port is not None else None
        chosen[:] = [replace(settings, port=tls_port, plain_port=plain)]

    def attempt() -> None:
        outcome = generate(sessions, chosen[0])
        broker = GeneratedBroker(chosen[0])
        broker.start()
        started.append((broker, outcome))

    pick()
    start_with_port_retry(attempt, pick)
    return started[0]


# -- an MQTT client with blocking helpers ------------------------------------------------------


@dataclass(frozen=True)
class ClientTls:
    ca: Path
    cert: Path | None = None
    key: Path | None = None


@dataclass
class Client:
    """A paho 2 client whose callbacks feed queues. ``connect`` returns the CONNACK reason code,
    or ``None`` when the connection ended without one."""

    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: ClientTls | None = None
    protocol: MQTTProtocolVersion = mqtt.MQTTv5

    def __post_init__(self) -> None:
        client_id = f"{self.user or 'anon'}-{uuid.uuid4().hex[:6]}"
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=self.protocol)
        if self.user is not None:
            self.paho.username_pw_set(self.user, self.password)
        if self.tls is not None:
            self.paho.tls_set(
                ca_certs=str(self.tls.ca),
                certfile=str(self.tls.cert) if self.tls.cert else None,
                keyfile=str(self.tls.key) if self.tls.key else None,
            )
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connacks: queue.Queue[int | None] = queue.Queue()
        self.disconnected = threading.Event()
        self._subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self._pubacks: dict[int, int] = {}
        self._puback_seen = threading.Condition()
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_subscribe = lambda _c, _u, _m, codes, _p: self._subacks.put(codes)
        self.paho.on_publish = self._on_publish
        self.paho.on_message = lambda _c, _u, message: self.messages.put(message)

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, code: ReasonCode, _p: Properties | None
    ) -> None:
        if code.is_failure:
            client.disconnect()  # no reconnection attempts
        self.connacks.put(code.value)

    def _on_disconnect(self, *_args: object) -> None:
        self.disconnected.set()
        self.connacks.put(None)

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, code: ReasonCode, _p: Properties | None
    ) -> None:
        with self._puback_seen:
            self._pubacks[mid] = code.value
            self._puback_seen.notify_all()

    def connect(self) -> int | None:
        self.paho.connect(LOOPBACK, self.port, keepalive=10)
        self.paho.loop_start()
        return self.connacks.get(timeout=TIMEOUT)

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1; Mosquitto 2.0 grants every subscription (reads are filtered when
        each message is delivered)."""
        self.paho.subscribe(topic, qos=1)
        codes = self._subacks.get(timeout=TIMEOUT)
        assert [code.value for code in codes] == [1], f"SUBACK for {topic}: {codes}"

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish at QoS 1 and return the PUBACK reason code."""
        info = self.paho.publish(topic, payload, qos=1, retain=retain)
        with self._puback_seen:
            got = self._puback_seen.wait_for(lambda: info.mid in self._pubacks, TIMEOUT)
            assert got, f"no PUBACK for {topic}"
            return self._pubacks.pop(info.mid)

    def next_message(self) -> tuple[str, bytes]:
        message = self.messages.get(timeout=TIMEOUT)
        return message.topic, message.payload

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


# -- fixtures ------------------------------------------------------------------------------------


@dataclass
class Registry:
    """A SQLite registry with its cloud config file, and the passwords it handed out."""

    config: Path
    sessions: sessionmaker[Session]
    passwords: dict[str, str]

    def enrol(self, gateway_id: str) -> str:
        with self.sessions.begin() as session:
            password = enroll_gateway(session, gateway_id, now=NOW).password
        self.passwords[gateway_id] = password
        return password


@contextlib.contextmanager
def open_registry(folder: Path) -> Iterator[Registry]:
    """A SQLite registry in ``folder`` with gateways gw-a, gw-b, gw-c and the accounts
    cloud.ingest and cloud.api, and a cloud config naming it."""
    database = folder / "registry.sqlite"
    config = folder / "cloud.yaml"
    config.write_text(f"registry:\n  url: sqlite:///{database}\n")
    engine = make_engine(sqlite_url(database))
    upgrade(engine)
    made = Registry(config, make_session_factory(engine), {})
    for gateway_id in GATEWAYS:
        made.enrol(gateway_id)
    with made.sessions.begin() as session:
        for name, role in ((INGEST, "ingest"), (API, "api")):
            made.passwords[name] = create_service_account(session, name, role, now=NOW).password
    try:
        yield made
    finally:
        engine.dispose()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with open_registry(tmp_path) as made:
        yield made


@pytest.fixture
def broker(registry: Registry, tmp_path: Path) -> Iterator[GeneratedBroker]:
    settings = BrokerSettings(tmp_path / "broker", plain_port=1)
    started, outcome = start_generated(registry.sessions, settings)
    assert (outcome.gateways, outcome.service_accounts, outcome.skipped) == (3, 2, ())
    with started:
        yield started


@pytest.fixture
def clients(registry: Registry, broker: GeneratedBroker) -> Iterator[Callable[..., Client]]:
    """``clients(user)`` logs ``user`` in on the plain loopback listener (CONNACK 0 checked);
    ``clients(None)`` makes an anonymous client without connecting it."""
    made: list[Client] = []
    port = broker.settings.plain_port
    assert port is not None

    def make(user: str | None, password: str | None = None) -> Client:
        secret = password if password is not None else registry.passwords.get(user or "")
        client = Client(port, user, secret)
        made.append(client)
        if user is not None and password is None:
            assert client.connect() == 0, f"{user} could not log in"
        return client

    yield make
    for client in made:
        client.close()


def cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cloud_app, [str(a) for a in args])
    return result.exit_code, result.output


# -- who may do what -----------------------------------------------------------------------------


def test_a_gateway_publishes_its_telemetry_and_the_ingest_receives_it(
    clients: Callable[..., Client],
) -> None:
    ingest = clients(INGEST)
    ingest.subscribe("$share/ingest/eclor/v1/+/telemetry")
    gateway = clients("gw-a")
    assert gateway.publish("eclor/v1/gw-a/telemetry", b"reading") in ACCEPTED
    assert ingest.next_message() == ("eclor/v1/gw-a/telemetry", b"reading")


@pytest.mark.parametrize(
    "topic",
    [
        "eclor/v1/gw-b/telemetry",  # another gateway's uplink
        "eclor/v1/gw-b/status",
        "eclor/v1/gw-a/ack",  # its own downlink: only the cloud writes there
        "eclor/v1/gw-a/cmd",
        "eclor/v1/gw-a/program",
        "eclor/v1/gw-a/other",  # not in the contract
        "$SYS/broker/uptime",
    ],
)
def test_a_gateway_cannot_publish_anywhere_else(clients: Callable[..., Client], topic: str) -> None:
    ingest = clients(INGEST)
    ingest.subscribe("eclor/v1/+/telemetry")
    ingest.subscribe("eclor/v1/+/status")
    gateway = clients("gw-a")
    assert gateway.publish(topic, b"forged") == NOT_AUTHORIZED
    assert gateway.publish("eclor/v1/gw-a/status", b"genuine", retain=True) in ACCEPTED
    # One publisher's messages arrive in order: had "forged" passed, it would come first.
    assert ingest.next_message() == ("eclor/v1/gw-a/status", b"genuine")
    assert ingest.messages.empty()


def test_under_mqtt_311_a_refused_publish_is_dropped_silently(
    clients: Callable[..., Client], registry: Registry, broker: GeneratedBroker
) -> None:
    ingest = clients(INGEST)
    ingest.subscribe("eclor/v1/+/telemetry")
    port = broker.settings.plain_port
    assert port is not None
    gateway = Client(port, "gw-a", registry.passwords["gw-a"], protocol=mqtt.MQTTv311)
    try:
        assert gateway.connect() == 0
        assert gateway.publish("eclor/v1/gw-b/telemetry", b"forged") == 0  # a plain PUBACK
        assert gateway.publish("eclor/v1/gw-a/telemetry", b"genuine") == 0
    finally:
        gateway.close()
    assert ingest.next_message() == ("eclor/v1/gw-a/telemetry", b"genuine")
    assert ingest.messages.empty()


def test_a_gateway_receives_only_its_own_commands_and_programs(
    clients: Callable[..., Client],
) -> None:
    api = clients(API)
    assert api.publish("eclor/v1/gw-a/program", b"program-a", retain=True) in ACCEPTED
    assert api.publish("eclor/v1/gw-b/program", b"program-b", retain=True) in ACCEPTED
    gateway_a, gateway_b = clients("gw-a"), clients("gw-b")
    for gateway in (gateway_a, gateway_b):
        gateway.subscribe("eclor/v1/+/cmd")  # granted; what it receives is filtered
    gateway_a.subscribe("eclor/v1/+/program")
    assert gateway_a.next_message() == ("eclor/v1/gw-a/program", b"program-a")  # retained
    assert api.publish("eclor/v1/gw-b/cmd", b"for-b") in ACCEPTED
    assert api.publish("eclor/v1/gw-a/cmd", b"for-a") in ACCEPTED
    assert gateway_a.next_message() == ("eclor/v1/gw-a/cmd", b"for-a")
    assert gateway_b.next_message() == ("eclor/v1/gw-b/cmd", b"for-b")
    assert gateway_a.messages.empty()
    assert gateway_b.messages.empty()


def test_the_ingest_reads_every_gateway_and_writes_only_acks(
    clients: Callable[..., Client],
) -> None:
    ingest = clients(INGEST)
    for suffix in ("telemetry", "event", "status", "cmd/result"):
        ingest.subscribe(f"$share/ingest/eclor/v1/+/{suffix}")
    sent = [
        ("gw-a", "telemetry"),
        ("gw-b", "event"),
        ("gw-c", "status"),
        ("gw-a", "cmd/result"),
    ]
    for gateway_id, suffix in sent:
        assert clients(gateway_id).publish(f"eclor/v1/{gateway_id}/{suffix}", b"x") in ACCEPTED
    received = {ingest.next_message()[0] for _ in sent}
    assert received == {f"eclor/v1/{g}/{s}" for g, s in sent}

    gateway = clients("gw-a")
    gateway.subscribe("eclor/v1/gw-a/ack")
    assert ingest.publish("eclor/v1/gw-a/cmd", b"not-mine") == NOT_AUTHORIZED
    assert ingest.publish("eclor/v1/gw-a/telemetry", b"forged") == NOT_AUTHORIZED
    assert ingest.publish("eclor/v1/gw-a/ack", b"seq 1-3") in ACCEPTED
    assert gateway.next_message() == ("eclor/v1/gw-a/ack", b"seq 1-3")


def test_the_api_account_writes_commands_but_reads_nothing(
    clients: Callable[..., Client],
) -> None:
    api = clients(API)
    api.subscribe("eclor/v1/#")
    assert api.publish("eclor/v1/gw-a/ack", b"forged") == NOT_AUTHORIZED
    assert clients("gw-a").publish("eclor/v1/gw-a/telemetry", b"reading") in ACCEPTED
    assert api.publish("eclor/v1/gw-a/cmd", b"dim 50") in ACCEPTED
    with pytest.raises(queue.Empty):
        api.messages.get(timeout=0.5)


def test_anonymous_unknown_and_wrong_passwords_are_refused(
    clients: Callable[..., Client], registry: Registry
) -> None:
    assert clients(None).connect() == NOT_AUTHORIZED
    assert clients("gw-a", registry.passwords["gw-b"]).connect() == NOT_AUTHORIZED
    assert clients("gw-zz", "whatever").connect() == NOT_AUTHORIZED
    assert clients(INGEST, registry.passwords[API]).connect() == NOT_AUTHORIZED


# -- revocation and reload -----------------------------------------------------------------------


def test_a_revoked_gateway_is_dropped_and_refused_after_the_reload(
    clients: Callable[..., Client], registry: Registry, broker: GeneratedBroker
) -> None:
    """Mosquitto 2.0.11 re-checks every connected client on SIGHUP: the revoked gateway's
    session ends at once (no need to wait for a reconnection), the others are untouched."""
    revoked, other = clients("gw-a"), clients("gw-b")
    out = broker.settings.out_dir
    code, output = cli(
        "gateway",
        "revoke",
        "gw-a",
        "--config",
        registry.config,
        "--broker-dir",
        out,
        "--reload-pid",
        out / "mosquitto.pid",
    )
    assert code == 0, output
    assert f"SIGHUP to pid {broker.pid}" in output
    assert "gw-a:" not in (out / "passwd").read_text()
    assert revoked.disconnected.wait(TIMEOUT), "the revoked gateway is still connected"
    assert clients("gw-a", registry.passwords["gw-a"]).connect() == NOT_AUTHORIZED
    assert not other.disconnected.is_set()
    assert other.publish("eclor/v1/gw-b/telemetry", b"still here") in ACCEPTED


def test_a_rotated_password_replaces_the_old_one_at_the_reload(
    clients: Callable[..., Client], registry: Registry, broker: GeneratedBroker
) -> None:
    from cloud.registry import rotate_gateway_password

    old_session = clients("gw-c")
    with registry.sessions.begin() as session:
        new = rotate_gateway_password(session, "gw-c", now=NOW)
    out = broker.settings.out_dir
    code, output = cli(
        "broker-config", "--config", registry.config, "--out", out, "--credentials-only",
        "--reload-pid-of", "mosquitto",
    )  # fmt: skip
    assert code == 0, output
    assert old_session.disconnected.wait(TIMEOUT)
    assert clients("gw-c", registry.passwords["gw-c"]).connect() == NOT_AUTHORIZED
    assert clients("gw-c", new).connect() == 0


def test_service_account_commands_change_the_broker_at_once(
    clients: Callable[..., Client], registry: Registry, broker: GeneratedBroker
) -> None:
    out = broker.settings.out_dir
    refresh = ("--config", registry.config, "--broker-dir", out, "--reload-pid-of", "mosquitto")
    code, output = cli("broker-account", "create", "cloud.scheduler", "--role", "api", *refresh)
    assert code == 0, output
    lines = output.splitlines()
    password = lines[lines.index("MQTT password (shown once, store it now):") + 1]
    assert "broker reloaded" in lines[-1]
    assert _eventually(lambda: clients("cloud.scheduler", password).connect() == 0)  # SIGHUP
    scheduler = clients("cloud.scheduler", password)  # is handled when the broker gets to it
    assert scheduler.connect() == 0
    assert scheduler.publish("eclor/v1/gw-a/program", b"tonight", retain=True) in ACCEPTED
    assert scheduler.publish("eclor/v1/gw-a/ack", b"forged") == NOT_AUTHORIZED
    code, output = cli("broker-account", "revoke", "cloud.scheduler", *refresh)
    assert code == 0, output
    assert scheduler.disconnected.wait(TIMEOUT)
    assert clients("cloud.scheduler", password).connect() == NOT_AUTHORIZED
    code, output = cli("broker-account", "list", "--config", registry.config)
    assert code == 0
    assert "cloud.scheduler" in output
    assert password not in output


def test_reload_by_name_picks_the_broker_running_the_generated_config(
    broker: GeneratedBroker,
) -> None:
    """Other brokers may run on the host (other tests, the system's): only ours matches."""
    assert pids_named("mosquitto", broker.conf) == [broker.pid]


def test_a_new_gateway_is_accepted_after_a_credentials_refresh(
    clients: Callable[..., Client], registry: Registry, broker: GeneratedBroker
) -> None:
    password = registry.enrol("gw-new")
    assert clients("gw-new", password).connect() == NOT_AUTHORIZED
    out = broker.settings.out_dir
    conf_before = (out / "mosquitto.conf").read_text()
    code, output = cli(
        "broker-config", "--config", registry.config, "--out", out, "--credentials-only",
        "--reload-pid", out / "mosquitto.pid",
    )  # fmt: skip
    assert code == 0, output
    assert "gateways 4, service accounts 2" in output
    assert (out / "mosquitto.conf").read_text() == conf_before
    assert _eventually(lambda: clients("gw-new", password).connect() == 0)


def test_a_gateway_enrolled_before_0002_is_left_out_with_a_warning(
    registry: Registry, tmp_path: Path
) -> None:
    with registry.sessions.begin() as session:
        gateway = session.get(Gateway, "gw-b")
        assert gateway is not None
        gateway.broker_hash = None
    out = tmp_path / "out"
    code, output = cli(
        "broker-config", "--config", registry.config, "--out", out, "--plain-port", 1883
    )
    assert code == 0, output
    assert "left out gateway gw-b: no broker password hash" in " ".join(output.split())
    users = [line.partition(":")[0] for line in (out / "passwd").read_text().splitlines()]
    assert users == [API, INGEST, "gw-a", "gw-c"]
    assert all((out / name).stat().st_mode & 0o777 == 0o600 for name in ("passwd", "acl"))


def test_the_files_written_by_the_command_are_what_the_broker_loads(
    broker: GeneratedBroker,
) -> None:
    log = broker.log_text()
    assert f"Config loaded from {broker.conf}" in log
    assert "Error" not in log


# -- hashes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["secret1", "pässwörd ünïcode", "a" * 200, "x:y$z"])
def test_hashes_of_mosquitto_passwd_verify_here(tmp_path: Path, password: str) -> None:
    binary = find_binary("mosquitto_passwd", PACKAGE, ("/usr/bin", "/usr/sbin"))
    file = tmp_path / "pw"
    subprocess.run([binary, "-c", "-b", str(file), "someone", password], check=True, timeout=30)
    stored = file.read_text().strip().partition(":")[2]
    assert stored.startswith("$7$101$")
    assert mosquitto_verify(password, stored)
    assert not mosquitto_verify(password + "!", stored)


def test_the_brokers_own_log_shows_no_secret(
    clients: Callable[..., Client], registry: Registry, broker: GeneratedBroker
) -> None:
    clients("gw-a")
    log = broker.log_text()
    assert all(secret not in log for secret in registry.passwords.values())


def _eventually(check: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
