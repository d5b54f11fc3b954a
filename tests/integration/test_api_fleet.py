"""Gateways and devices through the operator API: registration (credentials once), listings
without secrets, paging with a next link, detail with status, last seen, outbox and device
health; ETag/304 and Cache-Control on reads, no-store on registrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from cloud.registry import check_gateway_password, record_status
from eclor.clock import to_epoch_ms
from eclor.wire import DeviceHealth, OutboxHealth, Status
from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        yield api


async def test_registration_shows_the_password_once(api: Api) -> None:
    admin = api.auth("admin")
    response = await api.client.post(
        "/api/v1/gateways", json={"id": "cab-aumetz-02"}, headers=admin
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/gateways/cab-aumetz-02"
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    body = response.json()
    credentials = body["credentials"]
    assert credentials["username"] == "cab-aumetz-02"
    password = credentials["password"]
    assert len(password) >= 40
    assert body["gateway"]["status"] == "unknown"
    assert body["gateway"]["devices"] == []
    with api.sessions.begin() as session:
        assert check_gateway_password(session, "cab-aumetz-02", password) is not None

    reader = api.auth("technician")
    listing = await api.client.get("/api/v1/gateways", headers=reader)
    detail = await api.client.get("/api/v1/gateways/cab-aumetz-02", headers=reader)
    for later in (listing, detail):
        assert later.status_code == 200
        assert password not in later.text
        assert "password" not in later.text
        assert "credential_hash" not in later.text
    assert [g["id"] for g in listing.json()["items"]] == ["cab-aumetz-02"]
    assert detail.json()["mqtt_username"] == "cab-aumetz-02"


async def test_paging_follows_next_links_to_the_end(api: Api) -> None:
    admin = api.auth("admin")
    ids = [f"cab-{n:02d}" for n in range(7)]
    for gateway in reversed(ids):
        response = await api.client.post("/api/v1/gateways", json={"id": gateway}, headers=admin)
        assert response.status_code == 201
    reader = api.auth("technician")
    seen: list[str] = []
    url: str | None = "/api/v1/gateways?limit=3"
    pages = 0
    while url is not None:
        response = await api.client.get(url, headers=reader)
        assert response.status_code == 200
        body = response.json()
        seen += [g["id"] for g in body["items"]]
        url = body["next"]
        if url is not None:
            assert url.startswith("/api/v1/gateways?")
            assert "limit=3" in url
            assert response.headers["link"] == f'<{url}>; rel="next"'
        else:
            assert "link" not in response.headers
        pages += 1
    assert seen == ids
    assert pages == 3


async def test_filters_and_device_paging(api: Api) -> None:
    seed_fleet(api.sessions)
    reader = api.auth("energy-manager")
    by_site = await api.client.get("/api/v1/gateways?site=cab-vil-01", headers=reader)
    assert [g["id"] for g in by_site.json()["items"]] == ["cab-vil-01"]
    unknown = await api.client.get("/api/v1/gateways?status=online", headers=reader)
    assert unknown.json() == {"items": [], "next": None}

    first = await api.client.get("/api/v1/gateways/cab-thil-04/devices?limit=1", headers=reader)
    body = first.json()
    assert [d["device_id"] for d in body["items"]] == ["cab-thil-04-ctrl"]
    second = await api.client.get(body["next"], headers=reader)
    assert [d["device_id"] for d in second.json()["items"]] == ["cab-thil-04-meter"]
    assert second.json()["next"] is None
    missing = await api.client.get("/api/v1/gateways/cab-nowhere/devices", headers=reader)
    assert missing.status_code == 404


async def test_detail_shows_status_outbox_last_seen_and_device_health(api: Api) -> None:
    seed_fleet(api.sessions)
    status_time = api.clock.now() - timedelta(seconds=30)
    status = Status(
        gateway="cab-thil-04",
        state="online",
        time=to_epoch_ms(status_time),
        version="0.1.0",
        outbox=OutboxHealth(rows=42, bytes=8192, oldest_age_s=12.5),
        devices={
            "cab-thil-04-meter": DeviceHealth(state="ok", errors=0),
            "cab-thil-04-ctrl": DeviceHealth(state="unreachable", errors=7, detail="timeout"),
        },
    )
    with api.sessions.begin() as session:
        record_status(session, status, received_at=api.clock.now())
    response = await api.client.get("/api/v1/gateways/cab-thil-04", headers=api.auth("technician"))
    body = response.json()
    assert body["status"] == "online"
    assert body["version"] == "0.1.0"
    assert body["outbox"] == {"rows": 42, "bytes": 8192, "oldest_age_s": 12.5}
    assert body["last_seen_at"] == "2026-11-02T09:30:00Z"
    assert body["status_at"] == "2026-11-02T09:29:30Z"
    assert body["stale"] is False
    health = {d["device_id"]: (d["health"], d["health_errors"]) for d in body["devices"]}
    assert health == {"cab-thil-04-ctrl": ("unreachable", 7), "cab-thil-04-meter": ("ok", 0)}

    never_heard = await api.client.get("/api/v1/gateways/cab-vil-01", headers=api.auth("admin"))
    assert never_heard.json()["stale"] is True
    assert never_heard.json()["outbox"] is None
    api.clock.advance(301)
    later = await api.client.get("/api/v1/gateways/cab-thil-04", headers=api.auth("admin"))
    assert later.json()["stale"] is True


async def test_device_registration_and_detail(api: Api) -> None:
    seed_fleet(api.sessions)
    admin = api.auth("admin")
    device = {
        "device_id": "cab-thil-04-meter-2",
        "profile": "carlo-gavazzi-em24",
        "unit_id": 2,
        "tags": {"circuit": "north"},
        "installed_power_before_w": 4200.0,
    }
    created = await api.client.post(
        "/api/v1/gateways/cab-thil-04/devices", json=device, headers=admin
    )
    assert created.status_code == 201
    assert created.headers["location"] == "/api/v1/gateways/cab-thil-04/devices/cab-thil-04-meter-2"
    assert created.headers["cache-control"] == "no-store"
    detail = await api.client.get(created.headers["location"], headers=api.auth("technician"))
    body = detail.json()
    assert {k: body[k] for k in device} == device
    assert body["health"] == "unknown"
    assert body["last_seen_at"] is None
    again = await api.client.post(
        "/api/v1/gateways/cab-thil-04/devices", json=device, headers=admin
    )
    assert again.status_code == 409
    orphan = await api.client.post(
        "/api/v1/gateways/cab-nowhere/devices", json=device, headers=admin
    )
    assert orphan.status_code == 404


async def test_etag_gives_304_until_the_data_changes(api: Api) -> None:
    seed_fleet(api.sessions)
    reader = api.auth("technician")
    first = await api.client.get("/api/v1/gateways/cab-thil-04", headers=reader)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, max-age=15"
    same = await api.client.get(
        "/api/v1/gateways/cab-thil-04", headers={**reader, "If-None-Match": etag}
    )
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    assert same.headers["cache-control"] == "private, max-age=15"
    weak_list = await api.client.get(
        "/api/v1/gateways/cab-thil-04", headers={**reader, "If-None-Match": f'"x", W/{etag}'}
    )
    assert weak_list.status_code == 304
    with api.sessions.begin() as session:
        record_status(
            session,
            Status(gateway="cab-thil-04", state="online", time=to_epoch_ms(api.clock.now())),
            received_at=api.clock.now(),
        )
    changed = await api.client.get(
        "/api/v1/gateways/cab-thil-04", headers={**reader, "If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    listing = await api.client.get("/api/v1/gateways", headers=reader)
    cached = await api.client.get(
        "/api/v1/gateways", headers={**reader, "If-None-Match": listing.headers["etag"]}
    )
    assert cached.status_code == 304
