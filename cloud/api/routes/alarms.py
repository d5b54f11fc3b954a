"""Alarms: ``GET /api/v1/alarms`` (paged, filtered) and ``POST /api/v1/alarms/{id}/ack``.

Alarms come from the edges' ``event`` messages and from the cloud's silence check
(:mod:`cloud.alarms`). An acknowledgement records who saw the alarm and when; it does not clear
it (only the condition going away does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import CachePolicy, cached_json
from cloud.api.deps import Ctx
from cloud.api.paging import Cursor, Limit, decode_cursor, link_header, next_link, page_size
from cloud.api.problems import invalid_param, problem_responses
from cloud.api.routes import API_PREFIX
from cloud.registry.alarms import acknowledge_alarm, alarm_page
from cloud.registry.models_alarms import Alarm, AlarmSeverity

router = APIRouter(prefix=f"{API_PREFIX}/alarms", tags=["alarms"])
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
ALARMS = CachePolicy(0)
"""Revalidate every time (ETag): an alarm must show at once."""


class AlarmOut(BaseModel):
    id: int
    gateway: str
    device: str
    kind: str
    severity: AlarmSeverity
    state: Literal["open", "cleared"]
    opened_at: datetime
    cleared_at: datetime | None
    last_seen: datetime = Field(description="Latest raise of this episode")
    count: int = Field(description="Raises in this episode (replays not counted)")
    detail: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, row: Alarm) -> AlarmOut:
        return cls(
            id=row.id,
            gateway=row.gateway_id,
            device=row.device_id,
            kind=row.kind,
            severity=row.severity,
            state="open" if row.cleared_at is None else "cleared",
            opened_at=row.opened_at,
            cleared_at=row.cleared_at,
            last_seen=row.last_seen,
            count=row.count,
            detail=row.detail,
            acknowledged_by=row.acknowledged_by,
            acknowledged_at=row.acknowledged_at,
        )


class AlarmPage(BaseModel):
    items: list[AlarmOut]
    next: str | None = Field(description="Relative link to the next page; absent on the last")


@router.get(
    "",
    response_model=AlarmPage,
    summary="Alarms",
    description=(
        "Alarms of the fleet, oldest first: lamp and gear failures, day-burners, stuck "
        "contactors, power out of tolerance, open cabinet doors, DALI lines down (from the "
        "edges), silent gateways and devices (from the cloud). `state=open` keeps those not "
        "cleared. Scopes: technician, energy-manager, admin."
    ),
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def list_alarms(
    request: Request,
    ctx: Ctx,
    _: Reader,
    limit: Limit = None,
    cursor: Cursor = None,
    state: Annotated[Literal["open", "cleared"] | None, Query()] = None,
    gateway: Annotated[str | None, Query(max_length=63)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    size = page_size(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    after_key = decode_cursor(cursor)
    if after_key is not None and not (after_key.isdigit() and len(after_key) <= 18):
        raise invalid_param("query", "cursor", "not a cursor from a `next` link of this API")
    after = int(after_key) if after_key is not None else None

    def read(session: Session) -> tuple[list[AlarmOut], bool]:
        rows, more = alarm_page(
            session, after=after, limit=size, state=state, gateway_id=gateway, kind=kind
        )
        return [AlarmOut.of(row) for row in rows], more

    items, more = await ctx.in_registry(read)
    link = next_link(request, str(items[-1].id) if more and items else None)
    return cached_json(request, AlarmPage(items=items, next=link), ALARMS, link_header(link))


@router.post(
    "/{alarm_id}/ack",
    response_model=AlarmOut,
    summary="Acknowledge an alarm",
    description=(
        "Records who saw the alarm and when (the first acknowledgement stays); the alarm stays "
        "open until its condition clears. Scopes: technician, energy-manager, admin."
    ),
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def ack_alarm(
    ctx: Ctx, who: Reader, alarm_id: Annotated[int, Path(ge=1, le=2**62)]
) -> AlarmOut:
    now = ctx.clock.now()

    def ack(session: Session) -> AlarmOut:
        return AlarmOut.of(acknowledge_alarm(session, alarm_id, by=who.name, at=now))

    return await ctx.in_registry(ack)
