"""Two linked pseudo-terminals, in-process: the simulator's stand-in for an RS-485 line.

What is written to one end is read from the other, like ``socat pty,raw,echo=0 pty,raw,echo=0``
but without the external tool: the event loop copies bytes between the two pty masters. The
simulated devices open :attr:`PtyPair.device_side`, the gateway (or a test's pymodbus client)
opens :attr:`PtyPair.master_side`; both are ordinary serial device paths (``/dev/pts/N``).
Both slave sides are set raw and kept open here, so no echo or line editing ever touches a frame
and the pty does not hang up when a client closes and reopens its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty


class PtyPair:
    """A running relay; :meth:`close` stops it and releases all four descriptors."""

    def __init__(self) -> None:
        self._masters: list[int] = []
        self._slaves: list[int] = []
        self._paths: list[str] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._masters.append(master)
            self._slaves.append(slave)
            self._paths.append(os.ttyname(slave))
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def device_side(self) -> str:
        return self._paths[0]

    @property
    def master_side(self) -> str:
        return self._paths[1]

    def start(self) -> None:
        """Start copying, on the running event loop."""
        self._loop = asyncio.get_running_loop()
        a, b = self._masters
        self._loop.add_reader(a, self._copy, a, b)
        self._loop.add_reader(b, self._copy, b, a)

    def _copy(self, source: int, target: int) -> None:
        try:
            data = os.read(source, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: nobody has the slave open; nothing to forward
            return
        with contextlib.suppress(BlockingIOError):
            os.write(target, data)

    def close(self) -> None:
        if self._loop is not None:
            for master in self._masters:
                self._loop.remove_reader(master)
            self._loop = None
        for fd in [*self._masters, *self._slaves]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._masters, self._slaves = [], []
