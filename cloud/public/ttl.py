"""A small in-process cache of computed public answers, one per refresh window.

An answer is keyed by what identifies it (route and parameters) and by its refresh window: the
injected clock's time divided by the window's length. Within a window every request gets the
same bytes and ETag without touching the store or the registry; the first request of a new window
computes it again. Concurrent requests for an answer being computed wait for that one computation
(no stampede on the store when a window turns). At most ``max_entries`` answers are kept; the
least recently computed goes first.

One cache per app, used from the event loop only: no lock beyond the in-flight futures.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field

from cloud.api.caching import etag_of


@dataclass(frozen=True, slots=True)
class Cached:
    """A serialised answer, its ETag and the headers that go with it (a ``Link``)."""

    body: bytes
    etag: str
    headers: Mapping[str, str] = field(default_factory=dict)


Computed = tuple[bytes, Mapping[str, str]]
"""What a computation gives: the body and its extra headers."""


class WindowCache:
    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, asyncio.Future[Cached]]] = OrderedDict()
        self.computed = 0
        """How many answers were computed (not served from the cache): for tests and metrics."""

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self, key: Hashable, window: int, compute: Callable[[], Awaitable[Computed]]
    ) -> Cached:
        """The answer for ``key`` in ``window``, computed by ``compute`` when not cached.

        A computation that fails is not cached: the next request tries again.
        """
        entry = self._entries.get(key)
        if entry is not None and entry[0] == window:
            return await asyncio.shield(entry[1])
        future: asyncio.Future[Cached] = asyncio.get_running_loop().create_future()
        self._entries[key] = (window, future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        try:
            body, headers = await compute()
        except BaseException as error:
            if self._entries.get(key, (None, None))[1] is future:
                del self._entries[key]
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody is warned about it
            raise
        self.computed += 1
        cached = Cached(body, etag_of(body), dict(headers))
        future.set_result(cached)
        return cached


def window_of(epoch_s: float, length_s: int) -> int:
    """The index of the refresh window of ``length_s`` seconds holding ``epoch_s``."""
    return int(epoch_s // length_s)
