"""Broker security over TLS, against the real Mosquitto started with the generated config: the
test CA's listener, plain text refused on it, client certificates on top of passwords; clear
errors for missing TLS files and foreign folders; files owned by the broker's own account."""

from __future__ import annotations

import os
import pwd
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.broker_config.conf import BrokerSettings, TlsFiles
from tests.integration.test_broker_config import (
    ACCEPTED,
    NOT_AUTHORIZED,
    Client,
    ClientTls,
    GeneratedBroker,
    Registry,
    cli,
    open_registry,
    start_generated,
)
from tests.services.ports import LOOPBACK
from tests.support import certs

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with open_registry(tmp_path) as made:
        yield made


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.TestPki:
    return certs.make_pki(tmp_path_factory.mktemp("pki"))


def _tls_broker(
    registry: Registry, folder: Path, pki: certs.TestPki, *, require_client_cert: bool = False
) -> GeneratedBroker:
    tls = TlsFiles(pki.server_cert, pki.server_key, pki.ca)
    settings = BrokerSettings(
        folder, tls, bind=LOOPBACK, plain_port=1, require_client_cert=require_client_cert
    )
    return start_generated(registry.sessions, settings)[0]


def _no_session(client: Client) -> bool:
    """True when no MQTT session came of it: the handshake failed, or no CONNACK arrived."""
    try:
        return client.connect() is None
    except (ssl.SSLError, OSError):
        return True
    finally:
        client.close()


def test_the_tls_listener_serves_the_test_ca_and_refuses_plain_text(
    registry: Registry, tmp_path: Path, pki: certs.TestPki
) -> None:
    (tmp_path / "stranger").mkdir()
    stranger = certs.make_pki(tmp_path / "stranger", "stranger")
    with _tls_broker(registry, tmp_path / "broker", pki) as broker:
        port, password = broker.settings.port, registry.passwords["gw-a"]
        gateway = Client(port, "gw-a", password, tls=ClientTls(pki.ca))
        try:
            assert gateway.connect() == 0
            assert gateway.publish("eclor/v1/gw-a/telemetry", b"over tls") in ACCEPTED
            assert gateway.publish("eclor/v1/gw-b/telemetry", b"forged") == NOT_AUTHORIZED
        finally:
            gateway.close()
        anonymous = Client(port, tls=ClientTls(pki.ca))
        assert anonymous.connect() == NOT_AUTHORIZED
        anonymous.close()
        assert _no_session(Client(port, "gw-a", password))  # plain text on the TLS port
        untrusting = Client(port, "gw-a", password, tls=ClientTls(stranger.ca))
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusting.connect()
        untrusting.close()


def test_client_certificates_can_be_required_on_top_of_passwords(
    registry: Registry, tmp_path: Path, pki: certs.TestPki
) -> None:
    with _tls_broker(registry, tmp_path / "broker", pki, require_client_cert=True) as broker:
        port, password = broker.settings.port, registry.passwords["gw-a"]
        assert _no_session(Client(port, "gw-a", password, tls=ClientTls(pki.ca)))
        # Any certificate of the CA will do for the test: the server's own.
        with_cert = ClientTls(pki.ca, pki.server_cert, pki.server_key)
        gateway = Client(port, "gw-a", password, tls=with_cert)
        try:
            assert gateway.connect() == 0
        finally:
            gateway.close()
        wrong_password = Client(port, "gw-a", "wrong", tls=with_cert)
        assert wrong_password.connect() == NOT_AUTHORIZED
        wrong_password.close()


def test_missing_tls_files_are_a_clear_error(registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = cli(
        "broker-config", "--config", registry.config, "--out", out,
        "--tls-cert", tmp_path / "server.pem", "--tls-key", tmp_path / "server.key",
    )  # fmt: skip
    assert code == 2
    assert f"--tls-cert: {tmp_path / 'server.pem'} does not exist" in " ".join(output.split())
    assert not out.exists()
    code, output = cli("broker-config", "--config", registry.config, "--out", out)
    assert code == 2
    assert "no listener" in " ".join(output.split())


def test_a_folder_broker_config_did_not_write_is_refused(
    registry: Registry, tmp_path: Path
) -> None:
    foreign = tmp_path / "etc-mosquitto"
    foreign.mkdir()
    (foreign / "mosquitto.conf").write_text("listener 1883\nallow_anonymous true\n")
    code, output = cli(
        "broker-config", "--config", registry.config, "--out", foreign, "--credentials-only"
    )
    assert code == 2
    assert "was not written by broker-config" in " ".join(output.split())
    assert [p.name for p in foreign.iterdir()] == ["mosquitto.conf"]  # nothing written
    code, output = cli(
        "gateway", "revoke", "gw-a", "--config", registry.config, "--broker-dir", tmp_path,
    )  # fmt: skip
    assert code == 1
    assert "the registry is changed, but" in output
    assert "run broker-config first" in " ".join(output.split())


# -- the broker's own account --------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another account")
def test_the_files_belong_to_the_brokers_account_which_runs_it(registry: Registry) -> None:
    """As root with ``--broker-user mosquitto``: files 0600 owned by ``mosquitto``, the account
    the broker runs as (pytest's folders are 0700 to others, so this one is made apart)."""
    account = pwd.getpwnam("mosquitto")
    folder = Path(tempfile.mkdtemp(prefix="eclor-broker-user-"))
    try:
        folder.chmod(0o755)
        settings = BrokerSettings(folder / "broker", plain_port=1, broker_user="mosquitto")
        broker, _ = start_generated(registry.sessions, settings)
        with broker:
            for name in ("mosquitto.conf", "passwd", "acl"):
                info = (broker.settings.out_dir / name).stat()
                assert (info.st_uid, info.st_mode & 0o777) == (account.pw_uid, 0o600), name
            assert (broker.settings.out_dir / "data").stat().st_uid == account.pw_uid
            assert Path(f"/proc/{broker.pid}").stat().st_uid == account.pw_uid
            port = broker.settings.plain_port
            assert port is not None
            gateway = Client(port, "gw-a", registry.passwords["gw-a"])
            try:
                assert gateway.connect() == 0
            finally:
                gateway.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
