"""The operator audit of the API: every state-changing call under ``/api/v1`` is recorded.

:class:`AuditMiddleware` watches ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` requests under
:data:`~cloud.api.routes.API_PREFIX` and, once the answer's status is known and **before** the
answer leaves, writes one :class:`~cloud.registry.models.OperatorAudit` row
(:func:`cloud.registry.operator_audit.record_action`): the token's id and name, the time, the
method, the route template, the path parameters (and the ``Location`` of what was created), the
status, the peer address. The client learns the outcome only after its action is on record.

Recorded are the calls of an **identified** token: admitted by :mod:`cloud.api.auth` (its id is in
``request.state.token_id``), or refused with 403 (a valid token without the scope: verified again
here to name it). Calls without a valid token (401) or refused by the failure limiter (429) are
not operator actions and are not written, so an anonymous client cannot fill the table; they are
counted in ``eclor_api_auth_refusals``. ``POST /api/v1/enrol`` writes its own rows
(:mod:`cloud.api.routes.enrol`), in the transaction of the enrolment.

If the row cannot be written (registry down) the answer still goes out, since the action is
already committed; the failure is logged and counted in ``eclor_api_audit_failures_total``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.api.deps import ApiContext
from cloud.api.routes import API_PREFIX
from cloud.registry.models import ApiToken, AuditSource, OperatorAudit
from cloud.registry.operator_audit import record_action
from cloud.registry.tokens import verify_token

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SELF_AUDITED = frozenset({f"{API_PREFIX}/enrol"})
"""Routes that write their own audit rows."""
_log = logging.getLogger(__name__)


class AuditEntry(BaseModel):
    """One recorded operator action (never a secret)."""

    id: int
    at: datetime
    source: AuditSource
    token_id: str | None
    actor: str
    method: str
    action: str
    targets: dict[str, str]
    status: int
    client: str | None
    detail: str

    @classmethod
    def of(cls, row: OperatorAudit) -> AuditEntry:
        return cls(
            id=row.id,
            at=row.at,
            source=row.source,
            token_id=row.token_id,
            actor=row.actor,
            method=row.method,
            action=row.action,
            targets={str(k): str(v) for k, v in row.targets.items()},
            status=row.status,
            client=row.client,
            detail=row.detail,
        )


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next: str | None


class AuditRecorder:
    """Writes the audit rows of one app; build one per app (it registers a metric)."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.failures = Counter(
            "eclor_api_audit_failures",
            "Operator actions answered without their audit row (the registry failed)",
            registry=context.deps.metrics,
        )

    async def record(self, scope: Scope, status: int, headers: Headers) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None)
        if template is None or template in SELF_AUDITED:
            return  # unmatched paths were refused before any token was looked at
        state: dict[str, Any] = scope.get("state") or {}
        admitted = state.get("token_id")
        bearer = _bearer(Headers(scope=scope).get("authorization"))
        if admitted is None and (status != 403 or bearer is None):
            return
        ctx = self.context
        client = scope.get("client")
        targets = {str(k): str(v) for k, v in (scope.get("path_params") or {}).items()}
        if "location" in headers:
            targets["created"] = headers["location"]

        def write(session: Session) -> None:
            now = ctx.clock.now()
            who = _who(session, admitted, bearer, now)
            if who is None:
                return
            record_action(
                session,
                at=now,
                source=AuditSource.API,
                actor=who[1],
                token_id=who[0],
                method=str(scope["method"]),
                action=template,
                targets=targets,
                status=status,
                client=client[0] if client else None,
            )

        try:
            await ctx.in_registry(write)
        except SQLAlchemyError as error:
            self.failures.inc()
            _log.error(
                "audit row of %s %s (status %d) not written: %s",
                scope["method"],
                template,
                status,
                type(error).__name__,
            )


class AuditMiddleware:
    """Records each state-changing ``/api/v1`` call before its answer starts (module doc)."""

    def __init__(self, app: ASGIApp, recorder: AuditRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _audited(scope):
            await self.app(scope, receive, send)
            return
        recorded = False

        async def record_then_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                headers = Headers(raw=message.get("headers", []))
                await self.recorder.record(scope, int(message["status"]), headers)
            await send(message)

        try:
            await self.app(scope, receive, record_then_send)
        except Exception:  # re-raised: the outermost handler answers 500, recorded here first
            if not recorded:
                recorded = True
                await self.recorder.record(scope, 500, Headers())
            raise


def _audited(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] not in AUDITED_METHODS:
        return False
    path = str(scope["path"])
    return path.startswith(f"{API_PREFIX}/") and path not in SELF_AUDITED


def _who(
    session: Session, admitted: str | None, bearer: str | None, now: datetime
) -> tuple[str, str] | None:
    """``(token id, token name)`` of the caller, or ``None`` when it cannot be named."""
    if admitted is not None:
        row = session.get(ApiToken, admitted)
        return admitted, row.name if row is not None else "unknown"
    if bearer is None:
        return None
    grant = verify_token(session, bearer, now=now)
    return (grant.token_id, grant.name) if grant is not None else None


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 0 < len(token) <= 200 else None
