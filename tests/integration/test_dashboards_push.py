"""``eclor dashboards push`` against the Grafana API stand-in (tests/support/grafana_standin.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cloud.dashboards.boards import BOARDS
from cloud.dashboards.build import default_dir
from eclor.cli import app
from tests.services.ports import LOOPBACK, free_port
from tests.support.grafana_standin import GrafanaStandIn

pytestmark = pytest.mark.integration

TOKEN = "glsa_eclor_test"
runner = CliRunner()


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    with GrafanaStandIn(TOKEN) as standin:
        yield standin


def push(url: str, *extra: str, token: str = TOKEN) -> Any:
    args = [
        "dashboards",
        "push",
        "--grafana-url",
        url,
        "--token",
        token,
        "--influx-url",
        "http://influxdb:8086",
        "--database",
        "eclor",
        "--influx-user",
        "grafana",
        "--influx-password",
        "s3cret-reader",
        "--prometheus-url",
        "http://prometheus:9090",
        *extra,
    ]
    return runner.invoke(app, args)


def committed(uid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((default_dir() / f"{uid}.json").read_text(encoding="utf-8"))
    return data


def test_first_push_creates_the_sources_the_folder_and_every_board(grafana: GrafanaStandIn) -> None:
    result = push(grafana.url)
    assert result.exit_code == 0, result.output
    state = grafana.state
    assert set(state.datasources) == {"eclor-influxdb", "eclor-prometheus"}
    influx = state.datasources["eclor-influxdb"]
    assert influx["type"] == "influxdb"
    assert influx["url"] == "http://influxdb:8086"
    assert influx["jsonData"]["dbName"] == "eclor"
    assert influx["secureJsonFields"] == {"password": True}
    assert state.folders["eclor"]["title"] == "Eclor"
    assert set(state.dashboards) == {board.uid for board in BOARDS}
    for uid, stored in state.dashboards.items():
        board = {k: v for k, v in stored["dashboard"].items() if k not in ("id", "version")}
        assert board == committed(uid)
        assert stored["meta"]["folderUid"] == "eclor"
    saves = [r for r in state.writes if r.path == "/api/dashboards/db"]
    assert len(saves) == len(BOARDS)
    assert all(r.body["overwrite"] is True and r.body["folderUid"] == "eclor" for r in saves)
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.requests)
    assert "8 change(s)" in result.output


def test_a_second_push_changes_nothing(grafana: GrafanaStandIn) -> None:
    assert push(grafana.url).exit_code == 0
    writes = len(grafana.state.writes)
    versions = {uid: d["dashboard"]["version"] for uid, d in grafana.state.dashboards.items()}
    result = push(grafana.url)
    assert result.exit_code == 0, result.output
    assert len(grafana.state.writes) == writes
    assert {
        uid: d["dashboard"]["version"] for uid, d in grafana.state.dashboards.items()
    } == versions
    assert "0 change(s)" in result.output
    assert result.output.count("unchanged") == 8


def test_dry_run_prints_the_diff_and_writes_nothing(grafana: GrafanaStandIn) -> None:
    result = push(grafana.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert grafana.state.writes == []
    assert "would create dashboard eclor-consommation" in result.output
    assert "+++ eclor/eclor-consommation" in result.output
    assert "8 change(s) planned" in result.output


def test_a_board_edited_in_grafana_is_shown_then_put_back(grafana: GrafanaStandIn) -> None:
    assert push(grafana.url).exit_code == 0
    edited = grafana.state.dashboards["eclor-trafic"]["dashboard"]
    edited["title"] = "Trafic (modifié à la main)"
    writes = len(grafana.state.writes)
    result = push(grafana.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would update dashboard eclor-trafic" in result.output
    assert '-  "title": "Trafic (modifié à la main)"' in result.output
    assert '+  "title": "Trafic — Boucles de comptage"' in result.output
    assert "1 change(s) planned" in result.output
    assert len(grafana.state.writes) == writes
    assert push(grafana.url).exit_code == 0
    assert (
        grafana.state.dashboards["eclor-trafic"]["dashboard"]["title"]
        == committed("eclor-trafic")["title"]
    )


def test_a_changed_datasource_url_is_updated_in_place(grafana: GrafanaStandIn) -> None:
    assert push(grafana.url).exit_code == 0
    grafana.state.datasources["eclor-influxdb"]["url"] = "http://old-influx:8086"
    result = push(grafana.url)
    assert result.exit_code == 0, result.output
    assert "update datasource eclor-influxdb" in result.output
    assert grafana.state.datasources["eclor-influxdb"]["url"] == "http://influxdb:8086"
    assert [r.method for r in grafana.state.writes if "eclor-influxdb" in r.path] == ["PUT"]


def test_a_wrong_token_is_a_clear_error(grafana: GrafanaStandIn) -> None:
    result = push(grafana.url, token="glsa_wrong")
    assert result.exit_code == 2
    assert "HTTP 401" in result.output
    assert grafana.state.writes == []


def test_an_unreachable_grafana_is_a_clear_error() -> None:
    result = push(f"http://{LOOPBACK}:{free_port()}")
    assert result.exit_code == 2
    assert "error: Grafana: health" in result.output


def _post(grafana: GrafanaStandIn, path: str, body: Any, token: str = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{grafana.url}{path}", json=body, headers=headers)


def test_the_standin_refuses_what_grafana_refuses(grafana: GrafanaStandIn) -> None:
    board = committed("eclor-parc")
    assert _post(grafana, "/api/dashboards/db", {"dashboard": board}, token="x").status_code == 401
    assert _post(grafana, "/api/dashboards/db", {"board": board}).status_code == 400
    no_title = {"dashboard": {**board, "title": ""}}
    assert _post(grafana, "/api/dashboards/db", no_title).json()["status"] == "empty-name"
    unknown_folder = {"dashboard": board, "folderUid": "nope"}
    assert _post(grafana, "/api/dashboards/db", unknown_folder).status_code == 400
    assert _post(grafana, "/api/dashboards/db", {"dashboard": board}).status_code == 200
    stale = _post(grafana, "/api/dashboards/db", {"dashboard": {**board, "version": 0}})
    assert (stale.status_code, stale.json()["status"]) == (412, "version-mismatch")
    wrong_type = {"dashboard": board, "overwrite": "yes"}
    assert _post(grafana, "/api/dashboards/db", wrong_type).status_code == 400
    source = {"name": "x", "type": "influxdb", "access": "browser", "url": "http://i"}
    assert _post(grafana, "/api/datasources", source).status_code == 400
    source["access"] = "proxy"
    assert _post(grafana, "/api/datasources", source).status_code == 200
    assert _post(grafana, "/api/datasources", source).status_code == 409
    assert httpx.get(f"{grafana.url}/api/health").json()["database"] == "ok"
