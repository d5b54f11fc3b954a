"""Public answers: the app's window cache, and JSON with ETag/304 and a public Cache-Control
that lasts until the data's next refresh."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cloud.api.caching import etag_matches
from cloud.api.deps import ApiContext, app_context
from cloud.api.paging import MAX_CURSOR_LENGTH
from cloud.api.problems import invalid_param
from cloud.api.public_limits import check_public_limit
from cloud.public.settings import PublicSettings
from cloud.public.ttl import Cached, Computed, WindowCache, window_of

PUBLIC_MARK = {"x-eclor-public": True}
"""The OpenAPI extension of a tokenless operation (tests/integration/test_api_auth_walk.py)."""


def public_context(request: Request) -> ApiContext:
    """The app's context, with one public GET charged to the client (429 when over its limit).

    Called in the handler rather than declared as dependencies: FastAPI's dependency solving
    costs these cached answers more than everything else they do.
    """
    ctx = app_context(request)
    check_public_limit(request, ctx, "get")
    return ctx


PAGING_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Items per page (default 50, at most 200)",
        "schema": {"type": "integer", "minimum": 1},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The cursor of a `next` link",
        "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
    },
]
"""``limit`` and ``cursor`` as documented; :func:`paging_params` reads them."""


def paging_params(request: Request) -> tuple[int | None, str | None]:
    """``limit`` and ``cursor`` read and checked here rather than declared to FastAPI: its
    parameter machinery is the largest cost of a cached public answer (docs/public-api.md)."""
    query = request.query_params
    raw_limit, cursor = query.get("limit"), query.get("cursor")
    limit = None
    if raw_limit is not None:
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise invalid_param("query", "limit", "a whole number of at least 1")
        limit = int(raw_limit)
    if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid_param("query", "cursor", f"at most {MAX_CURSOR_LENGTH} characters")
    return limit, cursor


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
