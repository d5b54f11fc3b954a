"""Rate limits of the public (tokenless) API: a token bucket per client and per kind of call.

Each client (:func:`cloud.api.ratelimit.client_key`: an IPv4 address or an IPv6 /64) has one
bucket per kind (``"post"`` for what residents submit, ``"get"`` for what they read). A bucket
holds at most ``burst`` tokens and refills at ``rate_per_s``; each call takes one. An empty bucket
answers 429 (problem details, kind ``public-rate-limited``) with ``Retry-After``: the whole seconds
until one token is back. At most ``max_clients`` clients are remembered per kind; when full, the
least recently seen is forgotten first (a forgotten client starts again with a full bucket, so
memory stays bounded whatever an attacker does).

Use in a route (one instance per app, kept in ``app.state``, built from :class:`ApiSettings`)::

    from cloud.api.public_limits import PublicGet, PublicPost

    @router.get("/api/v1/things", openapi_extra=PUBLIC)
    async def things(request: Request, ctx: Ctx, _: PublicGet) -> Response: ...

Settings (:class:`cloud.api.deps.ApiSettings`): ``public_post_per_min`` / ``public_post_burst``,
``public_get_per_s`` / ``public_get_burst``, ``public_tracked_clients``. Times come from the
injected clock's ``monotonic()``, so tests drive the refill with a :class:`ManualClock`.

One limiter per app, used from the event loop only: no lock.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from cloud.api.deps import ApiContext, Ctx
from cloud.api.problems import ApiProblem, ProblemKind
from cloud.api.ratelimit import client_key

PUBLIC_RATE_LIMITED = ProblemKind("public-rate-limited", 429, "Too many requests")
LimitKind = Literal["post", "get"]


class TokenBucketLimiter:
    """Token buckets per client key, bounded in number (module doc)."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int) -> None:
        if rate_per_s <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate_per_s, burst and max_clients must be positive")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """client → (tokens left, monotonic time they were counted)."""

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str, now: float) -> int | None:
        """Take one token for ``client``: ``None`` when admitted, else the whole seconds to wait."""
        state = self._buckets.get(client)
        if state is None:
            while len(self._buckets) >= self.max_clients:
                self._buckets.popitem(last=False)
            tokens = float(self.burst)
        else:
            left, at = state
            tokens = min(float(self.burst), left + max(0.0, now - at) * self.rate_per_s)
            self._buckets.move_to_end(client)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            return None
        self._buckets[client] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate_per_s))


@dataclass(frozen=True, slots=True)
class PublicLimits:
    """The app's limiters, one per kind."""

    post: TokenBucketLimiter
    get: TokenBucketLimiter

    @classmethod
    def of(cls, ctx: ApiContext) -> PublicLimits:
        s = ctx.settings
        return cls(
            post=TokenBucketLimiter(
                s.public_post_per_min / 60.0, s.public_post_burst, s.public_tracked_clients
            ),
            get=TokenBucketLimiter(
                s.public_get_per_s, s.public_get_burst, s.public_tracked_clients
            ),
        )


def limits_of(request: Request, ctx: ApiContext) -> PublicLimits:
    """The app's :class:`PublicLimits`, made on first use."""
    limits: PublicLimits | None = getattr(request.app.state, "public_limits", None)
    if limits is None:
        limits = PublicLimits.of(ctx)
        request.app.state.public_limits = limits
    return limits


def check_public_limit(request: Request, ctx: ApiContext, kind: LimitKind) -> None:
    """Take a token of ``kind`` for the request's client, or raise the 429 problem."""
    limits = limits_of(request, ctx)
    limiter = limits.post if kind == "post" else limits.get
    client = client_key(request.client.host if request.client else None)
    wait = limiter.take(client, ctx.clock.monotonic())
    if wait is not None:
        raise ApiProblem(
            PUBLIC_RATE_LIMITED,
            f"too many requests from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def public_limit(kind: LimitKind) -> Callable[..., Awaitable[None]]:
    """A dependency that charges one ``kind`` call to the client (module doc)."""

    async def limited(request: Request, ctx: Ctx) -> None:
        check_public_limit(request, ctx, kind)

    return limited


PublicPost = Annotated[None, Depends(public_limit("post"))]
PublicGet = Annotated[None, Depends(public_limit("get"))]
