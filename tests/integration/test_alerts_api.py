"""Alerts through the real app: operators issue, update and cancel CAP messages; the public
list shows active alerts only, and expired ones leave it by themselves as the clock moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.api import ApiSettings
from cloud.errors import Conflict
from cloud.registry import make_session_factory, upgrade
from cloud.registry.alerts import (
    AlertContent,
    active_alerts,
    cancel_alert,
    create_alert,
    get_alert,
    update_alert,
)
from cloud.registry.models_reports import AlertCategory, Certainty, Severity, Urgency
from tests.integration.test_api_harness import NOW, Api, open_api
from tests.integration.test_registry_db import BACKENDS, registry_engine

pytestmark = pytest.mark.integration

URL = "/api/v1/alerts"
CAP = "49.47,5.92 49.48,5.92 49.48,5.94 49.47,5.94 49.47,5.92"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path, settings=ApiSettings(public_get_burst=1000)) as api:
        yield api


def draft(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "Met",
        "event": "Orages",
        "urgency": "Expected",
        "severity": "Moderate",
        "certainty": "Likely",
        "onset": NOW.isoformat(),
        "expires": (NOW + timedelta(hours=6)).isoformat(),
        "headline": "Vigilance orange orages",
        "description": "Orages forts attendus en fin de journée.",
        "instruction": "Évitez les déplacements.",
        "area": {"area_desc": "Villerupt", "cap_polygon": CAP, "communes": ["57683"]},
        "colour": 3,
    }
    body.update(changes)
    return body


async def active(api: Api) -> list[dict[str, Any]]:
    response = await api.client.get(URL)
    assert response.status_code == 200
    alerts: list[dict[str, Any]] = response.json()["alerts"]
    return alerts


async def test_an_issued_alert_is_public_in_cap_shape_with_both_polygon_orders(api: Api) -> None:
    created = await api.client.post(URL, json=draft(), headers=api.auth("energy-manager"))
    assert created.status_code == 201, created.text
    alert = created.json()
    assert created.headers["location"] == f"{URL}/{alert['identifier']}"
    assert alert["msgType"] == "Alert"
    assert alert["scope"] == "Public"
    assert alert["references"] is None
    [shown] = await active(api)
    assert shown["identifier"] == alert["identifier"]
    area = shown["info"]["area"]
    assert area["polygon"] == CAP
    assert area["geometry"]["coordinates"][0][0] == [5.92, 49.47]  # longitude first
    assert area["geocode"] == [{"valueName": "INSEE", "value": "57683"}]
    assert shown["info"]["colourName"] == "orange"


async def test_public_list_caches_publicly_and_answers_304(api: Api) -> None:
    await api.client.post(URL, json=draft(), headers=api.auth("admin"))
    first = await api.client.get(URL)
    assert first.headers["cache-control"] == "public, max-age=60"
    again = await api.client.get(URL, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_expired_alerts_leave_the_list_by_themselves(api: Api) -> None:
    short = draft(expires=(NOW + timedelta(minutes=30)).isoformat(), headline="court")
    await api.client.post(URL, json=short, headers=api.auth("admin"))
    await api.client.post(URL, json=draft(), headers=api.auth("admin"))
    assert len(await active(api)) == 2
    api.clock.advance(30 * 60)
    assert [a["info"]["headline"] for a in await active(api)] == ["Vigilance orange orages"]


async def test_update_replaces_and_cancel_removes(api: Api) -> None:
    admin = api.auth("admin")
    first = (await api.client.post(URL, json=draft(), headers=admin)).json()
    api.clock.advance(60)
    red = draft(severity="Severe", colour=4, headline="Vigilance rouge orages")
    updated = await api.client.post(f"{URL}/{first['identifier']}/update", json=red, headers=admin)
    assert updated.status_code == 201, updated.text
    assert updated.json()["msgType"] == "Update"
    assert updated.json()["references"] == first["identifier"]
    [shown] = await active(api)
    assert shown["identifier"] == updated.json()["identifier"]
    assert shown["info"]["severity"] == "Severe"
    again = await api.client.post(f"{URL}/{first['identifier']}/update", json=red, headers=admin)
    assert again.status_code == 409
    cancelled = await api.client.post(
        f"{URL}/{shown['identifier']}/cancel", json={"note": "Fin de l'épisode"}, headers=admin
    )
    assert cancelled.status_code == 201
    assert cancelled.json()["msgType"] == "Cancel"
    assert cancelled.json()["references"] == shown["identifier"]
    assert await active(api) == []
    old = await api.client.get(f"{URL}/{first['identifier']}", headers=admin)
    assert old.json()["supersededBy"] == shown["identifier"]


async def test_most_severe_first(api: Api) -> None:
    admin = api.auth("admin")
    for severity in ("Minor", "Extreme", "Moderate"):
        await api.client.post(URL, json=draft(severity=severity), headers=admin)
    assert [a["info"]["severity"] for a in await active(api)] == ["Extreme", "Moderate", "Minor"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expires": (NOW - timedelta(minutes=1)).isoformat()}, "expires"),
        ({"expires": "2026-11-02T18:00:00"}, "expires"),
        ({"severity": "Apocalyptic"}, "severity"),
        ({"area": {"area_desc": "nulle part"}}, "area"),
        ({"area": {"area_desc": "x", "cap_polygon": "49.47,5.92 49.48,5.92"}}, "area"),
        ({"colour": 5}, "colour"),
        ({"headline": ""}, "headline"),
    ],
)
async def test_bad_drafts_are_refused_naming_the_field(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    response = await api.client.post(URL, json=draft(**changes), headers=api.auth("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in error["loc"] for error in response.json()["errors"])
    assert await active(api) == []


async def test_writing_needs_an_issuing_scope(api: Api) -> None:
    refused = await api.client.post(URL, json=draft(), headers=api.auth("technician"))
    assert refused.status_code == 403
    anonymous = await api.client.post(URL, json=draft())
    assert anonymous.status_code == 401
    assert await active(api) == []


async def test_exercises_are_not_shown_to_the_public(api: Api) -> None:
    response = await api.client.post(URL, json=draft(status="Exercise"), headers=api.auth("admin"))
    assert response.status_code == 201
    assert await active(api) == []


# -- registry functions on SQLite and PostgreSQL ------------------------------------------------


@pytest.fixture(params=BACKENDS)
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    for engine in registry_engine(request, tmp_path):
        upgrade(engine)
        yield make_session_factory(engine)


def content(**changes: Any) -> AlertContent:
    values: dict[str, Any] = {
        "category": AlertCategory.MET,
        "event": "Orages",
        "urgency": Urgency.EXPECTED,
        "severity": Severity.MODERATE,
        "certainty": Certainty.LIKELY,
        "expires": NOW + timedelta(hours=3),
        "headline": "Orages",
        "description": "Orages en soirée.",
        "area_desc": "Thil",
        "communes": ("57672",),
    }
    values.update(changes)
    return AlertContent(**values)


WHO = {"sender": "alertes@eclor.example", "created_by": "test"}


def test_a_chain_in_the_registry(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = create_alert(session, content(), now=NOW, **WHO)
        second = update_alert(
            session, first.identifier, content(severity=Severity.SEVERE), now=NOW, **WHO
        )
    with sessions.begin() as session:
        assert [a.identifier for a in active_alerts(session, NOW)] == [second.identifier]
        assert active_alerts(session, NOW + timedelta(hours=3)) == []
        with pytest.raises(Conflict, match="already replaced"):
            cancel_alert(session, first.identifier, note="", now=NOW, **WHO)
    with sessions.begin() as session:
        cancel = cancel_alert(session, second.identifier, note="fini", now=NOW, **WHO)
        assert cancel.references == second.identifier
        assert active_alerts(session, NOW) == []
        with pytest.raises(Conflict, match="Cancel"):
            update_alert(session, cancel.identifier, content(), now=NOW, **WHO)


@pytest.mark.parametrize("sessions", ["postgresql"], indirect=True)
def test_two_updates_of_one_alert_do_not_fork_the_chain(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        identifier = create_alert(session, content(), now=NOW, **WHO).identifier
    with sessions.begin() as first:
        loaded = get_alert(first, identifier)  # loaded while still current
        with sessions.begin() as second:
            update_alert(second, identifier, content(headline="B"), now=NOW, **WHO)
        with pytest.raises(Conflict, match="meanwhile"):
            update_alert(first, identifier, content(headline="A"), now=NOW, **WHO)
        assert loaded.identifier == identifier
    with sessions() as session:
        assert [a.headline for a in active_alerts(session, NOW)] == ["B"]


async def test_issuing_and_cancelling_are_in_the_operator_audit(api: Api) -> None:
    issuer = api.auth("energy-manager")
    alert = (await api.client.post(URL, json=draft(), headers=issuer)).json()
    await api.client.post(f"{URL}/{alert['identifier']}/cancel", json={}, headers=issuer)
    audit = (await api.client.get("/api/v1/audit", headers=api.auth("admin"))).json()["items"]
    actions = [(entry["method"], entry["action"], entry["status"]) for entry in audit]
    assert actions == [
        ("POST", f"{URL}/{{alert_id}}/cancel", 201),
        ("POST", URL, 201),
    ]
    assert audit[0]["targets"]["alert_id"] == alert["identifier"]


CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"


def children(element: ET.Element) -> list[str]:
    return [child.tag.removeprefix(CAP_NS) for child in element]


async def test_a_message_as_cap_xml_in_schema_order_with_references(api: Api) -> None:
    admin = api.auth("admin")
    first = (await api.client.post(URL, json=draft(), headers=admin)).json()
    text = "Orages <b>forts</b> & grêle"
    update = await api.client.post(
        f"{URL}/{first['identifier']}/update", json=draft(description=text), headers=admin
    )
    response = await api.client.get(f"{URL}/{update.json()['identifier']}/cap")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/cap+xml"
    assert b"&lt;b&gt;forts&lt;/b&gt; &amp; gr" in response.content
    root = ET.fromstring(response.content)
    assert root.tag == f"{CAP_NS}alert"
    assert children(root) == [
        "identifier", "sender", "sent", "status", "msgType", "scope", "references", "info",
    ]  # fmt: skip
    assert root.findtext(f"{CAP_NS}msgType") == "Update"
    assert root.findtext(f"{CAP_NS}sent") == "2026-11-02T09:30:00-00:00"
    assert root.findtext(f"{CAP_NS}references") == (
        f"alertes@eclor.example,{first['identifier']},2026-11-02T09:30:00-00:00"
    )
    info = root.find(f"{CAP_NS}info")
    assert info is not None
    assert children(info) == [
        "language", "category", "event", "urgency", "severity", "certainty", "onset",
        "expires", "headline", "description", "instruction", "parameter", "area",
    ]  # fmt: skip
    assert info.findtext(f"{CAP_NS}description") == text
    assert info.findtext(f"{CAP_NS}parameter/{CAP_NS}value") == "3; orange; Severe"
    assert info.findtext(f"{CAP_NS}area/{CAP_NS}polygon") == CAP  # latitude first
    assert info.findtext(f"{CAP_NS}area/{CAP_NS}geocode/{CAP_NS}value") == "57683"
    missing = await api.client.get(f"{URL}/nope/cap")
    assert missing.status_code == 404
