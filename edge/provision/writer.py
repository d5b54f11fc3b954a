"""Writing the gateway config and its MQTT password, so that a failure never leaves half a file.

- Every file is written to a temporary file in the same folder, flushed to disk, then renamed over
  the target (atomic on POSIX), and the folder is synced.
- The config is validated by :func:`edge.config.load_gateway_config` (profiles, references, the
  password file) *from its temporary file*; only a config that loads replaces the working one.
- The previous config is copied to ``<name>.<UTC time>.bak`` first (comments live on there: the
  new file is written from the validated model).
- The password file is created with mode 0600 from the start (never readable by others, not even
  for an instant); its content is never printed or logged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from eclor.config import read_yaml, validate
from eclor.errors import ConfigError
from edge.config import GatewayConfig, LoadedConfig, load_gateway_config
from edge.errors import ConfigWriteError

SECRET_MODE = 0o600


def read_existing(path: Path) -> GatewayConfig | None:
    """The config already at ``path`` as written (paths unresolved), or ``None``.

    One that does not validate is refused rather than silently replaced."""
    if not path.exists():
        return None
    try:
        return validate(GatewayConfig, read_yaml(path), str(path))
    except ConfigError as exc:
        raise ConfigWriteError(
            str(path), f"the existing config is not valid ({exc}); fix it or move it away first"
        ) from None


def check_draft(path: Path, document: dict[str, Any]) -> None:
    """Validate ``document`` as the config at ``path`` without its password file (not written
    yet), before the enrolment token is spent."""
    draft = {**document, "broker": {**document["broker"], "password_file": None}}
    with _temporary(path, _yaml(draft, "draft")) as temp:
        _load(temp, path)


def install_config(path: Path, document: dict[str, Any], header: str) -> tuple[Path | None, Path]:
    """Validate and install the config; returns (backup of the old one or ``None``, path)."""
    with _temporary(path, _yaml(document, header)) as temp:
        _load(temp, path)
        backup = backup_file(path)
        os.replace(temp, path)
    _sync_folder(path.parent)
    return backup, path


def backup_file(path: Path) -> Path | None:
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.{stamp}-{n}.bak")
    shutil.copy2(path, backup)
    return backup


def write_secret(path: Path, secret: str) -> None:
    """Replace the password file atomically, mode 0600 from creation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        os.fchmod(fd, SECRET_MODE)  # whatever the umask
        os.write(fd, (secret + "\n").encode())
        os.fsync(fd)
    except OSError:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temp, path)
    _sync_folder(path.parent)


def _yaml(document: dict[str, Any], header: str) -> str:
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return comment + body


@contextlib.contextmanager
def _temporary(target: Path, text: str) -> Iterator[Path]:
    """``text`` in a temporary file next to ``target`` (same folder: same relative paths)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def _load(temp: Path, shown_as: Path) -> LoadedConfig:
    try:
        return load_gateway_config(temp)
    except ConfigError as exc:
        reason = f"{exc.key or '<root>'} = {exc.value!r}: {exc.reason}"
        raise ConfigWriteError(
            str(shown_as), f"the new config does not validate: {reason}"
        ) from None


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
