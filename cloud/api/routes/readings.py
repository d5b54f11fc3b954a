"""``/api/v1/gateways/{gateway_id}/devices/{device_id}/readings/latest``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import LATEST, cached_json
from cloud.api.deps import Ctx
from cloud.api.problems import problem_responses
from cloud.api.readings import LatestReadings, latest_readings
from cloud.api.routes import API_PREFIX
from cloud.registry.devices import get_device
from eclor.wire.names import NAME_PATTERN

router = APIRouter(prefix=API_PREFIX, tags=["readings"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]


@router.get(
    "/gateways/{gateway_id}/devices/{device_id}/readings/latest",
    response_model=LatestReadings,
    summary="A device's latest readings",
    description=(
        "The last value of each field with its observation time, per measurement; `stale` when "
        "nothing recent was read. Without `measurement`, every telemetry measurement is searched. "
        "Scopes: technician, energy-manager, admin."
    ),
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def device_latest(
    request: Request,
    ctx: Ctx,
    _: Reader,
    gateway_id: str,
    device_id: str,
    measurement: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
) -> Response:
    def check(session: Session) -> None:
        get_device(session, gateway_id, device_id)

    await ctx.in_registry(check)
    readings = await latest_readings(
        ctx.store,
        gateway_id,
        device_id,
        [measurement] if measurement else ctx.settings.reading_measurements,
        now=ctx.clock.now(),
        stale_after_s=ctx.settings.reading_stale_after_s,
    )
    return cached_json(request, readings, LATEST)
