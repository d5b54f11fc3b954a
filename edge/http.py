"""The agent's local HTTP endpoint: ``/metrics`` (Prometheus) and ``/healthz`` (the status JSON).

Served by the standard library's WSGI server on a thread, bound to loopback by default; it only
reads a snapshot the agent refreshes, so it never touches the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

Environ = dict[str, object]
StartResponse = Callable[[str, list[tuple[str, str]]], object]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class HealthEndpoint:
    def __init__(self, host: str, port: int, registry: CollectorRegistry) -> None:
        self._metrics_app = make_wsgi_app(registry)
        self.health_json = b"{}"
        self.healthy = True
        self._server: WSGIServer = make_server(host, port, self._app, handler_class=_Quiet)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/metrics":
            body: Iterable[bytes] = self._metrics_app(environ, start_response)
            return body
        if path == "/healthz":
            status = "200 OK" if self.healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [self.health_json]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /healthz\n"]
