"""``POST /api/v1/enrol``: a gateway enrols itself with a one-time enrolment token.

No bearer token: the enrolment token in the body is the credential (created by ``eclor cloud
enrol create``; rules in :mod:`cloud.registry.enrolment`). The answer (201, ``Cache-Control:
no-store``) carries the gateway's MQTT username and password, shown this once, and the broker as
the gateways reach it (``ApiSettings.mqtt_public_*``; enrolment answers 503 while that is unset).

Refusals are problem details:

- 401 for a malformed, unknown, used, expired or revoked token, all with the same detail, so a
  caller learns nothing about which; each counts as an authentication failure of the client's
  address in the API's :class:`~cloud.api.ratelimit.FailureLimiter` (shared with bearer tokens),
  and past the limit the client gets 429 with ``Retry-After`` before its token is looked at;
- 403 for a valid token bound to another gateway id (the token stays usable);
- 409 when the gateway exists at another site (or none) or is revoked (the token stays usable);
- 422 for a bad body (a gateway id breaking the wire's rules).

Every attempt that reached the token check is written to the operator audit (source ``enrol``):
a success in the same transaction as the enrolment, a refusal with its reason (which the audit's
readers, admins, may know).

The operation carries the OpenAPI extension ``x-eclor-public: true``: the one mark of an
``/api/v1`` operation that is meant to be called without an API token
(``tests/integration/test_api_auth_walk.py`` holds every other one to 401/403).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.caching import uncached_json
from cloud.api.deps import ApiContext, Ctx
from cloud.api.fleet import GatewayId
from cloud.api.problems import (
    CONFLICT,
    INVALID,
    RATE_LIMITED,
    UNAUTHORIZED,
    ApiProblem,
    ProblemKind,
    problem_responses,
)
from cloud.api.ratelimit import client_key
from cloud.api.routes import API_PREFIX
from cloud.errors import Conflict
from cloud.registry.enrolment import (
    MAX_TOKEN_LENGTH,
    Redeemed,
    Refusal,
    Refused,
    redeem_enrolment_token,
    split_enrolment_token,
)
from cloud.registry.models import AuditSource
from cloud.registry.operator_audit import record_action

router = APIRouter(prefix=API_PREFIX, tags=["enrolment"])
PUBLIC = {"x-eclor-public": True}
"""OpenAPI extension of the operations callable without an API token."""
ENROLMENT_OFF = ProblemKind("enrolment-unavailable", 503, "Enrolment not configured")
OTHER_GATEWAY = ProblemKind("enrolment-other-gateway", 403, "Token bound to another gateway")
REFUSED_DETAIL = "the enrolment token is malformed, unknown, used, expired or revoked"
CHALLENGE = {"WWW-Authenticate": 'Eclor-Enrolment realm="eclor"'}
ROUTE = f"{API_PREFIX}/enrol"
_log = logging.getLogger(__name__)


class EnrolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1,
        max_length=MAX_TOKEN_LENGTH,
        description="The enrolment token, `eclor-enrol_<id>_<secret>`",
    )
    gateway_id: GatewayId


class BrokerAccess(BaseModel):
    host: str
    port: int
    username: str
    password: str = Field(description="Shown in this answer only; the registry keeps a hash")
    tls: bool = Field(description="Connect with TLS, verifying the broker's certificate")
    protocol: Literal["5", "3.1.1"]


class Enrolled(BaseModel):
    gateway_id: str
    mqtt: BrokerAccess
    server_time: datetime = Field(description="The cloud's clock, UTC, to check the gateway's")


Outcome = Redeemed | Refused | Conflict | ValueError


@router.post(
    "/enrol",
    status_code=201,
    response_model=Enrolled,
    summary="Enrol a gateway with a one-time enrolment token",
    description=(
        "No API token: the enrolment token in the body is the credential; it works once, for "
        "its site (and gateway id, when it names one), until it expires. Enrols the gateway, or "
        "gives an existing gateway of the same site a new MQTT password (the old one stops "
        "working). The password is in this answer only. Failed tokens count towards the "
        "client's authentication failures (429 with `Retry-After` past the limit)."
    ),
    responses=problem_responses(401, 403, 409, 422, 429, 503),
    openapi_extra=PUBLIC,
)
async def enrol(request: Request, ctx: Ctx, body: EnrolRequest) -> Response:
    if ctx.settings.mqtt_public_host is None:
        raise ApiProblem(ENROLMENT_OFF, "this server does not enrol gateways (no public broker)")
    peer = request.client.host if request.client else None
    client = client_key(peer)
    wait = ctx.limiter.retry_after(client, ctx.clock.monotonic())
    if wait is not None:
        ctx.metrics.auth_refusals.labels("rate_limited").inc()
        raise ApiProblem(
            RATE_LIMITED,
            f"too many failed authentications from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    outcome = await ctx.in_registry(lambda session: _redeem(session, ctx, body, peer))
    if isinstance(outcome, Redeemed):
        return uncached_json(_answer(ctx, outcome), status_code=201)
    raise _problem(ctx, client, outcome)


def _redeem(session: Session, ctx: ApiContext, body: EnrolRequest, peer: str | None) -> Outcome:
    """Redeem in a SAVEPOINT (a conflict undoes the claim), then audit in the same transaction."""
    now = ctx.clock.now()
    outcome: Outcome
    try:
        with session.begin_nested():
            outcome = redeem_enrolment_token(session, body.token, body.gateway_id, now=now)
    except (Conflict, ValueError) as error:
        outcome = error
    _audit(session, now, body, peer, outcome)
    return outcome


def _audit(
    session: Session, now: datetime, body: EnrolRequest, peer: str | None, outcome: Outcome
) -> None:
    targets = {"gateway_id": body.gateway_id}
    if isinstance(outcome, Redeemed):
        token_id: str | None = outcome.token_id
        targets["site_id"] = outcome.site_id
        detail = "password rotated" if outcome.rotated else "enrolled"
    elif isinstance(outcome, Refused):
        token_id, detail = outcome.token_id, f"refused: {outcome.reason.value}"
    elif isinstance(outcome, Conflict):  # raised after the token passed its checks
        token_id, detail = split_enrolment_token(body.token)[0], f"refused: {outcome}"
    else:  # a bad gateway id, refused before the token was looked at
        token_id, detail = None, f"refused: {outcome}"
    record_action(
        session,
        at=now,
        source=AuditSource.ENROL,
        actor="enrolment",
        token_id=token_id,
        method="POST",
        action=ROUTE,
        targets=targets,
        status=_status(outcome),
        client=peer,
        detail=detail,
    )


def _status(outcome: Outcome) -> int:
    if isinstance(outcome, Redeemed):
        return 201
    if isinstance(outcome, Refused):
        return OTHER_GATEWAY.status if outcome.reason is Refusal.OTHER_GATEWAY else 401
    return CONFLICT.status if isinstance(outcome, Conflict) else INVALID.status


def _answer(ctx: ApiContext, redeemed: Redeemed) -> Enrolled:
    settings = ctx.settings
    assert settings.mqtt_public_host is not None  # checked before redeeming
    gateway = redeemed.enrolment.gateway
    _log.info(
        "gateway %s %s with enrolment token %s",
        gateway.id,
        "re-enrolled" if redeemed.rotated else "enrolled",
        redeemed.token_id,
    )
    return Enrolled(
        gateway_id=gateway.id,
        mqtt=BrokerAccess(
            host=settings.mqtt_public_host,
            port=settings.mqtt_public_port,
            username=gateway.mqtt_username,
            password=redeemed.enrolment.password,
            tls=settings.mqtt_tls,
            protocol=settings.mqtt_protocol,
        ),
        server_time=ctx.clock.now(),
    )


def _problem(ctx: ApiContext, client: str, outcome: Refused | Conflict | ValueError) -> ApiProblem:
    if isinstance(outcome, Conflict):
        return ApiProblem(CONFLICT, f"gateway {outcome.key!r}: {outcome.reason}")
    if isinstance(outcome, ValueError):
        return ApiProblem(INVALID, str(outcome))
    if outcome.reason is Refusal.OTHER_GATEWAY:
        return ApiProblem(OTHER_GATEWAY, "this enrolment token is for another gateway id")
    ctx.limiter.record_failure(client, ctx.clock.monotonic())
    ctx.metrics.limited_clients.set(len(ctx.limiter))
    ctx.metrics.auth_refusals.labels("invalid").inc()
    return ApiProblem(UNAUTHORIZED, REFUSED_DETAIL, headers=CHALLENGE)
