"""``POST /api/v1/enrol``: a gateway enrols with a one-time token and gets its MQTT credentials;
refusals (401 alike for every bad token, 403, 409, 422, 429, 503); single use across concurrent
calls; its audit rows; no secret in the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cloud.api import ApiSettings
from cloud.registry import check_gateway_password, get_gateway
from cloud.registry.enrolment import create_enrolment_token, revoke_enrolment_token
from cloud.registry.models import OperatorAudit
from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration

ENROL = "/api/v1/enrol"
BROKER = ApiSettings(
    mqtt_public_host="mqtt.eclor.example", mqtt_public_port=8884, mqtt_protocol="3.1.1"
)
SITE = "cab-thil-04"
OTHER_SITE_NAME = "Cabinet cab-vil-01"
REFUSED = "the enrolment token is malformed, unknown, used, expired or revoked"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path, settings=BROKER) as api:
        seed_fleet(api.sessions)
        yield api


def enrolment_token(
    api: Api,
    site: str = SITE,
    *,
    gateway_id: str | None = None,
    minutes: int = 60,
) -> str:
    with api.sessions.begin() as session:
        issued = create_enrolment_token(
            session,
            site,
            now=api.clock.now(),
            created_by="ops",
            lifetime=timedelta(minutes=minutes),
            gateway_id=gateway_id,
        )
        return issued.secret


def token_id(token: str) -> str:
    return token.split("_")[1]


async def enrol(
    client: httpx.AsyncClient, token: str, gateway_id: str = "cab-thil-09"
) -> httpx.Response:
    return await client.post(ENROL, json={"token": token, "gateway_id": gateway_id})


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def audit_rows(api: Api) -> list[OperatorAudit]:
    with api.sessions() as session:
        return list(session.scalars(select(OperatorAudit).order_by(OperatorAudit.id)))


# -- success ------------------------------------------------------------------------------------


async def test_a_gateway_enrols_and_gets_its_broker_credentials(api: Api) -> None:
    response = await enrol(api.client, enrolment_token(api), "cab-thil-09")
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"gateway_id", "mqtt", "server_time"}
    mqtt = body["mqtt"]
    password = mqtt.pop("password")
    assert body["gateway_id"] == "cab-thil-09"
    assert mqtt == {
        "host": "mqtt.eclor.example",
        "port": 8884,
        "username": "cab-thil-09",
        "tls": True,
        "protocol": "3.1.1",
    }
    assert body["server_time"] == "2026-11-02T09:30:00Z"
    with api.sessions() as session:
        assert check_gateway_password(session, "cab-thil-09", password) is not None
        assert get_gateway(session, "cab-thil-09").site_id == SITE
    detail = await api.client.get("/api/v1/gateways/cab-thil-09", headers=api.auth("admin"))
    assert detail.json()["site_id"] == SITE


async def test_re_enrolling_at_the_same_site_rotates_the_password(api: Api) -> None:
    first = (await enrol(api.client, enrolment_token(api), "cab-thil-09")).json()
    second = await enrol(api.client, enrolment_token(api, gateway_id="cab-thil-09"), "cab-thil-09")
    assert second.status_code == 201
    with api.sessions() as session:
        assert check_gateway_password(session, "cab-thil-09", first["mqtt"]["password"]) is None
        new = second.json()["mqtt"]["password"]
        assert check_gateway_password(session, "cab-thil-09", new) is not None
    assert audit_rows(api)[-1].detail == "password rotated"


# -- refusals -----------------------------------------------------------------------------------


async def test_every_bad_token_gets_the_same_401(api: Api) -> None:
    used = enrolment_token(api)
    assert (await enrol(api.client, used, "cab-thil-09")).status_code == 201
    expired = enrolment_token(api, minutes=5)
    revoked = enrolment_token(api)
    with api.sessions.begin() as session:
        revoke_enrolment_token(session, token_id(revoked), now=api.clock.now())
    api.clock.advance(5 * 60)
    live = enrolment_token(api)
    forged = live[: live.rindex("_") + 1] + "A" * 43
    bodies = []
    for token in (used, expired, revoked, forged, "eclor-enrol_0123456789abcdef_x", "nonsense"):
        response = await enrol(api.client, token, "cab-thil-10")
        body = problem(response, 401)
        assert response.headers["www-authenticate"] == 'Eclor-Enrolment realm="eclor"'
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["detail"] == REFUSED
    assert bodies[0]["type"] == "urn:eclor:problem:unauthorized"
    assert (await enrol(api.client, live, "cab-thil-10")).status_code == 201


async def test_a_gateway_of_another_site_is_a_409_and_keeps_the_token(api: Api) -> None:
    token = enrolment_token(api)
    body = problem(await enrol(api.client, token, "cab-vil-01"), 409)
    assert "another site" in body["detail"]
    assert OTHER_SITE_NAME not in body["detail"]
    with api.sessions() as session:
        assert get_gateway(session, "cab-vil-01").site_id == "cab-vil-01"
    assert (await enrol(api.client, token, "cab-thil-09")).status_code == 201


async def test_a_token_for_another_gateway_is_a_403_and_stays_usable(api: Api) -> None:
    token = enrolment_token(api, gateway_id="cab-thil-09")
    body = problem(await enrol(api.client, token, "cab-thil-10"), 403)
    assert body["type"] == "urn:eclor:problem:enrolment-other-gateway"
    assert "cab-thil-09" not in body["detail"]
    assert (await enrol(api.client, token, "cab-thil-09")).status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"token": "x", "gateway_id": "Cab 09"},
        {"token": "x", "gateway_id": "c" * 64},
        {"token": "x"},
        {"gateway_id": "cab-thil-09"},
        {"token": "", "gateway_id": "cab-thil-09"},
        {"token": "x" * 201, "gateway_id": "cab-thil-09"},
        {"token": "x", "gateway_id": "cab-thil-09", "site_id": "cab-vil-01"},
    ],
)
async def test_a_bad_body_is_a_422(api: Api, payload: dict[str, str]) -> None:
    body = problem(await api.client.post(ENROL, json=payload), 422)
    assert body["type"] == "urn:eclor:problem:invalid-request"
    assert audit_rows(api) == []  # refused before any token was looked at


async def test_wrong_tokens_are_rate_limited_with_the_operator_api(api: Api) -> None:
    good = enrolment_token(api)
    reader = api.auth("technician")
    async with api.client_at("192.0.2.10") as attacker, api.client_at("192.0.2.20") as other:
        for n in range(10):
            guess = f"eclor-enrol_0123456789abcdef_{n:043d}"
            problem(await enrol(attacker, guess), 401)
            api.clock.advance(1)
        limited = problem(await enrol(attacker, "eclor-enrol_0123456789abcdef_again"), 429)
        assert limited["type"] == "urn:eclor:problem:rate-limited"
        retry = int((await enrol(attacker, good)).headers["retry-after"])
        assert 0 < retry <= 60
        # The same budget of failures as bearer tokens: the operator API is closed to it too.
        assert (await attacker.get("/api/v1/gateways", headers=reader)).status_code == 429
        assert (await enrol(other, good, "cab-thil-11")).status_code == 201
        api.clock.advance(retry)
        fresh = enrolment_token(api)
        assert (await enrol(attacker, fresh, "cab-thil-12")).status_code == 201
    assert [r.status for r in audit_rows(api)].count(429) == 0  # limited calls are not audited


async def test_concurrent_calls_with_one_token_enrol_one_gateway(api: Api) -> None:
    token = enrolment_token(api)
    responses = await asyncio.gather(*(enrol(api.client, token, f"cab-race-{n}") for n in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 401, 401, 401]
    winner = next(r for r in responses if r.status_code == 201).json()["gateway_id"]
    listed = await api.client.get("/api/v1/gateways", headers=api.auth("admin"))
    ids = {g["id"] for g in listed.json()["items"]}
    assert {f"cab-race-{n}" for n in range(4)} & ids == {winner}


async def test_enrolment_is_off_without_a_public_broker(tmp_path: Path) -> None:
    async with open_api(tmp_path) as api:
        seed_fleet(api.sessions)
        token = enrolment_token(api)
        body = problem(await enrol(api.client, token), 503)
        assert body["type"] == "urn:eclor:problem:enrolment-unavailable"
        with api.sessions() as session:
            assert session.get(OperatorAudit, 1) is None
    async with open_api(tmp_path, settings=BROKER) as api:
        assert (await enrol(api.client, token)).status_code == 201  # not used up


# -- audit and secrets --------------------------------------------------------------------------


async def test_each_attempt_is_audited_without_secrets(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = enrolment_token(api)
    unknown = "eclor-enrol_0123456789abcdef_" + "B" * 43
    async with api.client_at("198.51.100.7") as client:
        await enrol(client, unknown, "cab-thil-09")
        await enrol(client, token, "cab-vil-01")
        created = await enrol(client, token, "cab-thil-09")
        await enrol(client, token, "cab-thil-10")
    password = created.json()["mqtt"]["password"]
    rows = audit_rows(api)
    summary = [(r.source, r.token_id, r.status, r.detail, r.targets) for r in rows]
    tid = token_id(token)
    assert summary == [
        ("enrol", None, 401, "refused: invalid", {"gateway_id": "cab-thil-09"}),
        (
            "enrol",
            tid,
            409,
            "refused: gateway 'cab-vil-01': exists at another site (or at none)",
            {"gateway_id": "cab-vil-01"},
        ),
        ("enrol", tid, 201, "enrolled", {"gateway_id": "cab-thil-09", "site_id": SITE}),
        ("enrol", tid, 401, "refused: used", {"gateway_id": "cab-thil-10"}),
    ]
    assert {(r.method, r.action, r.client, r.actor) for r in rows} == {
        ("POST", ENROL, "198.51.100.7", "enrolment")
    }
    secrets = [token.rsplit("_", 1)[1], "B" * 43, password]
    for row in rows:
        text = repr([getattr(row, c.name) for c in OperatorAudit.__table__.columns])
        assert not [s for s in secrets if s in text]
    assert caplog.records, "expected some logging to search"
    assert not [s for s in secrets if s in caplog.text]


async def test_the_openapi_schema_marks_enrol_public(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    operation = schema["paths"][ENROL]["post"]
    assert operation["x-eclor-public"] is True
    assert "security" not in operation
    assert set(operation["responses"]) >= {"201", "401", "403", "409", "422", "429", "503"}
    assert "application/problem+json" in operation["responses"]["401"]["content"]
