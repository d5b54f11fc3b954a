"""Energy per local day: ``/api/v1/{gateways,sites,communes}/{id}/energy/daily?from=&to=``.

``from`` and ``to`` are local dates (``YYYY-MM-DD``), both included; by default the last seven
days up to today. ``to`` may not be after today, ``from`` not after ``to``, nor the range longer
than ``ApiSettings.max_energy_days``. Days are local days of ``ApiSettings.timezone``
(:mod:`cloud.api.localdays`); a summary of past days only is cached longer than one with today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import ENERGY_CLOSED, ENERGY_OPEN, cached_json
from cloud.api.deps import ApiContext, Ctx
from cloud.api.energy import EnergySummary, SummaryScope, daily_summary
from cloud.api.localdays import LocalDays, local_today
from cloud.api.problems import invalid_param, problem_responses
from cloud.api.queries import gateways_of_commune, gateways_of_site
from cloud.api.routes import API_PREFIX
from cloud.registry.gateways import get_gateway
from cloud.registry.places import get_commune, get_site
from eclor.clock import to_epoch_ms

router = APIRouter(prefix=API_PREFIX, tags=["energy"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
From = Annotated[date | None, Query(alias="from", description="First local day (included)")]
To = Annotated[date | None, Query(description="Last local day (included); default today")]
DEFAULT_DAYS = 7
EARLIEST = date(2000, 1, 1)
_DOC = (
    "kWh imported per local day ({zone}), from the meters' counters across resets; days last "
    "23 or 25 hours when the clocks change. `kwh` is null for a day without data. "
    "Scopes: technician, energy-manager, admin."
)
_ERRORS = problem_responses(401, 403, 404, 422, 429, 503)


def _days(ctx: ApiContext, first: date | None, last: date | None) -> LocalDays:
    today = local_today(ctx.clock.now(), ctx.zone)
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last > today:
        raise invalid_param("query", "to", f"{last} is after today ({today}, {ctx.zone.key})")
    if first > last:
        raise invalid_param("query", "from", f"{first} is after 'to' ({last})")
    if first < EARLIEST:
        raise invalid_param("query", "from", f"no data before {EARLIEST}")
    span = (last - first).days + 1
    if span > ctx.settings.max_energy_days:
        limit = ctx.settings.max_energy_days
        raise invalid_param("query", "from", f"{span} days asked for; at most {limit}")
    return LocalDays.between(first, last, ctx.zone)


async def _summary(
    request: Request,
    ctx: Ctx,
    scope: SummaryScope,
    scope_id: str,
    gateways_of: Callable[[Session], list[str]],
    first: date | None,
    last: date | None,
) -> Response:
    days = _days(ctx, first, last)
    gateways = await ctx.in_registry(gateways_of)
    now_ms = to_epoch_ms(ctx.clock.now())
    summary: EnergySummary = await daily_summary(
        ctx.store,
        scope,
        scope_id,
        gateways,
        days,
        now_ms=now_ms,
        concurrency=ctx.settings.energy_concurrency,
    )
    closed = all(day.complete for day in summary.days)
    return cached_json(request, summary, ENERGY_CLOSED if closed else ENERGY_OPEN)


@router.get(
    "/gateways/{gateway_id}/energy/daily",
    response_model=EnergySummary,
    summary="kWh per day of one cabinet's gateway",
    description=_DOC.format(zone="Europe/Paris by default"),
    responses=_ERRORS,
)
async def gateway_energy(
    request: Request, ctx: Ctx, _: Reader, gateway_id: str, first: From = None, to: To = None
) -> Response:
    def gateways(session: Session) -> list[str]:
        return [get_gateway(session, gateway_id).id]

    return await _summary(request, ctx, "gateway", gateway_id, gateways, first, to)


@router.get(
    "/sites/{site_id}/energy/daily",
    response_model=EnergySummary,
    summary="kWh per day of a site (its gateways)",
    description=_DOC.format(zone="Europe/Paris by default"),
    responses=_ERRORS,
)
async def site_energy(
    request: Request, ctx: Ctx, _: Reader, site_id: str, first: From = None, to: To = None
) -> Response:
    def gateways(session: Session) -> list[str]:
        get_site(session, site_id)
        return gateways_of_site(session, site_id)

    return await _summary(request, ctx, "site", site_id, gateways, first, to)


@router.get(
    "/communes/{insee_code}/energy/daily",
    response_model=EnergySummary,
    summary="kWh per day of a commune (the gateways of its sites)",
    description=_DOC.format(zone="Europe/Paris by default"),
    responses=_ERRORS,
)
async def commune_energy(
    request: Request, ctx: Ctx, _: Reader, insee_code: str, first: From = None, to: To = None
) -> Response:
    def gateways(session: Session) -> list[str]:
        get_commune(session, insee_code)
        return gateways_of_commune(session, insee_code)

    return await _summary(request, ctx, "commune", insee_code, gateways, first, to)
