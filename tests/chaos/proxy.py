"""A loopback TCP proxy between one edge agent and the broker that can cut the link.

Why a proxy and not ``ip netns`` + veth: it needs no root, runs the same on a laptop and in CI,
and cuts exactly one agent's link while the others and the ingest keep theirs. What an agent
sees is what a cut cable or a dead 4G modem gives it: established connections drop (reset) and
new ones are refused until :meth:`LinkProxy.heal`. ``delay_s`` adds latency to every chunk
forwarded, in both directions.

Every proxy runs on one event loop in a daemon thread (:class:`ProxyLoop`), so the chaos
orchestrator can stay synchronous and block on process starts without freezing the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_CHUNK = 65536


class ProxyLoop:
    """An asyncio loop in a daemon thread; :meth:`call` runs a coroutine on it and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="chaos-proxy")
        self._thread.daemon = True
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


class LinkProxy:
    """Listens on a free loopback port and forwards to ``127.0.0.1:target_port``."""

    def __init__(self, loop: ProxyLoop, target_port: int, delay_s: float = 0.0) -> None:
        self._loop = loop
        self.target_port = target_port
        self.delay_s = delay_s
        self.is_cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server = loop.call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self._loop.call(self._cut())

    def heal(self) -> None:
        self.is_cut = False

    def close(self) -> None:
        self._loop.call(self._close())

    async def _cut(self) -> None:
        self.is_cut = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _close(self) -> None:
        await self._cut()
        self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()  # the broker is down: the agent sees a refused link
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for each in (writer, up_writer):
                self._writers.discard(each)
                each.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(_CHUNK):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if self.is_cut or writer.transport.is_closing():
                    break
                writer.write(chunk)
                await writer.drain()
        writer.transport.abort()  # one side gone: take the other down, as TCP through a NAT
