"""Lighting programs, overrides and adaptive policies (operator API).

Reading needs technician, energy-manager or admin; writing needs energy-manager or admin.
Programs and commands go out on the cloud's MQTT connection (``ApiDeps.publish``); without one,
or with the broker unreachable, writes that must reach a gateway answer 503 (a program is stored
all the same and the scheduler publishes it once the broker is back).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import REGISTRY, cached_json, uncached_json
from cloud.api.deps import ApiContext, Ctx
from cloud.api.problems import (
    INVALID,
    NOT_FOUND,
    ApiProblem,
    InvalidParam,
    ProblemKind,
    invalid_param,
    problem_responses,
)
from cloud.api.routes import API_PREFIX
from cloud.errors import NotFound
from cloud.lighting.commands import (
    clear_command,
    new_command_id,
    send_command,
    set_level_args,
    set_level_command,
)
from cloud.lighting.policy import PolicyBody
from cloud.lighting.programs import program_problems
from cloud.lighting.publishing import publish_current
from cloud.lighting.views import (
    TARGET_PATTERN,
    ClearView,
    OverrideCreate,
    OverrideList,
    OverrideView,
    PolicyList,
    PolicyView,
    ProgramView,
    policy_values,
)
from cloud.registry.audit import record_command
from cloud.registry.gateways import get_gateway
from cloud.registry.lighting import (
    OverrideSpec,
    clear_overrides,
    delete_policy,
    get_override,
    get_policy,
    get_program,
    group_ids,
    list_overrides,
    list_policies,
    put_policy,
    put_program,
    record_override,
)
from cloud.registry.models import Scope

router = APIRouter(prefix=API_PREFIX, tags=["lighting"])
WRITE_SCOPES = frozenset({Scope.ENERGY_MANAGER, Scope.ADMIN})
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
Writer = Annotated[Principal, Depends(require_scope(WRITE_SCOPES))]
READ = "Scopes: technician, energy-manager, admin."
WRITE = "Scopes: energy-manager, admin."
BROKER_UNAVAILABLE = ProblemKind("broker-unavailable", 503, "MQTT broker unavailable")
POLL_S = 0.05
GatewayQuery = Annotated[str | None, Query(max_length=63)]


def _broker_down(what: str) -> ApiProblem:
    return ApiProblem(
        BROKER_UNAVAILABLE,
        f"{what} could not be handed to the MQTT broker; try again later",
        headers={"Retry-After": "5"},
    )


# -- programs ------------------------------------------------------------------------------------


@router.get(
    "/gateways/{gateway_id}/program",
    response_model=ProgramView,
    summary="A gateway's lighting program",
    description=f"The TALQ-shaped program document, its revision and when it was published. {READ}",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def read_program(request: Request, ctx: Ctx, _: Reader, gateway_id: str) -> Response:
    def read(session: Session) -> ProgramView:
        row = get_program(session, gateway_id)
        if row is None:
            raise ApiProblem(NOT_FOUND, f"gateway {gateway_id!r} has no program")
        return ProgramView.of(row)

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.put(
    "/gateways/{gateway_id}/program",
    response_model=ProgramView,
    summary="Set a gateway's lighting program",
    description=(
        "Body: a ProgramSet without `gateway`, `revision` and `issued_at` (docs/lighting.md). "
        "Refused with 422 naming the field: levels out of 0-100, empty or overlapping periods, "
        "groups unknown on the gateway, dangling references. Stored with the next revision and "
        "published retained on `eclor/v1/<gateway>/program`; 503 when the broker cannot take it "
        f"(stored all the same, published later by the scheduler). {WRITE}"
    ),
    responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
)
async def write_program(
    ctx: Ctx,
    who: Writer,
    gateway_id: str,
    body: Annotated[dict[str, Any], Body(description="site, programs, calendars, assignments")],
) -> Response:
    def store(session: Session) -> ProgramView:
        get_gateway(session, gateway_id)
        problems = program_problems(body, group_ids(session, gateway_id))
        if problems:
            raise _program_refused(problems)
        return ProgramView.of(
            put_program(session, gateway_id, body, by=who.name, now=ctx.clock.now())
        )

    view = await ctx.in_registry(store)
    now = ctx.clock.now()
    sent = await ctx.in_registry(lambda s: publish_current(s, gateway_id, ctx.deps.publish, now))
    if sent is None:
        raise _broker_down(f"program revision {view.revision}")
    return uncached_json(view.model_copy(update={"published_at": now}))


def _program_refused(problems: list[tuple[str, str]]) -> ApiProblem:
    errors = [
        InvalidParam(loc=["body", path], msg=why, type="value_error") for path, why in problems
    ]
    shown = "; ".join(f"{path}: {why}" for path, why in problems[:5])
    return ApiProblem(INVALID, f"program refused: {shown}", errors=errors)


# -- overrides -----------------------------------------------------------------------------------


@router.post(
    "/lighting/overrides",
    status_code=201,
    response_model=OverrideView,
    summary="Set a level for a group or a device until a given time",
    description=(
        "Sends a `set_level` command (mode `override`, expiring at `until`) on the gateway's "
        "`cmd` topic and audits it. With `wait` (seconds), waits that long at most for the "
        "gateway's result: `result.observed.level_pct` is the level read back. On `until` the "
        f"gateway resumes its program by itself. {WRITE}"
    ),
    responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
)
async def create_override(
    request: Request,
    ctx: Ctx,
    who: Writer,
    body: OverrideCreate,
    wait: Annotated[float, Query(ge=0, le=30, description="Seconds to wait for the result")] = 0,
) -> Response:
    now = ctx.clock.now()
    spec = _override_spec(ctx, body, now)
    command_id = new_command_id("ovr", now)
    args = set_level_args(spec)

    def record(session: Session) -> None:
        get_gateway(session, body.gateway)
        _check_target(session, body.gateway, body.target)
        record_override(
            session, command_id, spec, args, by=who.name, now=now, expires_at=spec.until
        )

    await ctx.in_registry(record)
    if not send_command(ctx.deps.publish, body.gateway, set_level_command(command_id, spec, now)):
        raise _broker_down(f"command {command_id}")
    view = await _await_result(ctx, command_id, min(wait, ctx.settings.max_command_wait_s))
    location = str(request.url_for("read_override", command_id=command_id).path)
    return uncached_json(view, status_code=201, headers={"Location": location})


def _override_spec(ctx: ApiContext, body: OverrideCreate, now: datetime) -> OverrideSpec:
    starts_at = body.starts_at or now
    if body.until <= max(now, starts_at):
        raise invalid_param("body", "until", "must be after now and after starts_at")
    if (body.until - now).total_seconds() > ctx.settings.max_override_s:
        limit = ctx.settings.max_override_s
        raise invalid_param("body", "until", f"at most {limit} s from now")
    return OverrideSpec(
        gateway_id=body.gateway,
        target=body.target,
        level_pct=body.level_pct,
        starts_at=starts_at,
        until=body.until,
        fade_s=body.fade_s,
    )


def _check_target(session: Session, gateway_id: str, target: str) -> None:
    kind, _, name = target.partition(":")
    if kind == "group" and name not in group_ids(session, gateway_id):
        raise invalid_param("body", "target", f"no lighting group {name!r} on {gateway_id}")


async def _await_result(ctx: ApiContext, command_id: str, wait_s: float) -> OverrideView:
    """Poll the audit row (the ingest attaches the result) for at most ``wait_s`` real seconds:
    a network round trip, so loop time rather than the injected clock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s

    def read(session: Session) -> OverrideView:
        return OverrideView.of(*get_override(session, command_id), ctx.clock.now())

    while True:
        view = await ctx.in_registry(read)
        if view.result.ok is not None or loop.time() >= deadline:
            return view
        await asyncio.sleep(POLL_S)


@router.get(
    "/lighting/overrides",
    response_model=OverrideList,
    summary="Overrides, newest first",
    description=f"Operator and adaptive overrides with their command result. {READ}",
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def list_override_views(
    request: Request,
    ctx: Ctx,
    _: Reader,
    gateway: GatewayQuery = None,
    active: Annotated[bool, Query(description="Only those not cleared nor ended")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    def read(session: Session) -> OverrideList:
        now = ctx.clock.now()
        rows = list_overrides(
            session, gateway_id=gateway, active_at=now if active else None, limit=limit
        )
        return OverrideList(items=[OverrideView.of(o, c, now) for o, c in rows])

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.get(
    "/lighting/overrides/{command_id}",
    response_model=OverrideView,
    summary="One override with its command result",
    description=READ,
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def read_override(request: Request, ctx: Ctx, _: Reader, command_id: str) -> Response:
    def read(session: Session) -> OverrideView:
        return OverrideView.of(*get_override(session, command_id), ctx.clock.now())

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.delete(
    "/lighting/overrides",
    response_model=ClearView,
    summary="End a target's operator overrides now",
    description=(
        "Sends `clear_override` for the target; the gateway resumes its program at once. "
        f"Adaptive raises are left to lapse. {WRITE}"
    ),
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def clear_target(
    ctx: Ctx,
    who: Writer,
    gateway: Annotated[str, Query(max_length=63)],
    target: Annotated[str, Query(pattern=TARGET_PATTERN)],
) -> Response:
    now = ctx.clock.now()
    command_id = new_command_id("clr", now)

    def clear(session: Session) -> tuple[ClearView, datetime]:
        get_gateway(session, gateway)
        _check_target(session, gateway, target)
        rows = clear_overrides(
            session, gateway, target, clear_command_id=command_id, by=who.name, now=now
        )
        expires = max([now, *(row.until for row in rows)])
        command = clear_command(command_id, target, now, expires)
        record_command(
            session,
            command_id,
            gateway_id=gateway,
            kind=command.kind,
            target=target,
            args={},
            issued_by=who.name,
            issued_at=now,
            expires_at=datetime.fromtimestamp(command.expires_at / 1000, tz=now.tzinfo),
        )
        return ClearView(command_id=command_id, cleared=[r.command_id for r in rows]), expires

    view, expires = await ctx.in_registry(clear)
    if not send_command(ctx.deps.publish, gateway, clear_command(command_id, target, now, expires)):
        raise _broker_down(f"command {command_id}")
    return uncached_json(view)


# -- adaptive policies ---------------------------------------------------------------------------


@router.get(
    "/lighting/policies",
    response_model=PolicyList,
    summary="Adaptive lighting policies",
    description=f"With the state of each one's last raise. {READ}",
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def list_policy_views(
    request: Request, ctx: Ctx, _: Reader, gateway: GatewayQuery = None
) -> Response:
    def read(session: Session) -> PolicyList:
        return PolicyList(
            items=[PolicyView.of(p) for p in list_policies(session, gateway_id=gateway)]
        )

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.get(
    "/lighting/policies/{policy_id}",
    response_model=PolicyView,
    summary="One adaptive lighting policy",
    description=READ,
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def read_policy(request: Request, ctx: Ctx, _: Reader, policy_id: str) -> Response:
    view = await ctx.in_registry(lambda s: PolicyView.of(get_policy(s, policy_id)))
    return cached_json(request, view, REGISTRY)


@router.put(
    "/lighting/policies/{policy_id}",
    response_model=PolicyView,
    summary="Create or replace an adaptive lighting policy",
    description=(
        "Links a lighting group to a loop station: vehicles per hour over `window_min` on "
        "`lanes` choose an EN 13201 class step, whose level is sent as a `raise` held "
        f"`hold_min` (docs/lighting.md). 201 when created, 200 when replaced. {WRITE}"
    ),
    responses={
        201: {"model": PolicyView, "description": "Created"},
        **problem_responses(401, 403, 413, 422, 429, 503),
    },
)
async def write_policy(
    ctx: Ctx,
    who: Writer,
    policy_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")],
    body: PolicyBody,
) -> Response:
    def store(session: Session) -> tuple[PolicyView, bool]:
        try:
            row, created = put_policy(
                session, policy_id, policy_values(body), by=who.name, now=ctx.clock.now()
            )
        except NotFound as error:
            field = "group" if error.kind == "lighting group" else "loop_gateway"
            raise invalid_param("body", field, f"no {error.kind} {error.key!r}") from None
        return PolicyView.of(row), created

    view, created = await ctx.in_registry(store)
    return uncached_json(view, status_code=201 if created else 200)


@router.delete(
    "/lighting/policies/{policy_id}",
    status_code=204,
    summary="Delete an adaptive lighting policy",
    description=f"A raise already sent lapses at its end. {WRITE}",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def remove_policy(ctx: Ctx, _: Writer, policy_id: str) -> Response:
    await ctx.in_registry(lambda s: delete_policy(s, policy_id))
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
