"""A pair of connected pseudo-terminals, the test stand-in for an RS-485 line.

``socat`` links two ptys back to back: what is written to one end is read from the other, with
termios settings (baud rate, parity) accepted as on a real serial port. One end goes to the
simulated devices, the other to the master under test (pymodbus, mbpoll, the edge agent)::

    with socat_pty_pair() as pair:
        server = await serve_rtu(devices, pair.device_side)
        client = AsyncModbusSerialClient(pair.master_side, ...)

or, in a test, the ``pty_pair`` fixture (import it into the test module). A missing ``socat`` is
an error naming the Debian package, never a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

STARTUP_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0


class SocatMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "socat is not installed: the serial-line tests need it "
            "(Debian/Ubuntu: apt-get install socat)"
        )


@dataclass(frozen=True)
class PtyPair:
    """The two ends; any end works for either role, the names only say which is used how."""

    master_side: str
    device_side: str


@contextmanager
def socat_pty_pair(timeout_s: float = STARTUP_TIMEOUT_S) -> Iterator[PtyPair]:
    """Start ``socat`` with two linked ptys in a temporary folder; stop it on exit."""
    socat = shutil.which("socat")
    if socat is None:
        raise SocatMissing()
    with tempfile.TemporaryDirectory(prefix="eclor-pty-") as folder:
        a, b = Path(folder) / "A", Path(folder) / "B"
        command = [socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"]
        log = (Path(folder) / "socat.log").open("w+b")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_for_links(process, (a, b), timeout_s, log)
            yield PtyPair(master_side=str(a), device_side=str(b))
        finally:
            _stop(process)
            log.close()


def _wait_for_links(
    process: subprocess.Popen[bytes], links: tuple[Path, Path], timeout_s: float, log: BinaryIO
) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(link.exists() for link in links):
        if process.poll() is not None:
            raise RuntimeError(f"socat exited with {process.returncode}: {_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"socat made no ptys within {timeout_s} s: {_tail(log)}")
        time.sleep(0.01)


def _tail(log: BinaryIO) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-500:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    """A fresh pty pair for one test."""
    with socat_pty_pair() as pair:
        yield pair
