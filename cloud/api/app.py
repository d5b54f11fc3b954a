"""The operator API application: :func:`create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from cloud.api.audit import AuditMiddleware, AuditRecorder
from cloud.api.bodylimit import BodyLimitMiddleware
from cloud.api.deps import ApiContext, ApiDeps, ApiSettings
from cloud.api.metrics import MetricsMiddleware
from cloud.api.openapi import install_openapi
from cloud.api.problems import install_problem_handlers
from cloud.api.routes import (
    alarms,
    alerts,
    audit,
    devices,
    energy,
    enrol,
    export,
    gateways,
    lighting,
    open311,
    page,
    readings,
    reports,
    savings,
    service,
    traffic,
    waste_centres,
)
from eclor.versions import eclor_version

DESCRIPTION = """\
Operator API of Eclor telemetry: gateways and devices of the territory, their latest readings,
and energy per local day.

**Authentication**: `Authorization: Bearer <API token>`. Reading needs a `technician`,
`energy-manager` or `admin` token; registering gateways and devices needs `admin`. After too many
failed authentications from one address the API answers 429 with `Retry-After`.

**Energy per day**: local days in Europe/Paris, midnight to midnight, so 23 hours on the last
Sunday of March and 25 on the last Sunday of October; `from` and `to` are both included. kWh come
from the meters' import counters, across counter resets; `null` means no data, not zero.

**Enrolment**: `POST /api/v1/enrol` takes no API token; a gateway presents a one-time enrolment
token (`eclor cloud enrol create`) and gets its MQTT credentials. **Audit**: every state-changing
call is recorded (`GET /api/v1/audit`, admin).

**Errors** are problem details (RFC 9457, `application/problem+json`).

**Caching**: GET answers carry an `ETag` (send it back in `If-None-Match` for a 304) and a
`Cache-Control` that follows how often the data changes.
"""


# The public routes come first: Starlette matches routes in order, and the residents' reads are
# the hottest paths (matching a hundred operator routes first cost a third of a cached answer).
ROUTE_MODULES = (
    waste_centres,
    traffic,
    alerts,
    reports,
    open311,
    page,
    service,
    gateways,
    devices,
    readings,
    energy,
    enrol,
    audit,
    lighting,
    alarms,
    savings,
    export,
)


def _larger_bodies(settings: ApiSettings) -> dict[tuple[str, str], int]:
    """Routes whose bodies may exceed ``max_body_bytes``: a report carries its photos."""
    report = settings.report_max_photos * settings.report_max_photo_bytes + 65_536
    return {("POST", "/api/v1/reports"): report}


def create_app(deps: ApiDeps) -> FastAPI:
    """The API over ``deps``; it registers its metrics in ``deps.metrics`` (once per registry)."""
    app = FastAPI(
        title="Eclor operator API",
        version=eclor_version(),
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    context = ApiContext.build(deps)
    app.state.context = context
    install_problem_handlers(app)
    app.add_middleware(AuditMiddleware, recorder=AuditRecorder(context))  # innermost: sees routes
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=deps.settings.max_body_bytes,
        per_route=_larger_bodies(deps.settings),
    )
    app.add_middleware(
        MetricsMiddleware, metrics=context.metrics
    )  # outside ours: counts every answer
    for module in ROUTE_MODULES:
        app.include_router(module.router)
    install_openapi(app)
    return app
