"""Open311 GeoReport v2 over the same reports, through the real app: services, form-encoded
requests, filters, the open/closed mapping and the spec's error arrays."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cloud.api import ApiSettings
from tests.integration.test_api_harness import NOW, Api, open_api

pytestmark = pytest.mark.integration

V2 = "/open311/v2"
BOUNDS = (5.70, 49.30, 6.20, 49.60)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = ApiSettings(
        report_bounds=BOUNDS,
        report_photo_dir=tmp_path / "photos",
        public_post_burst=100,
        public_get_burst=1000,
        max_body_bytes=1_000_000,
    )
    async with open_api(tmp_path, settings=settings) as api:
        yield api


def form(**changes: str) -> dict[str, str]:
    fields = {
        "service_code": "pneus",
        "lat": "49.4686",
        "long": "5.9282",
        "description": "Une dizaine de pneus au bord du chemin.",
        "email": "riverain@example.org",
        "api_key": "ignored",
        "media_url": "http://169.254.169.254/latest/meta-data",
    }
    fields.update(changes)
    return fields


async def post(api: Api, **changes: str) -> Any:
    return await api.client.post(f"{V2}/requests.json", data=form(**changes))


async def test_services_list_our_categories(api: Api) -> None:
    response = await api.client.get(f"{V2}/services.json")
    assert response.status_code == 200
    services = response.json()
    codes = [s["service_code"] for s in services]
    assert codes[0] == "depot-sauvage"
    assert "amiante-suspecte" in codes
    assert services[0]["service_name"] == "Dépôt sauvage"
    assert services[0]["metadata"] is False
    assert services[0]["type"] == "realtime"
    definition = await api.client.get(f"{V2}/services/pneus.json")
    assert definition.json() == {"service_code": "pneus", "attributes": []}
    unknown = await api.client.get(f"{V2}/services/voitures.json")
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404


async def test_a_form_encoded_request_becomes_a_report(api: Api) -> None:
    created = await post(api)
    assert created.status_code == 201, created.text
    [answer] = created.json()
    request_id = answer["service_request_id"]
    assert answer["service_notice"]
    [shown] = (await api.client.get(f"{V2}/requests/{request_id}.json")).json()
    assert shown["status"] == "open"
    assert shown["service_code"] == "pneus"
    assert shown["service_name"] == "Pneus"
    assert shown["lat"] == 49.4686
    assert shown["long"] == 5.9282
    assert shown["media_url"] is None  # media_url is never fetched
    assert "riverain@example.org" not in str(shown)
    ours = (await api.client.get(f"/api/v1/reports/{request_id}")).json()
    assert ours["description"] == "Une dizaine de pneus au bord du chemin."


async def test_status_maps_to_open_or_closed_with_notes(api: Api) -> None:
    request_id = (await post(api)).json()[0]["service_request_id"]
    agent = api.auth("technician")
    for status, note in (("acknowledged", "Vu"), ("in_progress", "Équipe en route")):
        await api.client.post(
            f"/api/v1/reports/{request_id}/status",
            json={"status": status, "note": note},
            headers=agent,
        )
        [shown] = (await api.client.get(f"{V2}/requests/{request_id}.json")).json()
        assert shown["status"] == "open"
        assert shown["status_notes"] == note
    await api.client.post(
        f"/api/v1/reports/{request_id}/status",
        json={"status": "closed", "note": "Enlevé"},
        headers=agent,
    )
    [shown] = (await api.client.get(f"{V2}/requests/{request_id}.json")).json()
    assert shown["status"] == "closed"
    assert shown["status_notes"] == "Enlevé"


async def test_filters(api: Api) -> None:
    first = (await post(api)).json()[0]["service_request_id"]
    api.clock.advance(3600)
    second = (await post(api, service_code="gravats")).json()[0]["service_request_id"]
    await api.client.post(
        f"/api/v1/reports/{first}/status",
        json={"status": "rejected", "note": "doublon"},
        headers=api.auth("admin"),
    )

    async def ids(**params: str) -> list[str]:
        response = await api.client.get(f"{V2}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert await ids() == [second, first]
    assert await ids(status="open") == [second]
    assert await ids(status="closed") == [first]
    assert await ids(service_code="gravats") == [second]
    assert await ids(service_request_id=f"{first}") == [first]
    later = (NOW + timedelta(minutes=30)).isoformat()
    assert await ids(start_date=later) == [second]
    assert await ids(end_date=later) == [first]
    api.clock.advance(91 * 86_400)
    assert await ids() == []  # the default window is the last 90 days


@pytest.mark.parametrize(
    ("changes", "status", "named"),
    [
        ({"lat": ""}, 400, "lat"),
        ({"long": "east"}, 400, "long"),
        ({"lat": "48.85", "long": "2.35"}, 400, "lat"),
        ({"service_code": "voitures"}, 404, "service_code"),
        ({"service_code": ""}, 400, "service_code"),
        ({"description": "x" * 2001}, 400, "description"),
    ],
)
async def test_bad_requests_get_the_spec_error_array(
    api: Api, changes: dict[str, str], status: int, named: str
) -> None:
    response = await post(api, **changes)
    assert response.status_code == status, response.text
    errors = response.json()
    assert isinstance(errors, list)
    assert errors[0]["code"] == status
    assert errors[0]["description"].startswith(named)
    assert (await api.client.get(f"{V2}/requests.json")).json() == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "pending"}, "status"),
        ({"start_date": "hier"}, "start_date"),
        ({"start_date": "2026-11-01T00:00:00"}, "start_date"),
        ({"service_request_id": "1,x"}, "service_request_id"),
        ({"service_request_id": "9" * 30}, "service_request_id"),
        ({"service_code": "voitures"}, "service_code"),
    ],
)
async def test_bad_filters_get_the_spec_error_array(
    api: Api, params: dict[str, str], named: str
) -> None:
    response = await api.client.get(f"{V2}/requests.json", params=params)
    assert response.status_code == 400
    assert response.json()[0]["description"].startswith(named)


async def test_unknown_request_and_files_refused(api: Api) -> None:
    assert (await api.client.get(f"{V2}/requests/999.json")).status_code == 404
    assert (await api.client.get(f"{V2}/requests/abc.json")).json()[0]["code"] == 404
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    response = await api.client.post(
        f"{V2}/requests.json", data=form(), files=[("media", ("a.jpg", out.getvalue()))]
    )
    assert response.status_code == 400
    assert response.json()[0]["description"].startswith("media")


async def test_posts_are_rate_limited_in_the_spec_format(tmp_path: Path) -> None:
    settings = ApiSettings(report_bounds=BOUNDS, public_post_burst=1, public_post_per_min=2.0)
    async with open_api(tmp_path, settings=settings) as api:
        assert (await post(api)).status_code == 201
        refused = await post(api)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
        assert refused.json()[0]["code"] == 429
