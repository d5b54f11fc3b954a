"""Service endpoints without authentication: ``/healthz`` and ``/metrics``.

``/healthz`` answers 200 when the time-series store answers its health check and the registry
database answers ``SELECT 1``, each within ``ApiSettings.health_timeout_s``; otherwise 503 as a
problem whose ``checks`` member says which failed. The body names the store backend but no
address or file: the failure's detail goes to the log (WARNING when health is lost, then DEBUG
until it returns). ``/metrics`` serves the shared Prometheus registry.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.caching import NO_STORE, uncached_json
from cloud.api.deps import ApiContext, Ctx
from cloud.api.problems import UNHEALTHY, ApiProblem, problem_response, problem_responses

router = APIRouter(tags=["service"])
_log = logging.getLogger(__name__)


class Check(BaseModel):
    ok: bool
    backend: str


class Health(BaseModel):
    status: str
    checked_at: datetime
    store: Check
    registry: Check


class _HealthLog:
    """Logs a failed check at WARNING once, then at DEBUG until it passes again."""

    def __init__(self) -> None:
        self.failing: set[str] = set()

    def failed(self, what: str, detail: str) -> None:
        level = logging.DEBUG if what in self.failing else logging.WARNING
        self.failing.add(what)
        _log.log(level, "health check of the %s failed: %s", what, detail)

    def passed(self, what: str) -> None:
        if what in self.failing:
            self.failing.discard(what)
            _log.warning("health check of the %s passes again", what)


_health_log = _HealthLog()


@router.get(
    "/healthz",
    response_model=Health,
    summary="Store and registry health",
    responses=problem_responses(503),
)
async def healthz(request: Request, ctx: Ctx) -> Response:
    store, registry = await asyncio.gather(_check_store(ctx), _check_registry(ctx))
    health = Health(
        status="ok" if store.ok and registry.ok else "unavailable",
        checked_at=ctx.clock.now(),
        store=store,
        registry=registry,
    )
    if store.ok and registry.ok:
        return uncached_json(health)
    failed = [name for name, check in (("store", store), ("registry", registry)) if not check.ok]
    problem = ApiProblem(
        UNHEALTHY,
        f"failing: {', '.join(failed)}",
        extensions={"checks": health.model_dump(mode="json")},
    )
    return problem_response(request, problem)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(ctx: Ctx) -> Response:
    return Response(
        generate_latest(ctx.deps.metrics),
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": NO_STORE},
    )


async def _check_store(ctx: ApiContext) -> Check:
    backend = ctx.store.backend
    try:
        async with asyncio.timeout(ctx.settings.health_timeout_s):
            health = await ctx.store.health()
    except TimeoutError:
        _health_log.failed(
            "store", f"{backend}: no answer within {ctx.settings.health_timeout_s} s"
        )
        return Check(ok=False, backend=backend)
    if health.ok:
        _health_log.passed("store")
    else:
        _health_log.failed("store", health.detail)
    return Check(ok=health.ok, backend=health.backend)


async def _check_registry(ctx: ApiContext) -> Check:
    bind = ctx.deps.sessions.kw.get("bind")
    backend = str(getattr(getattr(bind, "dialect", None), "name", "unknown"))
    try:
        async with asyncio.timeout(ctx.settings.health_timeout_s):
            await ctx.in_registry(_ping, abandon=True)
    except TimeoutError:
        _health_log.failed("registry", f"no answer within {ctx.settings.health_timeout_s} s")
        return Check(ok=False, backend=backend)
    except SQLAlchemyError as error:
        _health_log.failed("registry", f"{type(error).__name__}: {_first_line(error)}")
        return Check(ok=False, backend=backend)
    _health_log.passed("registry")
    return Check(ok=True, backend=backend)


def _ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


def _first_line(error: SQLAlchemyError) -> str:
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else ""
