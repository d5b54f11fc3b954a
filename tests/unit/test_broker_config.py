"""Broker security files, without a broker: the Mosquitto hash, the ACL, the password file,
mosquitto.conf and its checks, atomic 0600 writes, and the reload's safety checks.

What the real Mosquitto makes of these files is in tests/integration/test_broker_config*.py.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.broker_config.accounts import ROLE_GRANTS, check_service_name
from cloud.broker_config.acl import (
    Grant,
    ServiceGrants,
    check_topic_filter,
    check_user_name,
    parse_grant,
    render_acl,
)
from cloud.broker_config.conf import BrokerSettings, TlsFiles, check_settings, render_conf
from cloud.broker_config.files import write_atomic
from cloud.broker_config.passwd import BrokerUser, render_passwd
from cloud.broker_config.passwords import (
    mosquitto_hash,
    mosquitto_verify,
    parse_mosquitto_hash,
)
from cloud.broker_config.reload import pid_from_file, reload_by_name, reload_pid_file
from cloud.errors import BrokerSettingsError, RegistryContentError, ReloadError
from cloud.registry.models import ServiceRole
from eclor.wire.topics import GATEWAY_ID_PATTERN
from tests.support.certs import make_pki

MOSQUITTO_PASSWD_LINE = (
    "alice:$7$101$qzQDf0uslEUj4IsR$YxfLR4ns6nlRjpoBfKI6rDpGzI2SIhr+0Iw4sj7O174FD2mH6LEYHe/TKOMsY8h"
    "FZjWPVO1zLKhFmgaWR4rDvg=="
)
"""Written by ``mosquitto_passwd -c -b pw alice secret1`` (Mosquitto 2.0.11)."""


# -- the hash ------------------------------------------------------------------------------------


def test_a_hash_written_by_mosquitto_passwd_verifies() -> None:
    stored = MOSQUITTO_PASSWD_LINE.partition(":")[2]
    assert mosquitto_verify("secret1", stored)
    assert not mosquitto_verify("secret2", stored)
    assert not mosquitto_verify("", stored)


def test_our_hash_has_mosquittos_shape_and_derivation() -> None:
    salt = bytes(range(12))
    stored = mosquitto_hash("pässword", salt=salt)
    prefix, iterations, salt_b64, derived_b64 = stored.split("$")[1:]
    assert (prefix, iterations) == ("7", "101")
    assert base64.b64decode(salt_b64) == salt
    expected = hashlib.pbkdf2_hmac("sha512", "pässword".encode(), salt, 101, 64)
    assert base64.b64decode(derived_b64) == expected
    assert stored.startswith("$7$101$")
    assert len(stored) < 128  # fits the registry's column


def test_every_hash_has_its_own_salt() -> None:
    first, second = mosquitto_hash("same"), mosquitto_hash("same")
    assert first != second
    assert mosquitto_verify("same", first)
    assert mosquitto_verify("same", second)


def test_another_iteration_count_verifies() -> None:
    stored = mosquitto_hash("pw", iterations=1000)
    assert stored.startswith("$7$1000$")
    assert mosquitto_verify("pw", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "$6$abc$def",
        "$7$101$only-two",
        "$7$x$AAAA$AAAA",
        "$7$0$AAAAAAAAAAAAAAAA$" + "A" * 88,
        "$7$101$not base64!$" + "A" * 88,
        "$7$101$AAAAAAAAAAAAAAAA$QUFB",  # a 3-byte hash
        "$7$101$$" + base64.b64encode(bytes(64)).decode(),  # no salt
    ],
)
def test_a_malformed_hash_never_matches(stored: str) -> None:
    with pytest.raises(ValueError, match=r"hash|base64|salt|iteration"):
        parse_mosquitto_hash(stored)
    assert not mosquitto_verify("anything", stored)


def test_bad_hash_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="iterations"):
        mosquitto_hash("pw", iterations=0)
    with pytest.raises(ValueError, match="salt"):
        mosquitto_hash("pw", salt=b"")


# -- the ACL -------------------------------------------------------------------------------------


def test_the_acl_has_the_gateway_patterns_and_each_services_grants() -> None:
    api = ServiceGrants("cloud.api", tuple(map(parse_grant, ROLE_GRANTS[ServiceRole.API])))
    ingest = ServiceGrants("cloud.ingest", tuple(map(parse_grant, ROLE_GRANTS[ServiceRole.INGEST])))
    text = render_acl([ingest, api])
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body == [
        "pattern write eclor/v1/%u/telemetry",
        "pattern write eclor/v1/%u/event",
        "pattern write eclor/v1/%u/status",
        "pattern write eclor/v1/%u/cmd/result",
        "pattern read eclor/v1/%u/ack",
        "pattern read eclor/v1/%u/cmd",
        "pattern read eclor/v1/%u/program",
        "user cloud.api",
        "topic write eclor/v1/+/cmd",
        "topic write eclor/v1/+/program",
        "user cloud.ingest",
        "topic read eclor/v1/+/telemetry",
        "topic read eclor/v1/+/event",
        "topic read eclor/v1/+/status",
        "topic read eclor/v1/+/cmd/result",
        "topic write eclor/v1/+/ack",
    ]
    assert text.endswith("\n")


def test_no_service_account_gives_the_patterns_alone() -> None:
    body = _body(render_acl([]))
    assert len(body) == 7
    assert all(line.startswith("pattern ") for line in body)


@pytest.mark.parametrize(
    "text",
    [
        "delete eclor/v1/#",
        "read",
        "read ",
        "read eclor/v1/+/telemetry\nuser intruder",
        "write eclor/v1/a b",
        "read eclor/#/x",
        "read eclor/v1/gw+/cmd",
        "readwrite eclor/v1/#x",
    ],
)
def test_a_bad_grant_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"grant|topic filter"):
        parse_grant(text)


def test_good_filters_pass() -> None:
    for topic in ("eclor/v1/+/telemetry", "#", "eclor/#", "+", "$share/g/eclor/v1/+/ack"):
        assert check_topic_filter(topic) == topic
    assert parse_grant("readwrite eclor/#") == Grant("readwrite", "eclor/#")


@pytest.mark.parametrize("name", ["", "a:b", "a b", "a+b", "a#b", "a/b", "A", "x\n", "é"])
def test_user_names_that_would_break_the_files_are_refused(name: str) -> None:
    with pytest.raises(RegistryContentError):
        check_user_name(name)
    with pytest.raises(RegistryContentError):
        render_acl([ServiceGrants(name, ())])


def test_service_account_names_can_never_be_gateway_ids() -> None:
    import re

    for name in ("cloud.ingest", "cloud.api", "ingest.worker-1", "a.b.c"):
        assert check_service_name(name) == name
        assert re.fullmatch(GATEWAY_ID_PATTERN, name) is None
    for bad in ("ingest", "cloud-ingest", ".ingest", "cloud.", "Cloud.api", "1cloud.api", "a" * 64):
        with pytest.raises(ValueError, match="service account name"):
            check_service_name(bad)


# -- the password file ---------------------------------------------------------------------------


def test_the_password_file_has_one_line_per_user_sorted() -> None:
    users = [
        BrokerUser("gw-b", "gateway", mosquitto_hash("b")),
        BrokerUser("cloud.ingest", "service account", mosquitto_hash("i")),
        BrokerUser("gw-a", "gateway", mosquitto_hash("a")),
    ]
    lines = render_passwd(users).splitlines()
    assert [line.partition(":")[0] for line in lines] == ["cloud.ingest", "gw-a", "gw-b"]
    assert mosquitto_verify("a", lines[1].partition(":")[2])
    assert render_passwd([]) == ""


def test_a_user_twice_or_a_bad_hash_refuses_the_whole_file() -> None:
    twice = [
        BrokerUser("gw-a", "gateway", mosquitto_hash("a")),
        BrokerUser("gw-a", "service account", mosquitto_hash("b")),
    ]
    with pytest.raises(RegistryContentError, match="belongs to a gateway and a service account"):
        render_passwd(twice)
    with pytest.raises(RegistryContentError, match="broker hash of gateway 'gw-a' is unusable"):
        render_passwd([BrokerUser("gw-a", "gateway", "sha256$abc")])


def test_a_broker_user_does_not_show_its_hash() -> None:
    stored = mosquitto_hash("a")
    assert stored not in repr(BrokerUser("gw-a", "gateway", stored))


# -- mosquitto.conf ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    made = make_pki(tmp_path_factory.mktemp("pki"))
    return TlsFiles(made.server_cert, made.server_key, made.ca)


def _body(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_conf_has_auth_persistence_and_a_tls_listener(tmp_path: Path, pki: TlsFiles) -> None:
    settings = check_settings(BrokerSettings(tmp_path / "out", pki, port=8883, broker_user=None))
    body = _body(render_conf(settings))
    out = tmp_path / "out"
    for line in (
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {out}/passwd",
        f"acl_file {out}/acl",
        "persistence true",
        f"persistence_location {out}/data/",
        f"pid_file {out}/mosquitto.pid",
        "listener 8883",
        f"certfile {pki.cert}",
        f"keyfile {pki.key}",
        f"cafile {pki.ca}",
        "require_certificate false",
        "tls_version tlsv1.2",
    ):
        assert line in body, line
    assert sum(line.startswith("listener ") for line in body) == 1
    assert body.index("listener 8883") < body.index(f"certfile {pki.cert}")


def test_the_plain_listener_is_loopback_only_and_client_certs_can_be_required(
    tmp_path: Path, pki: TlsFiles
) -> None:
    settings = BrokerSettings(
        tmp_path, pki, port=8884, bind="10.0.0.5", plain_port=1883, require_client_cert=True
    )
    body = _body(render_conf(check_settings(settings)))
    assert "listener 8884 10.0.0.5" in body
    assert "require_certificate true" in body
    assert body[-2:] == ["listener 1883 127.0.0.1", "protocol mqtt"]


def test_plain_only_has_no_tls_lines(tmp_path: Path) -> None:
    body = _body(render_conf(check_settings(BrokerSettings(tmp_path, plain_port=1883))))
    assert not any(line.startswith(("certfile", "keyfile", "cafile", "require_")) for line in body)
    assert [line for line in body if line.startswith("listener")] == ["listener 1883 127.0.0.1"]


def test_relative_paths_become_absolute(
    tmp_path: Path, pki: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pki.cert.parent)
    relative = TlsFiles(Path(pki.cert.name), Path(pki.key.name))
    checked = check_settings(BrokerSettings(Path("out"), relative))
    assert checked.out_dir == pki.cert.parent / "out"
    assert checked.tls is not None
    assert checked.tls.cert == pki.cert


@pytest.mark.parametrize(
    ("change", "option", "reason"),
    [
        ({"tls": None}, "--tls-cert/--tls-key", "no listener"),
        ({"port": 0}, "--port", "not a TCP port"),
        ({"plain_port": 70000}, "--plain-port", "not a TCP port"),
        ({"plain_port": 8883}, "--plain-port", "same as the TLS --port"),
        ({"bind": "a b"}, "--bind", "not an address"),
        ({"broker_user": "no-such-user-eclor"}, "--broker-user", "no user"),
        ({"out_dir": Path("/tmp/a b")}, "--out", "blanks"),
        ({"data_dir": Path("/tmp/x\nallow_anonymous true")}, "--data-dir", "blanks"),
    ],
)
def test_bad_settings_name_the_option(
    tmp_path: Path, pki: TlsFiles, change: dict[str, object], option: str, reason: str
) -> None:
    fields: dict[str, object] = {"out_dir": tmp_path, "tls": pki, "port": 8883, **change}
    with pytest.raises(BrokerSettingsError, match=reason) as caught:
        check_settings(BrokerSettings(**fields))  # type: ignore[arg-type]
    assert caught.value.option == option


def test_tls_files_are_checked_before_anything_is_written(tmp_path: Path, pki: TlsFiles) -> None:
    def refused(tls: TlsFiles, require: bool = False) -> BrokerSettingsError:
        settings = BrokerSettings(tmp_path / "out", tls, require_client_cert=require)
        with pytest.raises(BrokerSettingsError) as caught:
            check_settings(settings)
        return caught.value

    missing = refused(TlsFiles(tmp_path / "nope.pem", pki.key))
    assert (missing.option, "does not exist") == ("--tls-cert", missing.reason[-14:])
    assert refused(TlsFiles(pki.cert, tmp_path)).reason.endswith("is a folder, not a file")
    assert refused(TlsFiles(pki.cert, pki.ca)).option == "--tls-cert/--tls-key"  # not its key
    assert refused(TlsFiles(pki.cert, pki.key, pki.key)).option == "--ca"  # a key is no CA
    assert refused(TlsFiles(pki.cert, pki.key), require=True).option == "--ca"
    assert not (tmp_path / "out").exists()


# -- files ---------------------------------------------------------------------------------------


def test_files_are_written_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "passwd"
    previous = os.umask(0)
    try:
        write_atomic(target, "one\n", None)
        write_atomic(target, "two\n", None)
    finally:
        os.umask(previous)
    assert target.read_text() == "two\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "acl"
    write_atomic(target, "old\n", None)
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "bad \udc80\n", None)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acl"]


def test_an_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BrokerSettingsError, match="cannot write"):
        write_atomic(tmp_path / "missing" / "passwd", "x\n", None)


# -- reload safety -------------------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def test_a_pid_file_naming_another_program_is_not_signalled(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{sleeper.pid}\n")
    with pytest.raises(ReloadError, match="not 'mosquitto'"):
        reload_pid_file(pid_file)
    assert sleeper.poll() is None, "SIGHUP would have ended it"


def test_pid_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ReloadError, match="does not exist"):
        pid_from_file(tmp_path / "none.pid")
    for text in ("", "abc", "-1", "0"):
        (tmp_path / "bad.pid").write_text(text)
        with pytest.raises(ReloadError, match="does not hold a process id"):
            pid_from_file(tmp_path / "bad.pid")


def test_a_pid_file_of_a_finished_process_is_stale(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    (tmp_path / "old.pid").write_text(done.stdout)
    with pytest.raises(ReloadError, match="stale pid file"):
        reload_pid_file(tmp_path / "old.pid")


def test_no_process_of_that_name_is_an_error() -> None:
    with pytest.raises(ReloadError, match="no running process named"):
        reload_by_name("eclor-no-such-program")


def test_sighup_reaches_the_process(tmp_path: Path) -> None:
    """The one process named as asked gets SIGHUP (here a Python that reports it)."""
    ready = tmp_path / "ready"
    code = (
        "import signal, sys, time, pathlib\n"
        "signal.signal(signal.SIGHUP, lambda *a: sys.exit(42))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(30)\n"
    )
    script = tmp_path / "eclor-hup-test"
    script.write_text(f"#!{sys.executable}\n{code}")
    script.chmod(0o755)
    process = subprocess.Popen([str(script)])
    try:
        while not ready.exists():
            assert process.poll() is None
        (tmp_path / "p.pid").write_text(str(process.pid))
        assert reload_pid_file(tmp_path / "p.pid", expect=_comm(process.pid)) == process.pid
        assert process.wait(10) == 42
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()
