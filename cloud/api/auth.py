"""Bearer tokens and scopes for the operator API.

``Authorization: Bearer eclor_<id>_<secret>`` is checked by the registry
(:func:`cloud.registry.verify_token`) on every request. Scope matrix (a token needs one of the
scopes of its row):

=========================================  ===========================  =========================
routes                                     what                         scopes
=========================================  ===========================  =========================
``GET /api/v1/…``                          gateways, devices, latest    technician, energy-manager,
                                           readings, energy per day     admin
``POST /api/v1/gateways``,                 register gateways and        admin
``POST /api/v1/gateways/{id}/devices``     devices
``/healthz``, ``/metrics``, ``/docs``,     service endpoints            none (no token asked)
``/openapi.json``
=========================================  ===========================  =========================

A ``public`` token opens nothing here (it is for the public API).

Refusals: no token → 401 ``WWW-Authenticate: Bearer realm="eclor"``; a malformed, unknown,
wrong, expired or revoked token → 401 with ``error="invalid_token"`` (all alike, so a caller
cannot tell which); a valid token without the scope → 403 with ``error="insufficient_scope"``
and the scopes that would do. Every 401 for a *presented* token counts as a failure for the
client's address (:mod:`cloud.api.ratelimit`); past the limit → 429 with ``Retry-After``.
Tokens are never logged; the token id (the public part) is kept in ``request.state.token_id``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloud.api.deps import ApiContext, Ctx
from cloud.api.problems import FORBIDDEN, RATE_LIMITED, UNAUTHORIZED, ApiProblem
from cloud.api.ratelimit import client_key
from cloud.registry.models import Scope
from cloud.registry.tokens import TokenGrant, verify_token

REALM = "eclor"
READ_SCOPES = frozenset({Scope.TECHNICIAN, Scope.ENERGY_MANAGER, Scope.ADMIN})
ADMIN_SCOPES = frozenset({Scope.ADMIN})
MAX_TOKEN_LENGTH = 200
"""Longer credentials are refused without a database lookup."""

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token: `eclor_<id>_<secret>`. Scopes per route in each description.",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's public id, name and scopes."""

    token_id: str
    name: str
    scopes: frozenset[Scope]


def require_scope(allowed: frozenset[Scope]) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits a token holding one of ``allowed`` (module doc)."""

    async def authenticate(
        request: Request,
        ctx: Ctx,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        grant = await _grant(request, ctx)
        if not grant.scopes & allowed:
            ctx.metrics.auth_refusals.labels("forbidden").inc()
            needed = " ".join(sorted(s.value for s in allowed))
            raise ApiProblem(
                FORBIDDEN,
                f"this token's scopes do not include any of: {needed}",
                headers={
                    "WWW-Authenticate": (
                        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{needed}"'
                    )
                },
            )
        request.state.token_id = grant.token_id
        return Principal(grant.token_id, grant.name, grant.scopes)

    return authenticate


async def _grant(request: Request, ctx: ApiContext) -> TokenGrant:
    client = client_key(request.client.host if request.client else None)
    now = ctx.clock.monotonic()
    wait = ctx.limiter.retry_after(client, now)
    if wait is not None:
        ctx.metrics.auth_refusals.labels("rate_limited").inc()
        raise ApiProblem(
            RATE_LIMITED,
            f"too many failed authentications from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    header = request.headers.get("authorization")
    if header is None:
        ctx.metrics.auth_refusals.labels("missing").inc()
        raise ApiProblem(
            UNAUTHORIZED,
            "send an API token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
        )
    token = _bearer_token(header)
    grant = None
    if token is not None:
        grant = await ctx.in_registry(lambda s: verify_token(s, token, now=ctx.clock.now()))
    if grant is None:
        ctx.limiter.record_failure(client, now)
        ctx.metrics.limited_clients.set(len(ctx.limiter))
        ctx.metrics.auth_refusals.labels("invalid").inc()
        raise ApiProblem(
            UNAUTHORIZED,
            "the token is malformed, unknown, expired or revoked",
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
        )
    return grant


def _bearer_token(header: str) -> str | None:
    """The token of ``Bearer <token>`` (scheme case-insensitive), else ``None``."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token
