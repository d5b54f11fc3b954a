"""Authentication failures per client, in process memory, bounded.

A client is an IPv4 address, or the /64 network of an IPv6 address (one subscriber usually holds
a whole /64, so counting single IPv6 addresses would limit nothing). ``request.client`` is the
peer address: behind a reverse proxy, run uvicorn with ``--forwarded-allow-ips`` set to the
proxy's address so the peer is the real client.

A client that made ``limit`` failures within the last ``window_s`` seconds is refused (429 with
``Retry-After``) *before* its credentials are checked, until the oldest of those failures leaves
the window: a blocked client learns nothing about the tokens it tries. Successes do not clear
failures. Each client keeps at most ``limit`` timestamps, and at most ``max_clients`` clients are
remembered; when full, the client whose last failure is oldest is forgotten first (an attacker
rotating through more addresses than that can push out its own records, never memory).

One instance per app, used from the event loop only: no lock.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections import OrderedDict, deque

UNKNOWN_CLIENT = "unknown"


class FailureLimiter:
    def __init__(self, limit: int, window_s: float, max_clients: int) -> None:
        if limit < 1 or window_s <= 0 or max_clients < 1:
            raise ValueError("limit, window_s and max_clients must be positive")
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        """Clients remembered now."""
        return len(self._failures)

    def retry_after(self, client: str, now: float) -> int | None:
        """Whole seconds until ``client`` may try again, or ``None`` when it may try now."""
        times = self._failures.get(client)
        if times is None or len(times) < self.limit:
            return None
        wait = times[0] + self.window_s - now
        return math.ceil(wait) if wait > 0 else None

    def record_failure(self, client: str, now: float) -> None:
        times = self._failures.get(client)
        if times is None:
            while len(self._failures) >= self.max_clients:
                self._failures.popitem(last=False)
            times = self._failures[client] = deque(maxlen=self.limit)
        else:
            self._failures.move_to_end(client)
        times.append(now)


@functools.lru_cache(maxsize=4096)
def client_key(host: str | None) -> str:
    """The key a peer address is counted under (module doc); cached, it runs on every request."""
    if not host:
        return UNKNOWN_CLIENT
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
