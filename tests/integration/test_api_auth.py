"""Operator API authentication: the scope matrix, refused tokens (401 with WWW-Authenticate),
the failure rate limit per client address (429 with Retry-After), and no token in the logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from cloud.registry import revoke_token
from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration

READS = [
    "/api/v1/gateways",
    "/api/v1/gateways/cab-thil-04",
    "/api/v1/gateways/cab-thil-04/devices",
    "/api/v1/gateways/cab-thil-04/devices/cab-thil-04-meter",
    "/api/v1/gateways/cab-thil-04/devices/cab-thil-04-meter/readings/latest",
    "/api/v1/gateways/cab-thil-04/energy/daily",
    "/api/v1/sites/cab-thil-04/energy/daily",
    "/api/v1/communes/57672/energy/daily",
]
SCOPES = ["public", "technician", "energy-manager", "admin"]
READERS = {"technician", "energy-manager", "admin"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        seed_fleet(api.sessions)
        yield api


@pytest.mark.parametrize("scope", SCOPES)
async def test_reads_need_a_reading_scope(api: Api, scope: str) -> None:
    headers = api.auth(scope)
    for path in READS:
        response = await api.client.get(path, headers=headers)
        expected = 200 if scope in READERS else 403
        assert response.status_code == expected, (path, response.text)


@pytest.mark.parametrize("scope", SCOPES)
async def test_registrations_need_admin(api: Api, scope: str) -> None:
    headers = api.auth(scope)
    gateway = await api.client.post("/api/v1/gateways", json={"id": f"gw-{scope}"}, headers=headers)
    device = await api.client.post(
        "/api/v1/gateways/cab-thil-04/devices",
        json={"device_id": f"dev-{scope}", "profile": "eastron-sdm120"},
        headers=headers,
    )
    expected = 201 if scope == "admin" else 403
    assert (gateway.status_code, device.status_code) == (expected, expected)


async def test_forbidden_names_the_scopes_that_would_do(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/gateways", json={"id": "gw-x"}, headers=api.auth("technician")
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="admin"' in challenge


async def test_no_token_is_a_401_challenge(api: Api) -> None:
    response = await api.client.get("/api/v1/gateways")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="eclor"'
    assert response.json()["type"] == "urn:eclor:problem:unauthorized"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer eclor_0123456789abcdef_nope",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer " + "x" * 5000,
    ],
)
async def test_bad_tokens_are_401_invalid_token(api: Api, header: str) -> None:
    response = await api.client.get("/api/v1/gateways", headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_wrong_secret_for_a_real_token_id_is_refused(api: Api) -> None:
    token = api.token("admin")
    forged = token[: token.rindex("_") + 1] + "A" * 43
    response = await api.client.get(
        "/api/v1/gateways", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_an_expired_token_is_refused(api: Api) -> None:
    token = api.token("technician", expires_at=api.clock.now() + timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/gateways", headers=headers)).status_code == 200
    api.clock.advance(5 * 60)
    response = await api.client.get("/api/v1/gateways", headers=headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_revoked_token_is_refused(api: Api) -> None:
    token = api.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/gateways", headers=headers)).status_code == 200
    with api.sessions.begin() as session:
        revoke_token(session, token.split("_")[1], now=api.clock.now())
    assert (await api.client.get("/api/v1/gateways", headers=headers)).status_code == 401


async def test_ten_failures_a_minute_then_429_with_retry_after(api: Api) -> None:
    bad = {"Authorization": "Bearer eclor_0123456789abcdef_guess"}
    good = api.auth("technician")
    async with api.client_at("192.0.2.10") as attacker, api.client_at("192.0.2.20") as other:
        for _ in range(10):
            assert (await attacker.get("/api/v1/gateways", headers=bad)).status_code == 401
            api.clock.advance(1)
        limited = await attacker.get("/api/v1/gateways", headers=bad)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        retry = int(limited.headers["retry-after"])
        assert 0 < retry <= 60
        # Blocked before the token is looked at: a good token from there waits too.
        assert (await attacker.get("/api/v1/gateways", headers=good)).status_code == 429
        # Another address is not affected.
        assert (await other.get("/api/v1/gateways", headers=good)).status_code == 200
        api.clock.advance(retry)
        assert (await attacker.get("/api/v1/gateways", headers=good)).status_code == 200


async def test_an_ipv6_client_is_counted_by_its_64(api: Api) -> None:
    bad = {"Authorization": "Bearer eclor_0123456789abcdef_guess"}
    for host in range(10):
        async with api.client_at(f"2001:db8:1:2::{host + 1:x}") as client:
            assert (await client.get("/api/v1/gateways", headers=bad)).status_code == 401
    async with api.client_at("2001:db8:1:2:ffff::1") as neighbour:
        assert (await neighbour.get("/api/v1/gateways", headers=bad)).status_code == 429
    async with api.client_at("2001:db8:1:3::1") as elsewhere:
        assert (await elsewhere.get("/api/v1/gateways", headers=bad)).status_code == 401


async def test_missing_tokens_do_not_count_as_failures(api: Api) -> None:
    for _ in range(20):
        assert (await api.client.get("/api/v1/gateways")).status_code == 401
    assert (await api.client.get("/api/v1/gateways", headers=api.auth("admin"))).status_code == 200


async def test_tokens_never_reach_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    token = api.token("admin")
    secret = token.split("_", 2)[2]
    caplog.set_level(logging.DEBUG)
    await api.client.get("/api/v1/gateways", headers={"Authorization": f"Bearer {token}"})
    await api.client.get("/api/v1/gateways", headers={"Authorization": f"Bearer {token}x"})
    await api.client.get("/api/v1/nowhere", headers={"Authorization": f"Bearer {token}"})
    assert caplog.records, "expected some DEBUG logging to search"
    assert secret not in caplog.text
