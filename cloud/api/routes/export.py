"""History export for mobility and planning studies (operator API, CSV).

Streamed: the store is read one UTC day at a time (:mod:`cloud.public.history`) and each day's
rows are sent as soon as they are read. The first day is read before the answer starts, so a
store that is down gives a 503 problem rather than a cut-off file. Parquet is not offered
(pyarrow is not a dependency).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import StreamingResponse

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.deps import Ctx
from cloud.api.problems import invalid_param, problem_responses
from cloud.api.routes import API_PREFIX
from cloud.public.history import (
    STEPS_S,
    WASTE_EXPORT,
    Export,
    Period,
    csv_chunks,
    lanes_in_store,
    period_problem,
    traffic_export,
)
from eclor.wire.topics import GATEWAY_ID_PATTERN

router = APIRouter(prefix=f"{API_PREFIX}/export", tags=["export"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
From = Annotated[
    datetime, Query(alias="from", description="Start (ISO 8601 with offset), included")
]
To = Annotated[datetime, Query(description="End (ISO 8601 with offset), excluded")]
Gateway = Annotated[
    str | None, Query(pattern=GATEWAY_ID_PATTERN, description="Only this gateway / centre")
]
Step = Annotated[
    int, Query(description=f"Window length in seconds, one of {', '.join(map(str, STEPS_S))}")
]
CSV = "text/csv; charset=utf-8"
RESPONSES = {200: {"content": {"text/csv": {}}}, **problem_responses(401, 403, 422, 429, 503)}


@router.get(
    "/traffic.csv",
    summary="Traffic history as CSV",
    description=(
        "One row per window and loop-station lane: `window_start_utc, gateway, device, lane, "
        "vehicles` (counter increase across roll-overs), `occupancy_pct` and `speed_kmh` "
        "(means). Empty cell: no data. At most 366 days. Scopes: technician, energy-manager, "
        "admin."
    ),
    response_class=StreamingResponse,
    responses=RESPONSES,
)
async def traffic_csv(
    ctx: Ctx, _: Reader, start: From, to: To, gateway: Gateway = None, step: Step = 900
) -> StreamingResponse:
    period = _period(start, to, step)
    export = traffic_export(await lanes_in_store(ctx.store, gateway))
    return await _stream(ctx, export, period, gateway, "traffic")


@router.get(
    "/waste-centres.csv",
    summary="Waste-centre history as CSV",
    description=(
        "One row per window and centre: `window_start_utc, site, entries, exits` (gate counter "
        "increases), `queue_max`, `queue_occupancy_pct`, `wait_min` (mean published wait) and "
        "`level` (last published level). Empty cell: no data. At most 366 days. Scopes: "
        "technician, energy-manager, admin."
    ),
    response_class=StreamingResponse,
    responses=RESPONSES,
)
async def waste_csv(
    ctx: Ctx, _: Reader, start: From, to: To, gateway: Gateway = None, step: Step = 900
) -> StreamingResponse:
    period = _period(start, to, step)
    return await _stream(ctx, WASTE_EXPORT, period, gateway, "waste-centres")


def _period(start: datetime, end: datetime, step: int) -> Period:
    problem = period_problem(start, end, step)
    if problem is not None:
        raise invalid_param("query", *problem)
    return Period.of(start, end, step)


async def _stream(
    ctx: Ctx, export: Export, period: Period, gateway: str | None, name: str
) -> StreamingResponse:
    chunks = csv_chunks(ctx.store, export, period, gateway)
    first = [await anext(chunks)]
    async for chunk in chunks:  # the first day, read before answering
        first.append(chunk)
        break

    async def body() -> AsyncIterator[bytes]:
        for chunk in first:
            yield chunk
        async for chunk in chunks:
            yield chunk

    filename = f"{name}_{_stamp(period.start_ms)}_{_stamp(period.end_ms)}.csv"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(body(), media_type=CSV, headers=headers)


def _stamp(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y%m%dT%H%MZ")
