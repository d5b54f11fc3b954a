"""What a serve_* function returns: where the server listens, and how to stop it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

ServerKind = Literal["tcp", "rtu", "rtu-over-tcp"]


class ServerHandle:
    """A running simulated Modbus server.

    ``port`` is the bound TCP port (useful after asking for port 0) or, for a serial server,
    the serial device path; ``host`` is the bound address or the same path.
    """

    def __init__(
        self, kind: ServerKind, host: str, port: int | str, stop: Callable[[], Awaitable[None]]
    ) -> None:
        self.kind: ServerKind = kind
        self.host = host
        self.port = port
        self._stop = stop
        self._stopped = False

    def __repr__(self) -> str:
        return f"<ServerHandle {self.kind} {self.host}:{self.port}>"

    async def stop(self) -> None:
        """Stop listening, drop open connections and release the port. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        await self._stop()

    async def __aenter__(self) -> ServerHandle:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
