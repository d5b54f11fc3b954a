"""Telling Mosquitto to reload: SIGHUP to its process, found by pid file or by name.

On SIGHUP Mosquitto 2.0 reads its config, password file and ACL again (listeners are not
changed: a new port or certificate needs a restart) and checks every connected client against
them: a client whose user is gone from the password file, or whose password no longer matches
(a rotated password), is disconnected at once, and its reconnection is refused. Checked against
the real broker in ``tests/integration/test_broker_config.py``.

SIGHUP ends most programs, so the target is checked first: a pid file naming a process that is
not ``mosquitto`` (a stale file whose pid was reused) is an error, not a signal.
``--reload-pid-of NAME`` picks, among the processes named NAME, those whose command line names
the generated ``mosquitto.conf``; when none does (the broker includes our file from its own
config), the only process named NAME; several is an error, never a broadcast.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from cloud.errors import ReloadError

BROKER_NAME = "mosquitto"
PROC = Path("/proc")
_COMM_LENGTH = 15  # the kernel truncates /proc/<pid>/comm to 15 characters


def pid_from_file(path: Path) -> int:
    """The pid written in ``path``; :class:`ReloadError` when missing or not a pid."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ReloadError(f"pid file {path} does not exist (is the broker running?)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReloadError(f"pid file {path}: cannot read ({error})") from None
    if not text.isdigit() or int(text) == 0:
        raise ReloadError(f"pid file {path} does not hold a process id")
    return int(text)


def pids_named(name: str, conf: Path | None = None) -> list[int]:
    """Live processes called ``name``; only those started with ``conf`` when there are any."""
    named = [pid for pid in _all_pids() if _comm(pid) == name[:_COMM_LENGTH] and _args(pid)]
    if conf is None:
        return named
    target = os.path.realpath(conf)
    running_it = [pid for pid in named if target in _arg_paths(pid)]
    return running_it or named


def reload_pid_file(path: Path, expect: str = BROKER_NAME) -> int:
    """SIGHUP the process named in the pid file ``path``, after checking it is ``expect``."""
    pid = pid_from_file(path)
    comm = _comm(pid)
    if comm is None:
        raise ReloadError(f"pid file {path}: no process {pid} (stale pid file?)")
    if comm != expect[:_COMM_LENGTH]:
        raise ReloadError(f"pid file {path}: process {pid} is {comm!r}, not {expect!r}")
    return send_sighup(pid)


def reload_by_name(name: str, conf: Path | None = None) -> int:
    """SIGHUP the one process :func:`pids_named` finds; :class:`ReloadError` for none or several."""
    found = pids_named(name, conf)
    if not found:
        raise ReloadError(f"no running process named {name!r}")
    if len(found) > 1:
        listed = ", ".join(map(str, sorted(found)))
        which = f" and none runs {conf}" if conf is not None else ""
        raise ReloadError(
            f"{len(found)} processes named {name!r} (pids {listed}){which}: "
            "name one with --reload-pid PIDFILE"
        )
    return send_sighup(found[0])


def send_sighup(pid: int) -> int:
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ReloadError(f"process {pid} has gone") from None
    except PermissionError:
        raise ReloadError(
            f"not allowed to signal process {pid} (run as its user or root)"
        ) from None
    return pid


def _all_pids() -> list[int]:
    try:
        return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError as error:
        raise ReloadError(f"cannot list processes in {PROC}: {error.strerror}") from None


def _comm(pid: int) -> str | None:
    try:
        return (PROC / str(pid) / "comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _args(pid: int) -> list[str]:
    """The command line; empty for zombies and kernel threads."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode("utf-8", errors="replace") for arg in raw.split(b"\0") if arg]


def _arg_paths(pid: int) -> set[str]:
    """Each argument as a real path (relative ones against the process's working folder)."""
    try:
        cwd = os.readlink(PROC / str(pid) / "cwd")
    except OSError:
        cwd = "/"
    return {os.path.realpath(os.path.join(cwd, arg)) for arg in _args(pid)}
