"""Service endpoints: /metrics (per route template, shared registry) and the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        seed_fleet(api.sessions)
        yield api


async def samples(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


async def test_requests_are_counted_per_route_template(api: Api) -> None:
    headers = api.auth("technician")
    for gateway in ("cab-thil-04", "cab-thil-07", "cab-nowhere"):
        await api.client.get(f"/api/v1/gateways/{gateway}", headers=headers)
    await api.client.get("/no/such/route")
    await api.client.get("/api/v1/gateways")
    found = await samples(api)
    route = ("route", "/api/v1/gateways/{gateway_id}")
    ok = frozenset({("method", "GET"), route, ("status", "200")})
    missing = frozenset({("method", "GET"), route, ("status", "404")})
    assert found[("eclor_api_requests_total", ok)] == 2
    assert found[("eclor_api_requests_total", missing)] == 1
    unmatched = frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")})
    assert found[("eclor_api_requests_total", unmatched)] == 1
    timed = frozenset({("method", "GET"), route})
    assert found[("eclor_api_request_duration_seconds_count", timed)] == 3
    refused = frozenset({("reason", "missing")})
    assert found[("eclor_api_auth_refusals_total", refused)] == 1


async def test_metrics_serves_the_shared_registry(api: Api) -> None:
    other = Counter("eclor_ingest_example", "Registered by another component", registry=api.metrics)
    other.inc(3)
    found = await samples(api)
    assert found[("eclor_ingest_example_total", frozenset())] == 3


async def test_openapi_document_and_docs(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/healthz",
        "/metrics",
        "/api/v1/gateways",
        "/api/v1/gateways/{gateway_id}",
        "/api/v1/gateways/{gateway_id}/devices",
        "/api/v1/gateways/{gateway_id}/devices/{device_id}",
        "/api/v1/gateways/{gateway_id}/devices/{device_id}/readings/latest",
        "/api/v1/gateways/{gateway_id}/energy/daily",
        "/api/v1/sites/{site_id}/energy/daily",
        "/api/v1/communes/{insee_code}/energy/daily",
    ):
        assert path in paths, path
    listing = paths["/api/v1/gateways"]["get"]
    assert listing["security"] == [{"bearer": []}]
    assert "technician" in listing["description"]
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/GatewayPage"}
    for status in ("401", "403", "422", "429", "503"):
        content = listing["responses"][status]["content"]
        assert list(content) == ["application/problem+json"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    energy = paths["/api/v1/communes/{insee_code}/energy/daily"]["get"]
    assert {p["name"] for p in energy["parameters"]} == {"insee_code", "from", "to"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "security" not in paths["/healthz"]["get"]
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
