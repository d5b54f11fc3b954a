"""CAP-shaped alerts: the public list of active alerts; operators create, update and cancel.

Writing takes an ``admin`` or ``energy-manager`` token: the people who run the territory's
services are the ones who warn residents about them (no separate scope: one more role to issue
and revoke would buy nothing while the same people hold both).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.alerts.cap_xml import MEDIA_TYPE, cap_document
from cloud.alerts.views import ActiveAlerts, AlertDraft, AlertView, CancelDraft
from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import REGISTRY, cached_json, uncached_json
from cloud.api.deps import Ctx
from cloud.api.problems import invalid_param, problem_responses
from cloud.api.public_limits import PublicGet
from cloud.api.routes import API_PREFIX
from cloud.registry.alerts import active_alerts, cancel_alert, create_alert, get_alert, update_alert
from cloud.registry.models import Scope
from cloud.registry.models_reports import Alert
from cloud.reports.public_http import ALERTS, NOSNIFF, public_bytes, public_json

router = APIRouter(prefix=f"{API_PREFIX}/alerts", tags=["alerts"])
_log = logging.getLogger(__name__)
PUBLIC = {"x-eclor-public": True}
ALERT_SCOPES = frozenset({Scope.ADMIN, Scope.ENERGY_MANAGER})
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
Issuer = Annotated[Principal, Depends(require_scope(ALERT_SCOPES))]
WRITE = "Scopes: admin, energy-manager."


@router.get(
    "",
    response_model=ActiveAlerts,
    summary="Active alerts (public)",
    description=(
        "CAP 1.2-shaped alerts in force now: status Actual, not replaced by an Update or a "
        "Cancel, not expired (an alert leaves this list by itself at its `expires`). Most severe "
        "first. Each area comes both as a CAP polygon (latitude first) and as a GeoJSON geometry "
        "(longitude first). No token. `Cache-Control: public, max-age=60`."
    ),
    responses=problem_responses(429),
    openapi_extra=PUBLIC,
)
async def list_active_alerts(request: Request, ctx: Ctx, _: PublicGet) -> Response:
    def read(session: Session) -> ActiveAlerts:
        rows = active_alerts(session, ctx.clock.now())
        return ActiveAlerts(alerts=[AlertView.of(row) for row in rows])

    return public_json(request, await ctx.in_registry(read), ALERTS)


@router.get(
    "/{alert_id}",
    response_model=AlertView,
    summary="One alert message",
    description="Any message, current, replaced or cancelled. Scopes: technician, "
    "energy-manager, admin.",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def alert_detail(request: Request, ctx: Ctx, _: Reader, alert_id: str) -> Response:
    row = await ctx.in_registry(lambda session: get_alert(session, alert_id))
    return cached_json(request, AlertView.of(row), REGISTRY)


@router.get(
    "/{alert_id}/cap",
    summary="One alert message as CAP 1.2 XML (public)",
    description=(
        "Any message, current, replaced or cancelled (a Cancel must reach downstream systems "
        "too), as an OASIS CAP 1.2 document (`application/cap+xml`). No token."
    ),
    responses={200: {"content": {MEDIA_TYPE: {}}}, **problem_responses(404, 422, 429, 503)},
    openapi_extra=PUBLIC,
)
async def alert_cap(request: Request, ctx: Ctx, _: PublicGet, alert_id: str) -> Response:
    def read(session: Session) -> bytes:
        row = get_alert(session, alert_id)
        replaced = get_alert(session, row.references) if row.references else None
        return cap_document(row, replaced)

    return public_bytes(request, await ctx.in_registry(read), MEDIA_TYPE, ALERTS)


@router.post(
    "",
    status_code=201,
    response_model=AlertView,
    summary="Issue an alert",
    description=f"A new CAP `Alert` message. `expires` is required and in the future. {WRITE}",
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def issue_alert(request: Request, ctx: Ctx, who: Issuer, body: AlertDraft) -> Response:
    def write(session: Session) -> Alert:
        return create_alert(
            session,
            body.content(),
            sender=ctx.settings.alert_sender,
            created_by=who.name,
            now=ctx.clock.now(),
        )

    return _created(request, await _checked(ctx, write))


@router.post(
    "/{alert_id}/update",
    status_code=201,
    response_model=AlertView,
    summary="Update an alert",
    description=(
        "A new CAP `Update` message replacing the current message `alert_id` (its `references`); "
        f"409 when that message was already replaced or cancelled. {WRITE}"
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503),
)
async def update(
    request: Request, ctx: Ctx, who: Issuer, alert_id: str, body: AlertDraft
) -> Response:
    def write(session: Session) -> Alert:
        return update_alert(
            session,
            alert_id,
            body.content(),
            sender=ctx.settings.alert_sender,
            created_by=who.name,
            now=ctx.clock.now(),
        )

    return _created(request, await _checked(ctx, write))


@router.post(
    "/{alert_id}/cancel",
    status_code=201,
    response_model=AlertView,
    summary="Cancel an alert",
    description=(
        "A new CAP `Cancel` message referencing the current message `alert_id`, which leaves "
        f"the public list at once; 409 when it was already replaced or cancelled. {WRITE}"
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503),
)
async def cancel(
    request: Request, ctx: Ctx, who: Issuer, alert_id: str, body: CancelDraft
) -> Response:
    def write(session: Session) -> Alert:
        return cancel_alert(
            session,
            alert_id,
            note=body.note,
            sender=ctx.settings.alert_sender,
            created_by=who.name,
            now=ctx.clock.now(),
        )

    return _created(request, await _checked(ctx, write))


async def _checked(ctx: Ctx, write: Callable[[Session], Alert]) -> Alert:
    try:
        row = await ctx.in_registry(write)
    except ValueError as error:  # times checked against the clock: "expires: ..."
        field, _, message = str(error).partition(": ")
        raise invalid_param("body", field, message or str(error)) from None
    return row


def _created(request: Request, row: Alert) -> Response:
    _log.info(
        "alert %s issued (%s, %s, expires %s, by %s)",
        row.identifier,
        row.msg_type,
        row.severity,
        row.expires.isoformat(),
        row.created_by,
    )
    location = str(request.url_for("alert_detail", alert_id=row.identifier).path)
    return uncached_json(
        AlertView.of(row), status_code=201, headers={"Location": location, **NOSNIFF}
    )
