"""From the registry to the broker: write ``passwd``, ``acl`` and ``mosquitto.conf``, then reload.

Two entry points, both under the folder's lock (:mod:`.files`):

- :func:`generate` writes all three files from :class:`~.conf.BrokerSettings` (``eclor cloud
  broker-config``);
- :func:`refresh_credentials` rewrites only ``passwd`` and ``acl`` in a folder that
  :func:`generate` made, keeping its ``mosquitto.conf`` (and so its listeners and broker user):
  what ``gateway revoke --broker-dir`` and the account commands run after changing the registry.

The password file and the ACL are written before the config that names them, and each by
rename, so a broker that reloads half-way through sees a consistent pair at worst one change old.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cloud.broker_config.acl import render_acl
from cloud.broker_config.conf import (
    ACL_NAME,
    CONF_NAME,
    HEADER,
    PASSWD_NAME,
    BrokerSettings,
    broker_user_of,
    check_settings,
    render_conf,
)
from cloud.broker_config.files import DATA_DIR_MODE, DIR_MODE, ensure_dir, locked, write_atomic
from cloud.broker_config.passwd import render_passwd
from cloud.broker_config.reload import reload_by_name, reload_pid_file
from cloud.broker_config.snapshot import RegistrySnapshot, Skipped, read_registry
from cloud.errors import BrokerSettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reload:
    """How to find the broker to SIGHUP: its pid file, or its process name."""

    pid_file: Path | None = None
    process_name: str | None = None

    def __post_init__(self) -> None:
        if (self.pid_file is None) == (self.process_name is None):
            raise BrokerSettingsError(
                "--reload-pid/--reload-pid-of", "give exactly one way to find the broker"
            )


@dataclass(frozen=True)
class Outcome:
    """What was written, who was left out, and the pid that was sent SIGHUP."""

    folder: Path
    conf_written: bool
    gateways: int
    service_accounts: int
    skipped: tuple[Skipped, ...]
    reloaded_pid: int | None


def generate(
    sessions: sessionmaker[Session], settings: BrokerSettings, reload: Reload | None = None
) -> Outcome:
    """Check ``settings``, write the three files from the registry, reload when asked."""
    checked = check_settings(settings)
    owner = broker_user_of(checked)
    with locked(checked.out_dir):
        ensure_dir(checked.out_dir, DIR_MODE, owner)
        ensure_dir(checked.persistence_dir, DATA_DIR_MODE, owner)
        snapshot = _snapshot(sessions)
        _write_credentials(checked.out_dir, snapshot, owner)
        write_atomic(checked.conf_path, render_conf(checked), owner)
        pid = _reload(reload, checked.conf_path)
    return _outcome(checked.out_dir, True, snapshot, pid)


def refresh_credentials(
    sessions: sessionmaker[Session], folder: Path, reload: Reload | None = None
) -> Outcome:
    """Rewrite ``passwd`` and ``acl`` in ``folder`` (made by :func:`generate`) and reload."""
    folder = folder.absolute()
    owner = generated_broker_user(folder)
    with locked(folder):
        snapshot = _snapshot(sessions)
        _write_credentials(folder, snapshot, owner)
        pid = _reload(reload, folder / CONF_NAME)
    return _outcome(folder, False, snapshot, pid)


def generated_broker_user(folder: Path) -> str:
    """The ``user`` of the ``mosquitto.conf`` that :func:`generate` wrote in ``folder``;
    :class:`BrokerSettingsError` when there is none (not a broker-config folder)."""
    conf = folder / CONF_NAME
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BrokerSettingsError(
            "--broker-dir", f"{conf}: cannot read ({error.strerror}); run broker-config first"
        ) from None
    expected = {f"password_file {folder / PASSWD_NAME}", f"acl_file {folder / ACL_NAME}"}
    if not lines or lines[0] != HEADER or not expected <= set(lines):
        raise BrokerSettingsError(
            "--broker-dir", f"{conf} was not written by broker-config for this folder"
        )
    users = [line.removeprefix("user ") for line in lines if line.startswith("user ")]
    if len(users) != 1:
        raise BrokerSettingsError("--broker-dir", f"{conf} has no single 'user' line")
    return users[0]


def _snapshot(sessions: sessionmaker[Session]) -> RegistrySnapshot:
    with sessions() as session:
        return read_registry(session)


def _write_credentials(folder: Path, snapshot: RegistrySnapshot, owner: str) -> None:
    passwd = render_passwd(snapshot.users)  # both rendered (and checked) before either is written
    acl = render_acl(snapshot.services)
    write_atomic(folder / PASSWD_NAME, passwd, owner)
    write_atomic(folder / ACL_NAME, acl, owner)


def _reload(reload: Reload | None, conf: Path) -> int | None:
    if reload is None:
        return None
    if reload.pid_file is not None:
        pid = reload_pid_file(reload.pid_file)
    else:
        assert reload.process_name is not None
        pid = reload_by_name(reload.process_name, conf)
    log.info("sent SIGHUP to the broker (pid %d) to reload %s", pid, conf)
    return pid


def _outcome(folder: Path, conf: bool, snapshot: RegistrySnapshot, pid: int | None) -> Outcome:
    services = sum(1 for user in snapshot.users if user.kind == "service account")
    log.info(
        "broker files in %s: %d gateways, %d service accounts, %d gateways left out",
        folder,
        snapshot.gateway_count,
        services,
        len(snapshot.skipped),
    )
    return Outcome(folder, conf, snapshot.gateway_count, services, snapshot.skipped, pid)
