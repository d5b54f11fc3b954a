"""The public and operator API against its own OpenAPI schema, fuzzed by schemathesis.

The app is served by uvicorn (in a thread with its own event loop) on a real migrated SQLite
registry holding the seeded fleet, the embedded SQLite store holding a week of meter readings, and
a real :class:`MqttPublisher` on Mosquitto for programs and overrides. Every operation is called
with an admin token, a bounded number of examples each. Checks: no 5xx, status codes, content
types, headers and bodies as documented, and every error is ``application/problem+json``.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from prometheus_client import CollectorRegistry
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok

from cloud.api import ApiDeps, ApiSettings, create_app
from cloud.ingest.mqtt import MqttSettings
from cloud.lighting.publisher import MqttPublisher
from cloud.registry import make_engine, make_session_factory, sqlite_url, upgrade
from cloud.registry.tokens import create_token
from cloud.store import SqliteSettings, SqliteStore
from eclor.clock import ManualClock
from tests.fuzz.test_api_findings import known_deviation
from tests.integration.test_api_harness import CABINETS, NOW, meter_points, seed_fleet
from tests.services.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 10
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@dataclass
class Served:
    base_url: str
    token: str


def api_settings(folder: Path) -> ApiSettings:
    """Limits high enough that the fuzzer's own traffic is not what gets refused."""
    return ApiSettings(
        auth_failure_limit=1_000_000,
        public_get_per_s=1e6,
        public_get_burst=1_000_000,
        public_post_per_min=1e6,
        public_post_burst=1_000_000,
        mqtt_public_host="mqtt.eclor.test",
        report_photo_dir=folder / "photos",
    )


async def _serve(folder: Path, broker: MosquittoServer, sock: socket.socket, up: Served) -> None:
    engine = make_engine(sqlite_url(folder / "registry.sqlite"))
    upgrade(engine)
    sessions = make_session_factory(engine)
    seed_fleet(sessions)
    with sessions.begin() as session:
        up.token = create_token(session, "fuzz", ["admin"], now=NOW).secret
    clock = ManualClock(NOW)
    store = await SqliteStore.open(
        SqliteSettings(path=folder / "timeseries.sqlite", retention_days=None), clock
    )
    for gateway in CABINETS:
        await store.write(list(meter_points(gateway, NOW - timedelta(days=7), NOW, kw=2.5)))
    publisher = MqttPublisher(MqttSettings("127.0.0.1", broker.port), f"fz-{secrets.token_hex(4)}")
    publisher.start()
    deps = ApiDeps(
        sessions, store, clock, CollectorRegistry(), api_settings(folder), publisher.publish
    )
    server = uvicorn.Server(uvicorn.Config(create_app(deps), log_level="warning", lifespan="on"))
    _servers.append(server)
    try:
        await server.serve(sockets=[sock])
    finally:
        await asyncio.to_thread(publisher.stop)
        await store.close()
        engine.dispose()


_servers: list[uvicorn.Server] = []


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("api-schema")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    up = Served(f"http://127.0.0.1:{sock.getsockname()[1]}", "")
    thread = threading.Thread(
        target=asyncio.run, args=(_serve(folder, mosquitto, sock, up),), daemon=True
    )
    thread.start()
    for _ in range(300):
        if _servers and _servers[-1].started:
            break
        threading.Event().wait(0.05)
    assert _servers, "the API did not start"
    assert _servers[-1].started, "the API did not start"
    yield up
    _servers[-1].should_exit = True
    thread.join(15)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_to_its_schema(served: Served, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    session = requests.Session()
    unsatisfiable: list[str] = []
    known: Counter[str] = Counter()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result}"
        operation = result.ok()
        operations += 1
        try:
            _fuzz(operation, mode, served, session, known)
        except Unsatisfiable:
            unsatisfiable.append(operation.label)  # nothing to make invalid (no parameters)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 -- all reported at the end
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    print(f"{mode.value}: {operations} operations, known deviations {dict(known)}")
    assert operations >= 50
    assert mode is GenerationMode.NEGATIVE or not unsatisfiable, unsatisfiable
    assert not failures, "\n\n".join(failures)
    assert not known, f"deviations fixed in cloud/api are back: {dict(known)}"


def _fuzz(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    served: Served,
    session: requests.Session,
    known: Counter[str],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def call(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        # Sent with our own session, then validated: schemathesis's requests transport trips on
        # urllib3-future (pulled in by niquests), which replaces urllib3's pool container.
        sent = case.as_transport_kwargs(
            base_url=served.base_url, headers={"Authorization": f"Bearer {served.token}"}
        )
        response = session.request(**sent, timeout=30)
        deviation = known_deviation(case.formatted_path, response)
        if deviation is not None:  # each has its test in test_api_findings.py
            known[deviation] += 1
            return
        case.validate_response(response, checks=CHECKS)
        # Open311's own errors are its spec's JSON arrays, documented as application/json
        if response.status_code >= 400 and not case.formatted_path.startswith("/open311/"):
            kind = response.headers.get("content-type", "")
            assert "application/problem+json" in kind, (
                f"{case.method} {case.formatted_path} answered {response.status_code} "
                f"as {kind}: {response.text[:300]}"
            )

    call()
