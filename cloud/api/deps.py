"""What the API is built from (:class:`ApiDeps`, :class:`ApiSettings`) and what its routes get
per request (:class:`ApiContext`, through the :data:`Ctx` dependency).

The registry is synchronous SQLAlchemy: :meth:`ApiContext.in_registry` runs a unit of work in one
transaction on a worker thread, so the event loop never waits on the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, TypeVar, cast
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from cloud.api.metrics import ApiMetrics
from cloud.api.ratelimit import FailureLimiter
from cloud.store.base import TimeSeriesStore
from eclor.clock import Clock

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Tunables; the defaults suit the territory."""

    timezone: str = "Europe/Paris"
    """Zone of the local days of energy summaries."""
    auth_failure_limit: int = 10
    """Authentication failures a client may make per window before it gets 429."""
    auth_failure_window_s: float = 60.0
    auth_tracked_clients: int = 10_000
    """Clients whose failures are remembered at most (least recently failing forgotten first)."""
    reading_stale_after_s: int = 900
    """A device's latest reading older than this is flagged ``stale``."""
    gateway_stale_after_s: int = 300
    """A gateway not heard from for this long is flagged ``stale`` (5 missed status messages)."""
    page_size: int = 50
    max_page_size: int = 500
    max_energy_days: int = 366
    energy_concurrency: int = 8
    """Store queries in flight at once for one site or commune summary."""
    health_timeout_s: float = 2.0
    max_body_bytes: int = 65_536
    """Larger request bodies are refused (413) before they are read."""
    reading_measurements: tuple[str, ...] = (
        "energy",
        "cabinet",
        "waste_centre",
        "traffic",
        "device",
    )
    """Measurements searched for a device's latest readings when the caller names none."""
    mqtt_public_host: str | None = None
    """Broker host handed to gateways that enrol (``POST /api/v1/enrol``): the address they
    reach, not the cloud's own. ``None`` turns enrolment off (503)."""
    mqtt_public_port: int = 8883
    mqtt_tls: bool = True
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    max_override_s: int = 7 * 86_400
    """Longest override an operator may set (``until`` at most this far from now)."""
    max_command_wait_s: float = 10.0
    """Most a caller may wait for a command's result (``?wait=``)."""
    # -- public API (issue 7): rate limits (cloud.api.public_limits), residents' reports --
    public_post_per_min: float = 6.0
    """Public POSTs (reports) a client may make per minute, sustained."""
    public_post_burst: int = 5
    public_get_per_s: float = 20.0
    """Public GETs a client may make per second, sustained (generous: a page loads several)."""
    public_get_burst: int = 120
    public_tracked_clients: int = 10_000
    """Clients whose buckets are remembered at most, per kind (least recently seen forgotten)."""
    report_photo_dir: Path | None = None
    """Where report photos are stored (originals and public copies); ``None``: no photos taken."""
    report_max_photos: int = 3
    report_max_photo_bytes: int = 5_000_000
    """Each photo at most this many bytes (a multipart report may be up to ``report_max_photos``
    times this, plus its fields: the body limit of the report route, not ``max_body_bytes``)."""
    report_bounds: tuple[float, float, float, float] | None = None
    """Reports are taken inside (min longitude, min latitude, max longitude, max latitude), the
    territory's WGS-84 box; ``None``: any valid position."""
    report_max_radius_m: float = 5000.0
    """Largest ``radius_m`` of the nearby-reports search."""
    alert_sender: str = "alertes@eclor.example"
    """CAP ``sender`` of the alerts issued through the API."""


@dataclass(frozen=True, slots=True)
class ApiDeps:
    """Everything :func:`cloud.api.create_app` needs; the caller owns (and closes) them.

    ``metrics`` is the Prometheus registry the API registers its metrics in and serves at
    ``/metrics``: pass the process's shared one to expose the ingest's metrics there too. Build one
    app per registry (metric names can be registered once).
    """

    sessions: sessionmaker[Session]
    store: TimeSeriesStore
    clock: Clock
    metrics: CollectorRegistry
    settings: ApiSettings = field(default_factory=ApiSettings)
    publish: Callable[[str, bytes, bool], bool] | None = None
    """``publish(topic, payload, retain) -> sent`` on the cloud's MQTT connection (QoS 1), for
    lighting programs and commands; ``None``: those routes answer 503."""


@dataclass(frozen=True, slots=True)
class ApiContext:
    """One per app: the deps and the app's own state (metrics, failure limiter, zone)."""

    deps: ApiDeps
    metrics: ApiMetrics
    limiter: FailureLimiter
    zone: ZoneInfo

    @classmethod
    def build(cls, deps: ApiDeps) -> ApiContext:
        settings = deps.settings
        limiter = FailureLimiter(
            settings.auth_failure_limit,
            settings.auth_failure_window_s,
            settings.auth_tracked_clients,
        )
        return cls(deps, ApiMetrics(deps.metrics), limiter, ZoneInfo(settings.timezone))

    @property
    def settings(self) -> ApiSettings:
        return self.deps.settings

    @property
    def store(self) -> TimeSeriesStore:
        return self.deps.store

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    async def in_registry(self, work: Callable[[Session], T], *, abandon: bool = False) -> T:
        """``work(session)`` in one transaction on a worker thread (committed if it returns).

        ``abandon``: a cancelled caller stops waiting for the thread (health checks with a
        timeout); otherwise cancellation waits for the transaction to end.
        """

        def in_session() -> T:
            with self.deps.sessions.begin() as session:
                return work(session)

        return await anyio.to_thread.run_sync(in_session, abandon_on_cancel=abandon)


def app_context(request: Request) -> ApiContext:
    """The app's :class:`ApiContext` (set by ``create_app``)."""
    return cast(ApiContext, request.app.state.context)


async def context(request: Request) -> ApiContext:
    """:func:`app_context` as a dependency; ``async`` so that FastAPI calls it on the event loop
    rather than on a worker thread."""
    return app_context(request)


Ctx = Annotated[ApiContext, Depends(context)]
