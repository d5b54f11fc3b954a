"""Mosquitto brokers on free loopback ports: anonymous, or with a password file and an ACL.

    with MosquittoServer(tmp_path) as broker:                      # anonymous
        client.connect(broker.host, broker.port)

    users = {"gw-a": "pw-a", "cloud": "pw-c"}
    with MosquittoServer(tmp_path, users, gateway_acl("cloud")) as broker:
        ...

Persistence is on (in the broker's own folder), so ``restart()`` keeps retained messages and the
queues of persistent sessions. Mosquitto saves its database when it stops cleanly; ``kill()``
(SIGKILL) loses whatever arrived since the last save, like a real crash.

ACL semantics of mosquitto 2.0.11's ``acl_file`` (checked against the real broker):

- ``write`` is checked on PUBLISH: a denied QoS 1 publish gets PUBACK reason 135 "Not
  authorized" under MQTT 5, a plain (silently dropping) PUBACK under MQTT 3.1.1;
- SUBSCRIBE is not checked at all (every SUBACK grants); ``read`` is checked when each message
  is delivered, against the message's own topic;
- so a shared subscription ``$share/<group>/<filter>`` needs nothing special: the member
  receives exactly the messages whose topics it may read. ``topic read $share/#`` would be
  dead weight, and ``#`` in a rule never matches topics starting with ``$``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.services.ports import (
    LOOPBACK,
    ServiceProcess,
    ServiceStartError,
    find_binary,
    free_port,
    port_answers,
    read_log,
    start_with_port_retry,
)

PACKAGE = "mosquitto"
"""The Debian package providing ``mosquitto`` and ``mosquitto_passwd``."""

_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_LOG_TYPES = ("error", "warning", "notice", "information")
_READY_MARKER = " running"  # "mosquitto version 2.0.11 running", logged once listeners are open

TOPIC_ROOT = "eclor/v1"
GATEWAY_WRITES = ("telemetry", "event", "status", "cmd/result")
"""Topic suffixes a gateway publishes under ``eclor/v1/<its id>/``."""
GATEWAY_READS = ("ack", "cmd", "program")
"""Topic suffixes a gateway receives under ``eclor/v1/<its id>/``."""


def gateway_acl(cloud_user: str, topic_root: str = TOPIC_ROOT) -> str:
    """The broker ACL of the design: each gateway (user name = gateway id) touches only its own
    topics; ``cloud_user`` reads and writes everything under the topic root, including through
    shared subscriptions (``$share/<group>/eclor/v1/+/telemetry``), which need no extra rule
    in mosquitto 2.0 (see the module docstring).
    """
    _check_acl_name(cloud_user)
    lines = ["# Gateways: the MQTT user name is the gateway id (%u)."]
    lines += [f"pattern write {topic_root}/%u/{suffix}" for suffix in GATEWAY_WRITES]
    lines += [f"pattern read {topic_root}/%u/{suffix}" for suffix in GATEWAY_READS]
    lines += ["", "# The cloud (ingest, lighting policy, command sender).", f"user {cloud_user}"]
    lines += [f"topic readwrite {topic_root}/#"]
    return "\n".join(lines) + "\n"


def _check_acl_name(name: str) -> None:
    if not name or any(ch.isspace() or ch in "+#:" for ch in name):
        raise ValueError(f"{name!r} cannot be an MQTT user name in a mosquitto ACL")


class MosquittoServer:
    """A private ``mosquitto`` listening on ``127.0.0.1:<port>``.

    ``users`` (name → password) switches anonymous access off and writes a hashed password file
    with ``mosquitto_passwd -U``; ``acl`` is the text of an ACL file (see :func:`gateway_acl`).
    ``allow_anonymous`` defaults to "only when there are no users". ``port=None`` picks a free
    port and retries on a clash; a given port is used as is. ``binary``/``passwd_binary`` are
    program names or paths. ``extra_config`` is appended to the generated mosquitto.conf.
    """

    host = LOOPBACK

    def __init__(
        self,
        tmpdir: Path | str,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        *,
        port: int | None = None,
        allow_anonymous: bool | None = None,
        binary: str = "mosquitto",
        passwd_binary: str = "mosquitto_passwd",
        extra_config: str = "",
        verbose: bool = False,
        startup_timeout: float = 10.0,
    ) -> None:
        self.binary = find_binary(binary, PACKAGE, _SBIN)
        self._passwd_binary = find_binary(passwd_binary, PACKAGE, _SBIN) if users else ""
        self.users = dict(users or {})
        self.acl = acl
        self.allow_anonymous = not self.users if allow_anonymous is None else allow_anonymous
        self.extra_config = extra_config
        self.verbose = verbose
        self.startup_timeout = startup_timeout
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        Path(tmpdir).mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="mosquitto-", dir=tmpdir))
        self.config_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"
        self._process = ServiceProcess(
            "mosquitto", [self.binary, "-c", str(self.config_path)], self.log_path
        )

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._process.running

    def start(self) -> None:
        """Write the files, start the broker and wait until it accepts connections."""
        self._write_auth_files()
        if self._fixed_port:
            self._start_once()
        else:
            start_with_port_retry(self._start_once, self._pick_new_port)

    def stop(self) -> None:
        """Stop cleanly (SIGTERM; mosquitto saves its persistence file). Idempotent."""
        self._process.stop()

    def kill(self) -> None:
        """SIGKILL the broker: unsaved retained messages and queues are lost."""
        self._process.kill()

    def restart(self) -> None:
        """Stop cleanly and start again on the same port with the same persistence."""
        self.stop()
        self._start_once()

    def log_text(self) -> str:
        """Everything the broker logged so far (all runs)."""
        return read_log(self.log_path)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _pick_new_port(self) -> None:
        self.port = free_port()

    def _start_once(self) -> None:
        self.config_path.write_text(self._config_text())
        self._process.start()
        self._process.wait_ready(self._ready, self.startup_timeout, "accept MQTT connections")

    def _ready(self) -> bool:
        started = _READY_MARKER in read_log(self.log_path, self._process.log_offset)
        return started and port_answers(self.host, self.port)

    def _config_text(self) -> str:
        lines = [
            "# Generated by tests/services/mosquitto.py",
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            "persistence true",
            f"persistence_location {self.workdir}/",
            "persistence_file mosquitto.db",
            "log_dest stderr",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            *[f"log_type {kind}" for kind in (("all",) if self.verbose else _LOG_TYPES)],
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto 2 switches to user "mosquitto"
        if self.users:
            lines.append(f"password_file {self._passwd_path}")
        if self.acl is not None:
            lines.append(f"acl_file {self._acl_path}")
        return "\n".join([*lines, self.extra_config]) + "\n"

    @property
    def _passwd_path(self) -> Path:
        return self.workdir / "passwd"

    @property
    def _acl_path(self) -> Path:
        return self.workdir / "acl"

    def _write_auth_files(self) -> None:
        if self.acl is not None:
            self._acl_path.write_text(self.acl)
        if self.users:
            write_password_file(self._passwd_path, self.users, self._passwd_binary)


def write_password_file(path: Path, users: Mapping[str, str], passwd_binary: str) -> None:
    """Write ``name:password`` lines and hash them in place with ``mosquitto_passwd -U``."""
    for name, password in users.items():
        _check_acl_name(name)
        if "\n" in password or "\r" in password:
            raise ValueError(f"the password of {name!r} contains a line break")
    path.write_text("".join(f"{name}:{password}\n" for name, password in users.items()))
    path.chmod(0o600)
    _run_checked([passwd_binary, "-U", str(path)])


def _run_checked(argv: Sequence[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise ServiceStartError(
            f"{' '.join(argv)} failed with status {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
