"""``/api/v1/gateways/{gateway_id}/devices``: list (paged), detail, registration (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import ADMIN_SCOPES, READ_SCOPES, Principal, require_scope
from cloud.api.caching import REGISTRY, cached_json, uncached_json
from cloud.api.deps import Ctx
from cloud.api.fleet import DeviceCreate, DevicePage, DeviceView
from cloud.api.paging import Cursor, Limit, decode_cursor, link_header, next_link, page_size
from cloud.api.problems import INVALID, ApiProblem, problem_responses
from cloud.api.queries import device_page
from cloud.api.routes import API_PREFIX
from cloud.registry.devices import add_device, get_device
from cloud.registry.gateways import get_gateway

router = APIRouter(prefix=f"{API_PREFIX}/gateways/{{gateway_id}}/devices", tags=["devices"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
Admin = Annotated[Principal, Depends(require_scope(ADMIN_SCOPES))]
READ = "Scopes: technician, energy-manager, admin."
WRITE = "Scope: admin."


@router.get(
    "",
    response_model=DevicePage,
    summary="List a gateway's devices",
    description=f"By device id, a page at a time, each with its health. {READ}",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def list_devices(
    request: Request,
    ctx: Ctx,
    _: Reader,
    gateway_id: str,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Response:
    size = page_size(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    after = decode_cursor(cursor)

    def read(session: Session) -> tuple[list[DeviceView], bool]:
        get_gateway(session, gateway_id)
        rows, more = device_page(session, gateway_id, after=after, limit=size)
        return [DeviceView.of(row) for row in rows], more

    items, more = await ctx.in_registry(read)
    link = next_link(request, items[-1].device_id if more and items else None)
    return cached_json(request, DevicePage(items=items, next=link), REGISTRY, link_header(link))


@router.get(
    "/{device_id}",
    response_model=DeviceView,
    summary="One device",
    description=f"Profile, tags, health as last reported, last reading received. {READ}",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def device_detail(
    request: Request, ctx: Ctx, _: Reader, gateway_id: str, device_id: str
) -> Response:
    def read(session: Session) -> DeviceView:
        return DeviceView.of(get_device(session, gateway_id, device_id))

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.post(
    "",
    status_code=201,
    response_model=DeviceView,
    summary="Register a device behind a gateway",
    description=f"The device id is unique within its gateway. {WRITE}",
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503),
)
async def register_device(
    request: Request, ctx: Ctx, _: Admin, gateway_id: str, body: DeviceCreate
) -> Response:
    def add(session: Session) -> DeviceView:
        try:
            row = add_device(
                session,
                gateway_id,
                body.device_id,
                profile=body.profile,
                now=ctx.clock.now(),
                unit_id=body.unit_id,
                tags=body.tags,
                installed_power_before_w=body.installed_power_before_w,
            )
        except ValueError as error:
            raise ApiProblem(INVALID, str(error)) from None
        return DeviceView.of(row)

    device = await ctx.in_registry(add)
    location = request.url_for("device_detail", gateway_id=gateway_id, device_id=device.device_id)
    return uncached_json(device, status_code=201, headers={"Location": location.path})
