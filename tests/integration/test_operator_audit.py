"""The operator audit: a row for each state-changing API call of an identified token (whatever
its outcome), none for anonymous or refused-token calls, never a secret; ``GET /api/v1/audit``
(admin, paged); an answer still goes out when its row cannot be written; the CLI's security
commands audited with the user who ran them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text
from typer.testing import CliRunner

from cloud.registry import (
    SiteKind,
    add_commune,
    add_site,
    create_token,
    make_engine,
    make_session_factory,
    sqlite_url,
    upgrade,
)
from cloud.registry.models import OperatorAudit
from eclor.cli import app as eclor_app
from tests.integration.test_api_harness import Api, open_api, seed_fleet

pytestmark = pytest.mark.integration

CLIENT = "203.0.113.5"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as api:
        seed_fleet(api.sessions)
        yield api


def named_token(api: Api, name: str, *scopes: str) -> tuple[str, str]:
    """``(token id, Authorization header value)``."""
    with api.sessions.begin() as session:
        issued = create_token(session, name, scopes, now=api.clock.now())
    return issued.token.id, f"Bearer {issued.secret}"


def rows(api: Api) -> list[OperatorAudit]:
    with api.sessions() as session:
        return list(session.scalars(select(OperatorAudit).order_by(OperatorAudit.id)))


def every_value(row: OperatorAudit) -> str:
    return repr([getattr(row, c.name) for c in OperatorAudit.__table__.columns])


async def test_each_operator_action_is_recorded_with_its_outcome(api: Api) -> None:
    admin_id, admin = named_token(api, "j.dupont", "admin")
    tech_id, tech = named_token(api, "m.martin", "technician")
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/gateways", {"id": "cab-thil-09", "site_id": "cab-thil-04"}, admin),
        ("/api/v1/gateways", {"id": "cab-thil-09"}, admin),  # 409: exists
        ("/api/v1/gateways", {"id": "Not An Id"}, admin),  # 422
        ("/api/v1/gateways/cab-thil-09/devices", {"device_id": "m1", "profile": "p"}, admin),
        ("/api/v1/gateways/nowhere/devices", {"device_id": "m1", "profile": "p"}, admin),
        ("/api/v1/gateways", {"id": "cab-thil-10"}, tech),  # 403: no scope
    ]
    async with api.client_at(CLIENT) as client:
        statuses = []
        for path, body, auth in calls:
            response = await client.post(path, json=body, headers={"Authorization": auth})
            statuses.append(response.status_code)
    assert statuses == [201, 409, 422, 201, 404, 403]
    recorded = [(r.token_id, r.actor, r.method, r.action, r.targets, r.status) for r in rows(api)]
    gateways, devices = "/api/v1/gateways", "/api/v1/gateways/{gateway_id}/devices"
    assert recorded == [
        (admin_id, "j.dupont", "POST", gateways, {"created": f"{gateways}/cab-thil-09"}, 201),
        (admin_id, "j.dupont", "POST", gateways, {}, 409),
        (admin_id, "j.dupont", "POST", gateways, {}, 422),
        (
            admin_id,
            "j.dupont",
            "POST",
            devices,
            {"gateway_id": "cab-thil-09", "created": f"{gateways}/cab-thil-09/devices/m1"},
            201,
        ),
        (admin_id, "j.dupont", "POST", devices, {"gateway_id": "nowhere"}, 404),
        (tech_id, "m.martin", "POST", gateways, {}, 403),
    ]
    assert {(r.source, r.client, r.at) for r in rows(api)} == {("api", CLIENT, api.clock.now())}


async def test_anonymous_refused_and_read_calls_are_not_recorded(api: Api) -> None:
    _, admin = named_token(api, "ops", "admin")
    body = {"id": "cab-thil-09"}
    await api.client.post("/api/v1/gateways", json=body)
    await api.client.post(
        "/api/v1/gateways", json=body, headers={"Authorization": "Bearer eclor_0_x"}
    )
    await api.client.post("/api/v1/nowhere", json=body, headers={"Authorization": admin})
    await api.client.get("/api/v1/gateways", headers={"Authorization": admin})
    await api.client.put("/api/v1/gateways", json=body, headers={"Authorization": admin})  # 405
    assert rows(api) == []


async def test_audit_rows_never_hold_a_secret(api: Api) -> None:
    _, admin = named_token(api, "ops", "admin")
    _, tech = named_token(api, "tech", "technician")
    created = await api.client.post(
        "/api/v1/gateways", json={"id": "cab-thil-09"}, headers={"Authorization": admin}
    )
    password = created.json()["credentials"]["password"]
    await api.client.post(
        "/api/v1/gateways", json={"id": "cab-thil-10"}, headers={"Authorization": tech}
    )
    # eclor_<id>_<secret>: the secret is URL-safe base64 and may hold "_" itself.
    secrets = [admin.split("_", 2)[2], tech.split("_", 2)[2], password]
    assert len(rows(api)) == 2
    for row in rows(api):
        assert not [s for s in secrets if s in every_value(row)]


async def test_the_audit_is_listed_to_admins_newest_first_by_pages(api: Api) -> None:
    admin_id, admin = named_token(api, "ops", "admin")
    headers = {"Authorization": admin}
    for n in range(5):
        await api.client.post("/api/v1/gateways", json={"id": f"gw-{n}"}, headers=headers)
    first = await api.client.get("/api/v1/audit", params={"limit": 2}, headers=headers)
    assert first.status_code == 200
    page = first.json()
    assert [e["targets"]["created"] for e in page["items"]] == [
        "/api/v1/gateways/gw-4",
        "/api/v1/gateways/gw-3",
    ]
    assert page["items"][0]["token_id"] == admin_id
    assert first.headers["link"] == f'<{page["next"]}>; rel="next"'
    assert first.headers["cache-control"] == "private, max-age=0"
    seen = [e["id"] for e in page["items"]]
    while page["next"]:
        page = (await api.client.get(page["next"], headers=headers)).json()
        seen += [e["id"] for e in page["items"]]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 5
    again = await api.client.get(
        "/api/v1/audit",
        params={"limit": 2},
        headers={**headers, "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    other = await api.client.get(
        "/api/v1/audit", params={"token_id": "0123456789abcdef"}, headers=headers
    )
    assert other.json() == {"items": [], "next": None}


@pytest.mark.parametrize("scope", ["public", "technician", "energy-manager"])
async def test_only_admins_read_the_audit(api: Api, scope: str) -> None:
    response = await api.client.get("/api/v1/audit", headers=api.auth(scope))
    assert response.status_code == 403
    assert (await api.client.get("/api/v1/audit")).status_code == 401


@pytest.mark.parametrize("cursor", ["nonsense", "MTp4", "MTo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
async def test_a_foreign_cursor_is_a_422(api: Api, cursor: str) -> None:
    response = await api.client.get(
        "/api/v1/audit", params={"cursor": cursor}, headers=api.auth("admin")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_the_answer_goes_out_when_its_row_cannot_be_written(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    _, admin = named_token(api, "ops", "admin")
    with api.sessions.begin() as session:
        session.execute(text("DROP TABLE operator_audit"))
    response = await api.client.post(
        "/api/v1/gateways", json={"id": "cab-thil-09"}, headers={"Authorization": admin}
    )
    assert response.status_code == 201
    failures = api.metrics.get_sample_value("eclor_api_audit_failures_total")
    assert failures == 1.0
    assert "audit row of POST /api/v1/gateways (status 201) not written" in caplog.text
    assert admin.rsplit("_", 1)[1] not in caplog.text


# -- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    registry = tmp_path / "registry.sqlite"
    engine = make_engine(sqlite_url(registry))
    upgrade(engine)
    with make_session_factory(engine).begin() as session:
        add_commune(session, "57672", "Thil")
        add_site(
            session,
            "cab-thil-04",
            name="Cabinet",
            commune="57672",
            kind=SiteKind.CABINET,
            latitude=49.47,
            longitude=5.91,
        )
    engine.dispose()
    config = tmp_path / "cloud.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "registry": {"url": f"sqlite:///{registry}"},
                "store": {"sqlite": {"path": str(tmp_path / "ts.sqlite")}},
            }
        )
    )
    return config


def cli_rows(config: Path) -> list[OperatorAudit]:
    url = yaml.safe_load(config.read_text())["registry"]["url"]
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(OperatorAudit).order_by(OperatorAudit.id)))
    finally:
        engine.dispose()


def test_cli_enrolment_commands_are_audited(cli_config: Path) -> None:
    runner = CliRunner()
    base = ["cloud", "enrol"]
    created = runner.invoke(
        eclor_app,
        [*base, "create", "--config", str(cli_config), "--site", "cab-thil-04", "--minutes", "30"],
    )
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("eclor-enrol_")
    token_id = token.split("_")[1]
    refused = runner.invoke(
        eclor_app, [*base, "create", "--config", str(cli_config), "--site", "nowhere"]
    )
    assert refused.exit_code == 2
    revoked = runner.invoke(eclor_app, [*base, "revoke", token_id, "--config", str(cli_config)])
    assert revoked.exit_code == 0, revoked.output
    listed = runner.invoke(eclor_app, [*base, "list", "--config", str(cli_config)])
    assert token_id in listed.output
    assert "revoked" in listed.output
    recorded = cli_rows(cli_config)
    assert [(r.source, r.method, r.action, r.status) for r in recorded] == [
        ("cli", "CLI", "enrol create", 0),
        ("cli", "CLI", "enrol create", 2),
        ("cli", "CLI", "enrol revoke", 0),
    ]
    assert recorded[0].targets == {
        "site_id": "cab-thil-04",
        "gateway_id": "*",
        "token_id": token_id,
    }
    assert recorded[1].detail == "refused: no site 'nowhere'"
    assert recorded[2].targets == {"token_id": token_id}
    assert all("@" in r.actor and r.client for r in recorded)
    secret = token.rsplit("_", 1)[1]
    assert not [r for r in recorded if secret in every_value(r)]
