"""``/api/v1/gateways``: list (paged), detail, registration (admin; MQTT credentials shown once)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import ADMIN_SCOPES, READ_SCOPES, Principal, require_scope
from cloud.api.caching import REGISTRY, cached_json, uncached_json
from cloud.api.deps import Ctx
from cloud.api.fleet import (
    GatewayCreate,
    GatewayDetail,
    GatewayPage,
    GatewayRegistered,
    GatewayView,
    MqttCredentials,
)
from cloud.api.paging import Cursor, Limit, decode_cursor, link_header, next_link, page_size
from cloud.api.problems import INVALID, ApiProblem, invalid_param, problem_responses
from cloud.api.queries import gateway_page
from cloud.api.routes import API_PREFIX
from cloud.errors import NotFound
from cloud.registry.devices import list_devices
from cloud.registry.gateways import enroll_gateway, get_gateway
from cloud.registry.models import GatewayStatus

router = APIRouter(prefix=f"{API_PREFIX}/gateways", tags=["gateways"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
Admin = Annotated[Principal, Depends(require_scope(ADMIN_SCOPES))]
READ = "Scopes: technician, energy-manager, admin."
WRITE = "Scope: admin."


@router.get(
    "",
    response_model=GatewayPage,
    summary="List gateways",
    description=f"By id, a page at a time; filter by site or status. {READ}",
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def list_gateways(
    request: Request,
    ctx: Ctx,
    _: Reader,
    limit: Limit = None,
    cursor: Cursor = None,
    site: Annotated[str | None, Query(max_length=63)] = None,
    status: GatewayStatus | None = None,
) -> Response:
    size = page_size(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    after = decode_cursor(cursor)
    stale_after = timedelta(seconds=ctx.settings.gateway_stale_after_s)

    def read(session: Session) -> tuple[list[GatewayView], bool]:
        rows, more = gateway_page(session, after=after, limit=size, site_id=site, status=status)
        now = ctx.clock.now()
        return [GatewayView.of(row, now, stale_after) for row in rows], more

    items, more = await ctx.in_registry(read)
    link = next_link(request, items[-1].id if more and items else None)
    return cached_json(request, GatewayPage(items=items, next=link), REGISTRY, link_header(link))


@router.get(
    "/{gateway_id}",
    response_model=GatewayDetail,
    summary="One gateway with its devices",
    description=f"Status, last seen, outbox depth and each device's health. {READ}",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def gateway_detail(request: Request, ctx: Ctx, _: Reader, gateway_id: str) -> Response:
    stale_after = timedelta(seconds=ctx.settings.gateway_stale_after_s)

    def read(session: Session) -> GatewayDetail:
        row = get_gateway(session, gateway_id)
        devices = list_devices(session, gateway_id)
        return GatewayDetail.with_devices(row, devices, ctx.clock.now(), stale_after)

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.post(
    "",
    status_code=201,
    response_model=GatewayRegistered,
    summary="Register a gateway",
    description=(
        "Enrols the gateway and answers its MQTT username and password. The password is shown "
        f"in this answer only (the registry keeps a hash); store it on the gateway. {WRITE}"
    ),
    responses=problem_responses(401, 403, 409, 422, 429, 503),
)
async def register_gateway(request: Request, ctx: Ctx, _: Admin, body: GatewayCreate) -> Response:
    stale_after = timedelta(seconds=ctx.settings.gateway_stale_after_s)

    def enroll(session: Session) -> GatewayRegistered:
        now = ctx.clock.now()
        try:
            enrolment = enroll_gateway(
                session, body.id, now=now, site_id=body.site_id, mqtt_username=body.mqtt_username
            )
        except ValueError as error:
            raise ApiProblem(INVALID, str(error)) from None
        except NotFound as error:
            raise invalid_param("body", "site_id", f"no {error.kind} {error.key!r}") from None
        gateway = enrolment.gateway
        return GatewayRegistered(
            gateway=GatewayDetail.with_devices(gateway, [], now, stale_after),
            credentials=MqttCredentials(
                username=gateway.mqtt_username, password=enrolment.password
            ),
        )

    registered = await ctx.in_registry(enroll)
    location = str(request.url_for("gateway_detail", gateway_id=registered.gateway.id).path)
    return uncached_json(registered, status_code=201, headers={"Location": location})
