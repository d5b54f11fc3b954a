"""Name checks for the hot path of decoding telemetry.

msgspec checks a ``pattern`` by calling Python's ``re`` on every string, which made decoding a batch
five times slower than parsing it. Readings repeat the same few device ids, measurements and field
names, so here each distinct name is matched once and remembered, in a bounded set.
"""

from __future__ import annotations

import re

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$"
_CACHE_LIMIT = 8192


class NameChecker:
    """Remembers up to ``limit`` names that matched ``pattern``; forgets them all when full."""

    def __init__(self, pattern: str, limit: int = _CACHE_LIMIT) -> None:
        self._regex = re.compile(pattern)
        self.known: set[str] = set()
        """Names already matched; callers may test membership in bulk before calling ``ok``."""
        self._limit = limit
        self.pattern = pattern

    def ok(self, name: str) -> bool:
        if name in self.known:
            return True
        if self._regex.fullmatch(name) is None:
            return False
        if len(self.known) >= self._limit:
            self.known.clear()
        self.known.add(name)
        return True


NAMES = NameChecker(NAME_PATTERN)
DEVICE_IDS = NameChecker(DEVICE_ID_PATTERN)
