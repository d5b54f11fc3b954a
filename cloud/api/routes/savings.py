"""Energy savings against each cabinet's baseline:
``GET /api/v1/savings/{cabinets/{gateway_id}|communes/{insee}|territory}?period=&from=&to=``.

Read from the ``savings`` series the scheduler writes (:mod:`cloud.savings`); arithmetic in
:mod:`cloud.savings.report` (sums before ratios, ``null`` for no data).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import ENERGY_OPEN, cached_json
from cloud.api.deps import ApiContext, Ctx
from cloud.api.localdays import LocalDays, local_today
from cloud.api.problems import invalid_param, problem_responses
from cloud.api.routes import API_PREFIX
from cloud.registry.gateways import get_gateway
from cloud.registry.places import get_commune
from cloud.savings.report import Period, SavingsReport, savings_report

router = APIRouter(prefix=f"{API_PREFIX}/savings", tags=["savings"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
PeriodQ = Annotated[Period, Query(description="Group days by local day, month or year")]
From = Annotated[date | None, Query(alias="from", description="First local day (included)")]
To = Annotated[date | None, Query(description="Last local day (included); default today")]
MAX_DAYS = 4 * 366
EARLIEST = date(2000, 1, 1)
_DOC = (
    "Baseline kWh (installed power before the works × lit hours from the astronomical clock, "
    "or a reference period's kWh per lit hour), metered kWh and savings % per {what}, for "
    "local days, months or years (Europe/Paris). Sums before ratios; days without metered "
    "energy are left out, and a period without any is `null`, never 0. "
    "Scopes: technician, energy-manager, admin."
)
_ERRORS = problem_responses(401, 403, 404, 422, 429, 503)


def _days(ctx: ApiContext, period: Period, first: date | None, last: date | None) -> LocalDays:
    today = local_today(ctx.clock.now(), ctx.zone)
    last = last or today
    if first is None:
        if period == "day":
            first = last - timedelta(days=6)
        elif period == "month":
            first = last.replace(month=1, day=1)
        else:
            first = last.replace(year=last.year - 2, month=1, day=1)
    if last > today:
        raise invalid_param("query", "to", f"{last} is after today ({today}, {ctx.zone.key})")
    if first > last:
        raise invalid_param("query", "from", f"{first} is after 'to' ({last})")
    if first < EARLIEST:
        raise invalid_param("query", "from", f"no data before {EARLIEST}")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid_param("query", "from", f"more than {MAX_DAYS} days asked for")
    return LocalDays.between(first, last, ctx.zone)


async def _report(
    request: Request,
    ctx: ApiContext,
    scope: Literal["cabinet", "commune", "territory"],
    scope_id: str | None,
    where: Mapping[str, str],
    period: Period,
    first: date | None,
    last: date | None,
) -> Response:
    days = _days(ctx, period, first, last)
    report = await savings_report(ctx.store, scope, scope_id, where, days, period)
    return cached_json(request, report, ENERGY_OPEN)


@router.get(
    "/cabinets/{gateway_id}",
    response_model=SavingsReport,
    summary="Savings of one cabinet",
    description=_DOC.format(what="cabinet"),
    responses=_ERRORS,
)
async def cabinet_savings(
    request: Request,
    ctx: Ctx,
    _: Reader,
    gateway_id: str,
    period: PeriodQ = "day",
    first: From = None,
    to: To = None,
) -> Response:
    def check(session: Session) -> None:
        get_gateway(session, gateway_id)

    await ctx.in_registry(check)
    where = {"gateway": gateway_id}
    return await _report(request, ctx, "cabinet", gateway_id, where, period, first, to)


@router.get(
    "/communes/{insee}",
    response_model=SavingsReport,
    summary="Savings of a commune's cabinets",
    description=_DOC.format(what="commune (its cabinets summed)"),
    responses=_ERRORS,
)
async def commune_savings(
    request: Request,
    ctx: Ctx,
    _: Reader,
    insee: str,
    period: PeriodQ = "day",
    first: From = None,
    to: To = None,
) -> Response:
    def check(session: Session) -> None:
        get_commune(session, insee)

    await ctx.in_registry(check)
    return await _report(request, ctx, "commune", insee, {"commune": insee}, period, first, to)


@router.get(
    "/territory",
    response_model=SavingsReport,
    summary="Savings of the whole territory",
    description=_DOC.format(what="territory (every cabinet with a baseline)"),
    responses=_ERRORS,
)
async def territory_savings(
    request: Request,
    ctx: Ctx,
    _: Reader,
    period: PeriodQ = "day",
    first: From = None,
    to: To = None,
) -> Response:
    return await _report(request, ctx, "territory", None, {}, period, first, to)
