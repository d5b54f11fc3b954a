"""Residents' reports through the real app: JSON and multipart with photos, refusals that store
nothing, public copies without GPS, nearby search, operator status moves, rate limiting."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.api import ApiSettings
from cloud.errors import Conflict
from cloud.registry import make_session_factory, upgrade
from cloud.registry.models_reports import Report, ReportCategory, ReportPhoto, ReportStatus
from cloud.registry.reports import (
    NewReport,
    add_report,
    events_of,
    get_report,
    report_page,
    reports_near,
    set_report_status,
)
from tests.integration.test_api_harness import NOW, Api, open_api
from tests.integration.test_registry_db import BACKENDS, registry_engine

pytestmark = pytest.mark.integration

URL = "/api/v1/reports"
VILLERUPT = (49.4686, 5.9282)
BOUNDS = (5.70, 49.30, 6.20, 49.60)  # the territory's box: west, south, east, north
GPS_LAT = (49.0, 28.0, 7.0)


def settings(tmp_path: Path, **changes: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "report_photo_dir": tmp_path / "photos",
        "report_bounds": BOUNDS,
        "report_max_photo_bytes": 200_000,
        "public_post_burst": 100,
        "public_get_burst": 1000,
    }
    values.update(changes)
    return ApiSettings(**values)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path, settings=settings(tmp_path)) as api:
        yield api


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LAT
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (5.0, 55.0, 41.0)
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lat": VILLERUPT[0],
        "long": VILLERUPT[1],
        "category": "encombrants",
        "description": "Un canapé et deux matelas devant le n° 12.",
        "email": "habitant@example.org",
        "phone": "+33 6 12 34 56 78",
    }
    body.update(changes)
    return body


def stored(api: Api) -> tuple[int, int]:
    with api.sessions() as session:
        reports = session.scalar(select(func.count()).select_from(Report)) or 0
        photos = session.scalar(select(func.count()).select_from(ReportPhoto)) or 0
    return reports, photos


def files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def gps_of(data: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


async def test_a_json_report_is_public_without_personal_data(api: Api) -> None:
    created = await api.client.post(URL, json=report())
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["status"] == "open"
    assert view["category_name"] == "Encombrants"
    assert "email" not in view
    assert "phone" not in view
    shown = await api.client.get(created.headers["location"])
    assert shown.status_code == 200
    assert "habitant@example.org" not in shown.text
    assert "12 34 56" not in shown.text
    details = await api.client.get(
        f"{created.headers['location']}/details", headers=api.auth("technician")
    )
    assert details.json()["email"] == "habitant@example.org"


async def test_photos_public_copy_has_no_gps_while_the_original_had(
    api: Api, tmp_path: Path
) -> None:
    original = jpeg_with_gps()
    assert gps_of(original)[ExifTags.GPS.GPSLatitude] == GPS_LAT
    created = await api.client.post(
        URL,
        data={k: str(v) for k, v in report().items()},
        files=[("photos", ("IMG_0001.jpg", original, "image/jpeg"))],
    )
    assert created.status_code == 201, created.text
    [url] = created.json()["photos"]
    public = await api.client.get(url)
    assert public.status_code == 200
    assert public.headers["content-type"] == "image/jpeg"
    assert public.headers["x-content-type-options"] == "nosniff"
    assert gps_of(public.content) == {}
    with Image.open(io.BytesIO(public.content)) as image:
        assert not image.getexif()
    kept = await api.client.get(f"{url}/original", headers=api.auth("technician"))
    assert kept.content == original
    assert gps_of(kept.content)[ExifTags.GPS.GPSLatitude] == GPS_LAT
    photo_id = url.rsplit("/", 1)[1]
    names = sorted(str(p.relative_to(tmp_path / "photos")) for p in files(tmp_path / "photos"))
    assert names == [f"original/{photo_id}.jpg", f"public/{photo_id}.jpg"]
    refused = await api.client.get(f"{url}/original")
    assert refused.status_code == 401


async def test_script_in_the_text_comes_back_as_the_same_text_in_json(api: Api) -> None:
    text = '<script>alert("x")</script> & <b>gras</b>'
    created = await api.client.post(URL, json=report(description=text))
    assert created.status_code == 201
    shown = await api.client.get(created.headers["location"])
    assert shown.headers["content-type"] == "application/json"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.json()["description"] == text


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "photos", "status", "field"),
    [
        ({"lat": None}, [], 422, "lat"),
        ({"long": None}, [], 422, "long"),
        ({"lat": 48.85, "long": 2.35}, [], 422, "lat"),  # Paris: outside the territory
        ({"lat": 5.9282, "long": 49.4686}, [], 422, "lat"),  # latitude and longitude swapped
        ({"category": "voiture"}, [], 422, "category"),
        ({"description": "x" * 2001}, [], 422, "description"),
        ({"description": "nul\x00"}, [], 422, "description"),
        ({"email": "pas-une-adresse"}, [], 422, "email"),
        ({}, [b"GIF89a not really"], 415, "photos"),
        ({}, [b"%PDF-1.4 " + b"x" * 100], 415, "photos"),
        ({}, [png((600, 600)) + b"\0" * 200_000], 413, "photos"),
        ({}, [jpeg_with_gps()] * 4, 422, "photos"),
    ],
)
async def test_malformed_reports_are_refused_naming_the_field_and_nothing_is_stored(
    api: Api,
    tmp_path: Path,
    body: dict[str, Any],
    photos: list[bytes],
    status: int,
    field: str,
) -> None:
    fields = {k: str(v) for k, v in report(**body).items() if v is not None}
    uploads = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    response = await api.client.post(URL, data=fields, files=uploads or None)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in error["loc"] for error in response.json()["errors"])
    assert stored(api) == (0, 0)
    assert files(tmp_path / "photos") == []


async def test_wrong_body_type_and_huge_body(api: Api) -> None:
    wrong = await api.client.post(URL, content=b"lat=1", headers={"content-type": "text/plain"})
    assert wrong.status_code == 415
    huge = await api.client.post(
        URL, content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413
    assert stored(api) == (0, 0)


async def test_unknown_or_absurd_ids_are_4xx_not_errors(api: Api) -> None:
    assert (await api.client.get(f"{URL}/7")).status_code == 404
    assert (await api.client.get(f"{URL}/{'9' * 30}")).status_code == 422
    assert (await api.client.get(f"{URL}/0")).status_code == 422
    assert (await api.client.get(f"{URL}/7/photos/{'0' * 32}")).status_code == 404
    assert (await api.client.get(f"{URL}/7/photos/..%2F..%2Fregistry.sqlite")).status_code == 404
    cursor = await api.client.get(URL, params={"cursor": "bm9wZQ"})
    assert cursor.status_code == 422


async def test_nearby_reports_nearest_first_with_a_next_link(api: Api) -> None:
    ids = {}
    for name, north_m in (("far", 900), ("near", 50), ("mid", 300), ("out", 3000)):
        lat = VILLERUPT[0] + north_m / 111_195
        created = await api.client.post(URL, json=report(lat=lat, description=name))
        ids[name] = created.json()["id"]
    params = {"lat": VILLERUPT[0], "long": VILLERUPT[1], "radius_m": 1000, "limit": 2}
    first = (await api.client.get(URL, params=params)).json()
    assert [r["description"] for r in first["items"]] == ["near", "mid"]
    assert 45 < first["items"][0]["distance_m"] < 55
    second = (await api.client.get(first["next"])).json()
    assert [r["description"] for r in second["items"]] == ["far"]
    assert second["next"] is None
    moved = await api.client.post(
        f"{URL}/{ids['near']}/status", json={"status": "rejected"}, headers=api.auth("technician")
    )
    assert moved.status_code == 200
    again = (await api.client.get(URL, params=params)).json()
    assert [r["description"] for r in again["items"]] == ["mid", "far"]


async def test_status_moves_forward_and_invalid_moves_are_409(api: Api) -> None:
    created = (await api.client.post(URL, json=report())).json()
    where = f"{URL}/{created['id']}/status"
    agent = api.auth("technician")
    skipped = await api.client.post(where, json={"status": "closed"}, headers=agent)
    assert skipped.status_code == 409
    for status in ("acknowledged", "in_progress", "closed"):
        moved = await api.client.post(
            where, json={"status": status, "note": f"→ {status}"}, headers=agent
        )
        assert moved.status_code == 200, moved.text
    detail = moved.json()
    assert [e["to_status"] for e in detail["events"]] == ["acknowledged", "in_progress", "closed"]
    reopened = await api.client.post(where, json={"status": "open"}, headers=agent)
    assert reopened.status_code == 409
    public = (await api.client.get(f"{URL}/{created['id']}")).json()
    assert public["status"] == "closed"
    assert public["status_note"] == "→ closed"
    anonymous = await api.client.post(where, json={"status": "rejected"})
    assert anonymous.status_code == 401


async def test_public_posts_are_rate_limited_with_retry_after(tmp_path: Path) -> None:
    limited = settings(tmp_path, public_post_burst=2, public_post_per_min=6.0)
    (tmp_path / "limited").mkdir()
    async with open_api(tmp_path / "limited", settings=limited) as api:
        for _ in range(2):
            assert (await api.client.post(URL, json=report())).status_code == 201
        refused = await api.client.post(URL, json=report())
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"
        assert stored(api) == (2, 0)
        other = api.client_at("192.0.2.7")
        async with other:
            assert (await other.post(URL, json=report())).status_code == 201
        api.clock.advance(10)
        assert (await api.client.post(URL, json=report())).status_code == 201


# -- registry functions on SQLite and PostgreSQL ------------------------------------------------


@pytest.fixture(params=BACKENDS)
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    for engine in registry_engine(request, tmp_path):
        upgrade(engine)
        yield make_session_factory(engine)


def new(lat: float, lon: float, text: str = "dépôt") -> NewReport:
    return NewReport(lat, lon, ReportCategory.DEPOT_SAUVAGE, text)


def test_nearby_search_and_status_moves_in_the_registry(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        ids = [
            add_report(
                session,
                new(VILLERUPT[0] + north_m / 111_195, VILLERUPT[1], str(north_m)),
                [],
                now=NOW,
            ).id
            for north_m in (400, 20, 1500, 150)
        ]
        set_report_status(
            session, ids[3], ReportStatus.REJECTED, note="doublon", actor="t", now=NOW
        )
    with sessions.begin() as session:
        found = reports_near(session, *VILLERUPT, 1000)
        assert [n.report.description for n in found] == ["20", "400"]
        assert found[0].distance_m == pytest.approx(20, abs=0.5)
        every = reports_near(session, *VILLERUPT, 1000, statuses=list(ReportStatus))
        assert [n.report.description for n in every] == ["20", "150", "400"]
        with pytest.raises(Conflict, match="cannot go from rejected"):
            set_report_status(session, ids[3], ReportStatus.OPEN, note="", actor="t", now=NOW)
    with sessions.begin() as session:
        page, more = report_page(session, before=None, limit=2)
        assert [r.id for r in page] == sorted(ids, reverse=True)[:2]
        assert more


@pytest.mark.parametrize("sessions", ["postgresql"], indirect=True)
def test_two_operators_moving_one_report_one_gets_a_conflict(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        report_id = add_report(session, new(*VILLERUPT), [], now=NOW).id
    with sessions.begin() as first:
        loaded = get_report(first, report_id)  # the first operator has it loaded, still open
        with sessions.begin() as second:
            set_report_status(
                second, report_id, ReportStatus.ACKNOWLEDGED, note="", actor="b", now=NOW
            )
        with pytest.raises(Conflict, match="meanwhile"):
            set_report_status(
                first, report_id, ReportStatus.ACKNOWLEDGED, note="", actor="a", now=NOW
            )
        assert loaded.status == ReportStatus.OPEN
    with sessions() as session:
        assert len(events_of(session, report_id)) == 1


@pytest.fixture(params=["postgresql"])
async def pg_api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    for engine in registry_engine(request, tmp_path):
        async with open_api(tmp_path, registry=engine, settings=settings(tmp_path)) as api:
            yield api


async def test_the_whole_flow_on_postgresql(pg_api: Api) -> None:
    api = pg_api
    created = await api.client.post(
        URL,
        data={k: str(v) for k, v in report(description="<script>x</script>").items()},
        files=[("photos", ("a.jpg", jpeg_with_gps(), "image/jpeg"))],
    )
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    near = (await api.client.get(URL, params={"lat": VILLERUPT[0], "long": VILLERUPT[1]})).json()
    assert [r["id"] for r in near["items"]] == [report_id]
    assert near["items"][0]["description"] == "<script>x</script>"
    moved = await api.client.post(
        f"{URL}/{report_id}/status", json={"status": "acknowledged"}, headers=api.auth("admin")
    )
    assert moved.status_code == 200
    [open311] = (await api.client.get(f"/open311/v2/requests/{report_id}.json")).json()
    assert open311["status"] == "open"
    assert open311["media_url"].startswith("http://eclor.test/api/v1/reports/")
    refused = await api.client.post(URL, json=report(lat=None))
    assert refused.status_code == 422
    assert stored(api) == (1, 1)
