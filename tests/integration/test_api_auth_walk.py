"""Every operator operation, found by walking the app's own OpenAPI schema, refuses a caller
without a valid token of a suitable scope, so a new endpoint cannot be left open by mistake.

For each path and method under ``/api/v1`` (path parameters filled with plausible values,
required query parameters with values of their type, a JSON body when one is taken), the call
is made with no token, a wrong token, an expired token, a revoked token and a ``public``-scope
token, and must answer 401, 401, 401, 401 and 403 as problem details with their
``WWW-Authenticate`` challenge.

The exceptions are the operations marked with the OpenAPI extension ``x-eclor-public: true``
(see :mod:`cloud.api.routes.enrol`); that set must equal :data:`PUBLIC_OPERATIONS` here, so
making an operation public is a visible change to this file, not a side effect. Outside
``/api/v1`` only the service endpoints in :data:`SERVICE_PATHS` may exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cloud.api import API_PREFIX, ApiSettings
from cloud.registry import revoke_token
from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration

PUBLIC_OPERATIONS = {("POST", f"{API_PREFIX}/enrol")}
RESIDENT_READS = {
    ("GET", f"{API_PREFIX}/waste-centres"),
    ("GET", f"{API_PREFIX}/waste-centres/{{centre_id}}"),
    ("GET", f"{API_PREFIX}/traffic"),
}
"""Public reads for residents: no credential at all (tests/integration/test_public_api.py)."""
PUBLIC_OPERATIONS |= RESIDENT_READS
RESIDENT_ALERTS_AND_REPORTS = {
    ("GET", f"{API_PREFIX}/alerts"),
    ("GET", f"{API_PREFIX}/alerts/{{alert_id}}/cap"),
    ("POST", f"{API_PREFIX}/reports"),
    ("GET", f"{API_PREFIX}/reports"),
    ("GET", f"{API_PREFIX}/reports/{{report_id}}"),
    ("GET", f"{API_PREFIX}/reports/{{report_id}}/photos/{{photo_id}}"),
    ("GET", "/open311/v2/services.json"),
    ("GET", "/open311/v2/services/{service_code}.json"),
    ("GET", "/open311/v2/requests.json"),
    ("POST", "/open311/v2/requests.json"),
    ("GET", "/open311/v2/requests/{request_id}.json"),
}
"""Alerts, dumping reports and Open311 (tests/integration/test_alerts_api.py,
test_reports_api.py, test_open311.py)."""
PUBLIC_OPERATIONS |= RESIDENT_ALERTS_AND_REPORTS
TOKENLESS = RESIDENT_READS | RESIDENT_ALERTS_AND_REPORTS
"""Public operations that take no credential of any kind (the others, such as enrolment, take
their own credential instead of an API token)."""
SERVICE_PATHS = {"/healthz", "/metrics"}
PUBLIC_MARK = "x-eclor-public"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PLAUSIBLE = {
    "gateway_id": "cab-thil-04",
    "device_id": "cab-thil-04-meter",
    "site_id": "cab-thil-04",
    "insee_code": "57672",
    "group_id": "rue-principale",
    "command_id": "cmd-20261102-0001",
    "token_id": "0123456789abcdef",
}
"""Path parameter values by name; any other name gets a value of its schema's type."""
BY_FORMAT = {"date": "2026-11-01", "date-time": "2026-11-01T00:00:00Z"}
BY_TYPE = {"integer": "1", "number": "1.5", "boolean": "true", "string": "cab-thil-04"}


@dataclass(frozen=True)
class Credential:
    name: str
    header: str | None
    status: int
    challenge: str


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    url: str
    params: dict[str, str]
    body: bool


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    # Every refusal below counts as a failure of one address: lift the limit for the walk.
    settings = ApiSettings(auth_failure_limit=100_000, mqtt_public_host="mqtt.eclor.example")
    async with open_api(tmp_path, settings=settings) as api:
        seed_fleet(api.sessions)
        yield api


def credentials(api: Api) -> list[Credential]:
    expired = api.token("admin", expires_at=api.clock.now() + timedelta(minutes=1))
    revoked = api.token("admin")
    with api.sessions.begin() as session:
        revoke_token(session, revoked.split("_")[1], now=api.clock.now())
    public = api.token("public")
    api.clock.advance(120)
    invalid = 'error="invalid_token"'
    return [
        Credential("no token", None, 401, 'Bearer realm="eclor"'),
        Credential("wrong token", f"Bearer eclor_0123456789abcdef_{'A' * 43}", 401, invalid),
        Credential("expired token", f"Bearer {expired}", 401, invalid),
        Credential("revoked token", f"Bearer {revoked}", 401, invalid),
        Credential("public token", f"Bearer {public}", 403, 'error="insufficient_scope"'),
    ]


def value_for(parameter: dict[str, Any]) -> str:
    name = parameter["name"]
    if name in PLAUSIBLE:
        return PLAUSIBLE[name]
    schema = parameter.get("schema", {})
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("format") in BY_FORMAT:
            return BY_FORMAT[option["format"]]
        if option.get("type") in BY_TYPE:
            return BY_TYPE[option["type"]]
    return "cab-thil-04"


def operations(schema: dict[str, Any]) -> tuple[list[Operation], set[tuple[str, str]]]:
    """The operator operations to walk, and the operations marked public."""
    walked: list[Operation] = []
    public: set[tuple[str, str]] = set()
    for template, item in schema["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if operation.get(PUBLIC_MARK) is True:
                public.add((method.upper(), template))
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            url = template
            params = {}
            for parameter in parameters:
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", value_for(parameter))
                elif parameter["in"] == "query" and parameter.get("required"):
                    params[parameter["name"]] = value_for(parameter)
            body = "requestBody" in operation
            walked.append(Operation(method.upper(), template, url, params, body))
    return walked, public


async def test_every_operator_operation_refuses_bad_credentials(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    walked, public = operations(schema)
    assert public == PUBLIC_OPERATIONS
    assert {op.template for op in walked if not op.template.startswith(f"{API_PREFIX}/")} <= (
        SERVICE_PATHS
    )
    operator = [op for op in walked if op.template.startswith(f"{API_PREFIX}/")]
    assert len(operator) >= 11, "the walk found fewer operations than the API is known to have"
    failures: list[str] = []
    for credential in credentials(api):
        headers = {} if credential.header is None else {"Authorization": credential.header}
        for op in operator:
            response = await api.client.request(
                op.method, op.url, params=op.params, headers=headers, json={} if op.body else None
            )
            where = f"{op.method} {op.url} with {credential.name}"
            if response.status_code != credential.status:
                failures.append(f"{where}: {response.status_code}, not {credential.status}")
                continue
            if response.headers.get("content-type") != "application/problem+json":
                failures.append(f"{where}: not problem+json")
            elif response.json().get("status") != credential.status:
                failures.append(f"{where}: problem status {response.json().get('status')}")
            if credential.challenge not in response.headers.get("www-authenticate", ""):
                failures.append(f"{where}: no {credential.challenge} challenge")
    assert failures == []


async def test_operator_operations_declare_the_bearer_scheme(api: Api) -> None:
    """So that the documentation says what the walk above enforces."""
    schema = (await api.client.get("/openapi.json")).json()
    walked, _ = operations(schema)
    undeclared = [
        f"{op.method} {op.template}"
        for op in walked
        if op.template.startswith(f"{API_PREFIX}/")
        and schema["paths"][op.template][op.method.lower()].get("security") != [{"bearer": []}]
    ]
    assert undeclared == []


async def test_the_public_operations_work_without_a_token(api: Api) -> None:
    """The other side of the exception: what is marked public really needs no API token (it
    has its own credential, and refuses a bad one as a problem)."""
    for method, template in PUBLIC_OPERATIONS - TOKENLESS:
        response = await api.client.request(
            method, template, json={"token": "nonsense", "gateway_id": "cab-thil-99"}
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "Bearer" not in response.headers["www-authenticate"]


async def test_the_tokenless_operations_answer_without_any_credential(api: Api) -> None:
    for method, template in sorted(TOKENLESS):
        url = template
        for name in ("report_id", "request_id"):
            url = url.replace("{" + name + "}", "1")
        url = url.replace("{photo_id}", "0" * 32).replace("{service_code}", "pneus")
        url = url.replace("{centre_id}", "cab-thil-04")
        response = await api.client.request(method, url, json={} if method == "POST" else None)
        assert response.status_code not in (401, 403), f"{method} {url}: {response.status_code}"
        assert "www-authenticate" not in response.headers, f"{method} {url}"
