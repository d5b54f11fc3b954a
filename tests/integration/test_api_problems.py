"""Every error is RFC 9457 problem details (application/problem+json, type, title, status,
detail, instance), including FastAPI's validation errors and unhandled exceptions; and /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from cloud.api import ApiDeps, create_app
from cloud.registry import make_engine, make_session_factory, sqlite_url
from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path, raise_app_exceptions=False) as api:
        seed_fleet(api.sessions)
        yield api


def assert_problem(
    response: httpx.Response, status: int, kind: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["title"]
    assert body["detail"]
    if kind is not None:
        assert body["type"] == f"urn:eclor:problem:{kind}"
    assert "Traceback" not in response.text
    return body


async def test_401_and_403(api: Api) -> None:
    assert_problem(await api.client.get("/api/v1/gateways"), 401, "unauthorized")
    forbidden = await api.client.get("/api/v1/gateways", headers=api.auth("public"))
    assert_problem(forbidden, 403, "forbidden")


async def test_404_unknown_rows_and_routes(api: Api) -> None:
    headers = api.auth("technician")
    gateway = assert_problem(
        await api.client.get("/api/v1/gateways/cab-nowhere", headers=headers), 404, "not-found"
    )
    assert "cab-nowhere" in gateway["detail"]
    device = await api.client.get("/api/v1/gateways/cab-thil-04/devices/nope", headers=headers)
    assert_problem(device, 404, "not-found")
    energy = await api.client.get("/api/v1/communes/99999/energy/daily", headers=headers)
    assert_problem(energy, 404, "not-found")
    assert_problem(await api.client.get("/no/such/route"), 404, "not-found")


async def test_405_is_a_problem_too(api: Api) -> None:
    response = await api.client.delete("/api/v1/gateways", headers=api.auth("admin"))
    body = assert_problem(response, 405)
    assert body["type"] == "about:blank"
    assert body["title"] == "Method Not Allowed"
    assert "GET" in response.headers["allow"]


async def test_409_on_a_second_registration(api: Api) -> None:
    headers = api.auth("admin")
    first = await api.client.post("/api/v1/gateways", json={"id": "gw-new"}, headers=headers)
    assert first.status_code == 201
    again = await api.client.post("/api/v1/gateways", json={"id": "gw-new"}, headers=headers)
    assert "already exists" in assert_problem(again, 409, "conflict")["detail"]
    taken = await api.client.post(
        "/api/v1/gateways", json={"id": "gw-other", "mqtt_username": "gw-new"}, headers=headers
    )
    assert_problem(taken, 409, "conflict")


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/api/v1/gateways?limit=0", ["query", "limit"]),
        ("/api/v1/gateways?limit=501", ["query", "limit"]),
        ("/api/v1/gateways?limit=ten", ["query", "limit"]),
        ("/api/v1/gateways?cursor=%25%25", ["query", "cursor"]),
        ("/api/v1/gateways?cursor=bm90LWEtY3Vyc29y", ["query", "cursor"]),
        ("/api/v1/gateways?status=sleeping", ["query", "status"]),
        ("/api/v1/gateways/cab-thil-04/energy/daily?from=2026-13-01", ["query", "from"]),
        (
            "/api/v1/gateways/cab-thil-04/energy/daily?from=2026-10-10&to=2026-10-01",
            ["query", "from"],
        ),
        ("/api/v1/gateways/cab-thil-04/energy/daily?to=2026-11-03", ["query", "to"]),
        ("/api/v1/gateways/cab-thil-04/energy/daily?from=2024-01-01", ["query", "from"]),
        (
            "/api/v1/gateways/cab-thil-04/devices/cab-thil-04-meter/readings/latest?measurement=A;B",
            ["query", "measurement"],
        ),
    ],
)
async def test_422_names_the_bad_query_parameter(api: Api, path: str, where: list[str]) -> None:
    response = await api.client.get(path, headers=api.auth("technician"))
    body = assert_problem(response, 422, "invalid-request")
    assert [e["loc"] for e in body["errors"]] == [where]
    assert all(e["msg"] and e["type"] for e in body["errors"])


async def test_422_on_bad_bodies_without_echoing_them(api: Api) -> None:
    headers = api.auth("admin")
    bad_id = await api.client.post(
        "/api/v1/gateways", json={"id": "Bad Id!", "password": "s3cret"}, headers=headers
    )
    body = assert_problem(bad_id, 422, "invalid-request")
    assert sorted(tuple(e["loc"]) for e in body["errors"]) == [("body", "id"), ("body", "password")]
    assert "s3cret" not in bad_id.text
    assert "Bad Id!" not in bad_id.text
    not_json = await api.client.post(
        "/api/v1/gateways",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(not_json, 422, "invalid-request")
    unit = await api.client.post(
        "/api/v1/gateways/cab-thil-04/devices",
        json={"device_id": "m2", "profile": "eastron-sdm630", "unit_id": 300},
        headers=headers,
    )
    assert [e["loc"] for e in assert_problem(unit, 422)["errors"]] == [["body", "unit_id"]]
    site = await api.client.post(
        "/api/v1/gateways", json={"id": "gw-x", "site_id": "no-such-site"}, headers=headers
    )
    assert [e["loc"] for e in assert_problem(site, 422)["errors"]] == [["body", "site_id"]]


async def test_429_is_a_problem_with_retry_after(api: Api) -> None:
    bad = {"Authorization": "Bearer nope"}
    for _ in range(10):
        await api.client.get("/api/v1/gateways", headers=bad)
    response = await api.client.get("/api/v1/gateways", headers=bad)
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) > 0


async def test_500_hides_the_error_and_gives_an_id_to_quote(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("secret internals at 0xdeadbeef")

    api.app.add_api_route("/broken", broken)
    response = await api.client.get("/broken")
    body = assert_problem(response, 500, "internal-error")
    assert "deadbeef" not in response.text
    assert "RuntimeError" not in response.text
    assert body["request_id"] in body["detail"]
    assert body["request_id"] in caplog.text
    assert "deadbeef" in caplog.text


async def test_503_when_the_store_is_down(api: Api) -> None:
    await api.store.close()
    headers = api.auth("energy-manager")
    for path in [
        "/api/v1/gateways/cab-thil-04/energy/daily",
        "/api/v1/gateways/cab-thil-04/devices/cab-thil-04-meter/readings/latest",
    ]:
        response = await api.client.get(path, headers=headers)
        body = assert_problem(response, 503, "store-unavailable")
        assert response.headers["retry-after"] == "5"
        assert "timeseries.sqlite" not in body["detail"]
    health = await api.client.get("/healthz")
    body = assert_problem(health, 503, "unhealthy")
    assert body["checks"]["store"] == {"ok": False, "backend": "sqlite"}
    assert body["checks"]["registry"] == {"ok": True, "backend": "sqlite"}


async def test_503_when_the_registry_cannot_be_opened(api: Api, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "missing-folder" / "registry.sqlite"))
    deps = ApiDeps(
        sessions=make_session_factory(engine),
        store=api.store,
        clock=api.clock,
        metrics=CollectorRegistry(),
    )
    app: FastAPI = create_app(deps)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://eclor.test") as client:
        response = await client.get(
            "/api/v1/gateways", headers={"Authorization": "Bearer eclor_0123456789abcdef_x"}
        )
        assert_problem(response, 503, "registry-unavailable")
        health = assert_problem(await client.get("/healthz"), 503, "unhealthy")
        assert health["checks"]["registry"]["ok"] is False
        assert health["checks"]["store"]["ok"] is True
    engine.dispose()


async def test_healthz_ok(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["store"] == {"ok": True, "backend": "sqlite"}
    assert body["registry"] == {"ok": True, "backend": "sqlite"}


async def test_413_for_large_bodies_declared_or_streamed(api: Api) -> None:
    headers = {**api.auth("admin"), "Content-Type": "application/json"}
    declared = await api.client.post("/api/v1/gateways", content=b" " * 70_000, headers=headers)
    assert_problem(declared, 413, "too-large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b" " * 1000

    streamed = await api.client.post("/api/v1/gateways", content=chunks(), headers=headers)
    assert_problem(streamed, 413, "too-large")
