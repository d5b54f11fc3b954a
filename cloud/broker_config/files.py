"""Writing the broker's files: atomically, 0600, owned by the broker's account, one writer at once.

Each file is written to a temporary file in the same folder (created 0600 from the start, so
there is no moment when it is readable by others), flushed to disk, given to the broker's account,
then renamed over the old one, and the folder is flushed too. A broker reloading at any moment
reads either the old file or the new one, never half of one.

Runs of ``broker-config`` (and of the commands that regenerate, such as ``gateway revoke``) take
an exclusive lock on ``<out>/.broker-config.lock`` for the whole read-registry → write → reload,
so that two revocations at once cannot end with the older snapshot written last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from cloud.errors import BrokerSettingsError

FILE_MODE = 0o600
DIR_MODE = 0o750
DATA_DIR_MODE = 0o700
LOCK_NAME = ".broker-config.lock"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` (created if missing) until the block ends."""
    ensure_dir(folder, DIR_MODE, None)
    descriptor = _open_or_fail(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def ensure_dir(folder: Path, mode: int, owner: str | None) -> None:
    """Create ``folder`` with ``mode`` if missing, and give it to ``owner`` when it is another
    account than ours; an existing folder keeps its mode."""
    try:
        folder.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as error:
        raise BrokerSettingsError(
            str(folder), f"cannot create the folder ({error.strerror})"
        ) from None
    if not folder.is_dir():
        raise BrokerSettingsError(str(folder), "is not a folder")
    ids = _foreign_owner(owner)
    if ids is not None:
        _give(lambda: os.chown(folder, *ids), owner)


def write_atomic(path: Path, text: str, owner: str | None) -> None:
    """Replace ``path`` with ``text`` (mode 0600, owned by ``owner``) in one rename."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = _open_or_fail(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), FILE_MODE)  # whatever the umask did
            ids = _foreign_owner(owner)
            if ids is not None:
                fileno = handle.fileno()
                _give(lambda: os.fchown(fileno, *ids), owner)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _open_or_fail(path: Path, flags: int, mode: int) -> int:
    try:
        return os.open(path, flags | os.O_CLOEXEC, mode)
    except OSError as error:
        raise BrokerSettingsError(str(path), f"cannot write ({error.strerror})") from None


def _give(chown: Callable[[], None], owner: str | None) -> None:
    try:
        chown()
    except PermissionError:
        raise BrokerSettingsError(
            "--broker-user", f"only root can give the files to {owner!r}: run as root or {owner}"
        ) from None


def _foreign_owner(owner: str | None) -> tuple[int, int] | None:
    """``(uid, gid)`` of ``owner`` when it is not the account running this, else ``None``."""
    if owner is None:
        return None
    try:
        account = pwd.getpwnam(owner)
    except KeyError:
        raise BrokerSettingsError("--broker-user", f"there is no user {owner!r} here") from None
    if account.pw_uid == os.geteuid():
        return None
    return account.pw_uid, account.pw_gid


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
