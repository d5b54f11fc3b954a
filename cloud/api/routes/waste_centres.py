"""Waste centres with their live wait and forecast (public API, no token).

Answers are computed once per refresh window of ``waste_wait`` (a minute) and served from the
app's window cache (:mod:`cloud.public.ttl`) until the next one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.deps import ApiContext
from cloud.api.paging import decode_cursor, link_header, next_link, page_size
from cloud.api.problems import problem_responses
from cloud.api.routes import API_PREFIX
from cloud.errors import NotFound
from cloud.public.respond import (
    PAGING_PARAMETERS,
    PUBLIC_MARK,
    cached_answer,
    paging_params,
    public_context,
    public_json,
    settings_of,
)
from cloud.public.settings import PublicSettings
from cloud.public.ttl import Computed
from cloud.public.waste import (
    CentreSite,
    WasteCentreDetail,
    WasteCentres,
    centre,
    centre_sites,
    current_waits,
    forecast,
)
from cloud.residents import api as residents
from eclor.wire.topics import GATEWAY_ID_PATTERN

router = APIRouter(prefix=API_PREFIX, tags=["residents"])
CentreId = Annotated[str, Path(pattern=GATEWAY_ID_PATTERN, description="The centre's id")]
COLLECTION = f"{API_PREFIX}/waste-centres"


@router.get(
    "/waste-centres",
    response_model=WasteCentres,
    summary="Waste centres and their current wait",
    description=(
        "Every waste centre with its current wait: level (fluide, modéré, chargé, fermé, "
        "complet, inconnu), minute range, observation time and `stale` flag, open or closed and "
        "the next opening. Refreshed every minute; no token needed. Paged by centre id."
    ),
    responses=problem_responses(422, 429, 503),
    openapi_extra={**PUBLIC_MARK, "parameters": PAGING_PARAMETERS},
)
async def waste_centres(request: Request) -> Response:
    ctx = public_context(request)
    settings = settings_of(request)
    limit, cursor = paging_params(request)
    size = page_size(limit, settings.page_size, settings.max_page_size)
    after = decode_cursor(cursor)
    now = ctx.clock.now()

    async def compute() -> Computed:
        listing = await _listing(request, ctx, now, size, after)
        return listing.model_dump_json().encode(), link_header(listing.next)

    cached, left = await cached_answer(
        request, ("waste-centres", size, after), now, settings.waste_refresh_s, compute
    )
    return public_json(request, cached, left)


@router.get(
    "/waste-centres/{centre_id}",
    response_model=WasteCentreDetail,
    summary="A waste centre, its current wait and forecast",
    description=(
        "The centre's current wait (as in the list), the forecast wait and level of the 15-minute "
        "slots of the coming hours, and the best time to come (the shortest forecast wait while "
        "open). No token needed."
    ),
    responses=problem_responses(404, 422, 429, 503),
    openapi_extra=PUBLIC_MARK,
)
async def waste_centre(request: Request, centre_id: CentreId) -> Response:
    ctx = public_context(request)
    settings = settings_of(request)
    now = ctx.clock.now()

    async def compute() -> Computed:
        return (await _detail(ctx, settings, now, centre_id)).model_dump_json().encode(), {}

    cached, left = await cached_answer(
        request, ("waste-centre", centre_id), now, settings.waste_refresh_s, compute
    )
    return public_json(request, cached, left)


async def _sites(ctx: ApiContext, now: datetime) -> dict[str, CentreSite]:
    def load(session: Session) -> dict[str, CentreSite]:
        return centre_sites(session, now)

    return await ctx.in_registry(load)


async def _listing(
    request: Request,
    ctx: ApiContext,
    now: datetime,
    size: int,
    after: str | None,
) -> WasteCentres:
    sites = await _sites(ctx, now)
    waits = await current_waits(ctx.store, ctx.deps.sessions, now)
    ids = sorted(i for i in sites if i in waits and (after is None or i > after))
    page = ids[:size]
    items = [centre(sites[i], waits[i], now, f"{COLLECTION}/{i}") for i in page]
    more = page[-1] if len(ids) > size else None
    return WasteCentres(items=items, next=next_link(request, more), generated_at=now)


async def _detail(
    ctx: ApiContext, settings: PublicSettings, now: datetime, centre_id: str
) -> WasteCentreDetail:
    site = (await _sites(ctx, now)).get(centre_id)
    estimate = await residents.current_wait(ctx.store, ctx.deps.sessions, centre_id, now)
    if site is None or estimate is None:
        raise NotFound("waste centre", centre_id)
    summary = centre(site, estimate, now, f"{COLLECTION}/{centre_id}")
    slots, best = await forecast(ctx.store, centre_id, now, settings.forecast_hours)
    return WasteCentreDetail(
        **summary.model_dump(),
        forecast=slots,
        best_time=best[0] if best else None,
        best_times=best,
    )
