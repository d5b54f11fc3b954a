"""What every real-service launcher shares: free ports, binaries, child processes, readiness.

Plain Python, no pytest: benchmarks and the chaos suite import the launchers directly.

Exceptions::

    ServiceError                 anything that went wrong with a service we manage
    ├── MissingBinaryError       the server program is not installed; names the Debian package
    └── ServiceStartError        it did not become ready; the message ends with its log tail
        └── PortInUseError       it lost a race for its port (the launcher retries on a new one)

Orphans: every child is started through ``setpriv --pdeathsig`` when that is available, so the
kernel signals it when the thread that started it dies (even on SIGKILL of the test runner), and
an ``atexit`` hook stops whatever is still running at a normal interpreter exit. Start services
from a long-lived thread (the main thread in pytest): pdeathsig follows the starting thread.
Each server runs in its own process group: Ctrl-C at a terminal reaches only the test runner,
whose teardown stops the servers in order, and ``kill()`` SIGKILLs the whole group at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

LOOPBACK = "127.0.0.1"
"""Every service listens on the IPv4 loopback only."""

_CLASH_MARKER = "address already in use"
_SETPRIV = shutil.which("setpriv")


class ServiceError(RuntimeError):
    """A real service used by the tests could not be provided."""


class MissingBinaryError(ServiceError):
    """The server program is not installed; the message says which Debian package provides it."""

    def __init__(self, binary: str, package: str) -> None:
        super().__init__(
            f"{binary!r} was not found (looked on PATH and in the usual install folders). "
            f"Install it with: apt-get install {package}"
        )
        self.binary = binary
        self.package = package


class ServiceStartError(ServiceError):
    """The service exited or did not answer in time; the message ends with its log tail."""


class PortInUseError(ServiceStartError):
    """The service could not bind its port because something else took it first."""


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel considers free right now (bind to port 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_answers(host: str, port: int, timeout: float = 0.25) -> bool:
    """True when a TCP connection to host:port is accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_binary(name: str, package: str, search_dirs: Sequence[str | Path] = ()) -> str:
    """The absolute path of the program ``name``, or :class:`MissingBinaryError`.

    ``name`` may be a bare program name (looked up on PATH, then in ``search_dirs``) or a path.
    """
    if os.sep in name:
        if os.access(name, os.X_OK) and Path(name).is_file():
            return str(Path(name).resolve())
        raise MissingBinaryError(name, package)
    found = shutil.which(name)
    if found is None:
        extra = os.pathsep.join(str(d) for d in search_dirs)
        found = shutil.which(name, path=extra) if extra else None
    if found is None:
        raise MissingBinaryError(name, package)
    return found


def read_log(path: Path, start: int = 0) -> str:
    """The log file's text from byte offset ``start`` ("" when it does not exist yet)."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def log_tail(path: Path, lines: int = 40, start: int = 0) -> str:
    """The last ``lines`` lines of the log file, from byte offset ``start``."""
    text = read_log(path, start).rstrip()
    if not text:
        return f"(log {path} is empty)"
    return "\n".join(text.splitlines()[-lines:])


class ServiceProcess:
    """One server process whose stdout and stderr go to a log file.

    ``start`` launches it, ``wait_ready`` polls a probe until a deadline, ``stop`` sends the
    polite signal and escalates to SIGKILL, ``kill`` sends SIGKILL at once. The log is opened in
    append mode so it survives restarts; ``log_offset`` marks where the current run begins.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.log_offset = 0
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        if self._popen is None or self._popen.poll() is not None:
            return None
        return self._popen.pid

    @property
    def running(self) -> bool:
        """True while the process has not exited."""
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Launch the process (it must not be running)."""
        if self.running:
            raise ServiceError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.log_offset = log.tell()
            self._popen = self._spawn(log)
        _LIVE.add(self)

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        signame = self.stop_signal.name.removeprefix("SIG")
        argv = [_SETPRIV, "--pdeathsig", signame, "--", *self.argv] if _SETPRIV else self.argv
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            user=self.user,
            group=primary_group(self.user) if self.user is not None else None,
            extra_groups=[] if self.user is not None else None,
            process_group=0,  # its own group, so kill() takes its worker processes too
        )

    def wait_ready(self, probe: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``probe`` until it returns True; raise with the log tail if the process dies
        or the deadline passes (the process is then killed)."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_if_exited(what)
            if probe() and self.running:
                return
            if time.monotonic() >= deadline:
                self.kill()
                raise ServiceStartError(
                    f"{self.name} did not {what} within {timeout:g} s; "
                    f"log tail ({self.log_path}):\n{self.tail()}"
                )
            time.sleep(0.03)

    def _raise_if_exited(self, what: str) -> None:
        if self._popen is None or self._popen.poll() is None:
            return
        code = self._popen.returncode
        _LIVE.discard(self)
        text = read_log(self.log_path, self.log_offset)
        error = PortInUseError if _CLASH_MARKER in text.lower() else ServiceStartError
        raise error(
            f"{self.name} exited with status {code} before it could {what}; "
            f"log tail ({self.log_path}):\n{self.tail()}"
        )

    def tail(self, lines: int = 40) -> str:
        """The last lines this run wrote to the log."""
        return log_tail(self.log_path, lines, self.log_offset)

    def stop(self, timeout: float = 10.0) -> None:
        """Send the stop signal, wait up to ``timeout`` seconds, then SIGKILL. Idempotent."""
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                popen.send_signal(self.stop_signal)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL the process and everything in its process group (e.g. PostgreSQL's backends),
        then reap it: a crash, as far as the service can tell."""
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
        _LIVE.discard(self)


def primary_group(user: str) -> int:
    """The primary group id of an OS user (:class:`ServiceError` when there is no such user)."""
    try:
        return pwd.getpwnam(user).pw_gid
    except KeyError:
        raise ServiceError(f"there is no OS user {user!r}") from None


def start_with_port_retry(
    attempt: Callable[[], None], new_ports: Callable[[], None], attempts: int = 5
) -> None:
    """Run ``attempt``; on :class:`PortInUseError` call ``new_ports`` and try again."""
    for remaining in range(attempts - 1, -1, -1):
        try:
            attempt()
            return
        except PortInUseError:
            if remaining == 0:
                raise
            new_ports()


_LIVE: set[ServiceProcess] = set()


@atexit.register
def _stop_leftovers() -> None:
    for process in list(_LIVE):
        process.stop(timeout=5.0)
