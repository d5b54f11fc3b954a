"""The API's Prometheus metrics and the ASGI middleware that counts and times every request.

Labels stay bounded: ``route`` is the route *template* (``/api/v1/gateways/{gateway_id}``) or
``unmatched``, ``method`` one of the standard methods or ``other``. Latency is measured with
:func:`time.perf_counter`, not the injected clock: it is a duration of real work, which a
simulated clock would distort.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "eclor_api_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "eclor_api_request_duration_seconds",
            "Time to answer a request, by method and route template",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.auth_refusals = Counter(
            "eclor_api_auth_refusals",
            "Requests refused by authentication, by reason "
            "(missing, invalid, forbidden, rate_limited)",
            ["reason"],
            registry=registry,
        )
        self.limited_clients = Gauge(
            "eclor_api_auth_failure_clients",
            "Clients with authentication failures remembered by the rate limiter",
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class MetricsMiddleware:
    """Counts every HTTP request once, with the status actually sent (500 when none was)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            elapsed = time.perf_counter() - started
            self.metrics.observe(str(scope["method"]), route, status, elapsed)
