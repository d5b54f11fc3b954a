"""Public answers: the app's window cache, and JSON with ETag/304 and a public Cache-Control
that lasts until the data's next refresh."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from cloud.api.caching import etag_matches
from cloud.public.settings import PublicSettings
from cloud.public.ttl import Cached, Computed, WindowCache, window_of

PUBLIC_MARK = {"x-eclor-public": True}
"""The OpenAPI extension of a tokenless operation (tests/integration/test_api_auth_walk.py)."""


def settings_of(request: Request) -> PublicSettings:
    """The app's public settings (``app.state.public_settings``, defaults when unset)."""
    settings: PublicSettings | None = getattr(request.app.state, "public_settings", None)
    if settings is None:
        settings = request.app.state.public_settings = PublicSettings()
    return settings


def cache_of(request: Request) -> WindowCache:
    """The app's :class:`WindowCache`, made on first use."""
    cache: WindowCache | None = getattr(request.app.state, "public_cache", None)
    if cache is None:
        cache = WindowCache(settings_of(request).cache_entries)
        request.app.state.public_cache = cache
    return cache


async def cached_answer(
    request: Request,
    key: Hashable,
    now: datetime,
    refresh_s: int,
    compute: Callable[[], Awaitable[Computed]],
) -> tuple[Cached, int]:
    """The answer for ``key`` in the current window of ``refresh_s``, and the seconds it stays
    fresh (until the window ends)."""
    epoch_s = now.timestamp()
    cached = await cache_of(request).get(key, window_of(epoch_s, refresh_s), compute)
    left = max(1, int(refresh_s - epoch_s % refresh_s))
    return cached, left


def public_json(
    request: Request,
    cached: Cached,
    max_age_s: int,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The cached bytes with their ETag, or a bodiless 304 when the client has them."""
    sent = {
        **cached.headers,
        **(headers or {}),
        "ETag": cached.etag,
        "Cache-Control": f"public, max-age={max_age_s}",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    if etag_matches(request.headers.get("if-none-match"), cached.etag):
        return Response(status_code=304, headers=sent)
    return Response(cached.body, media_type=media_type, headers=sent)
