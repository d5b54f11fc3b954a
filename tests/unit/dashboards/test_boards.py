"""The committed boards are what the source builds, valid for the dashboard schema and well laid
out; the checks catch what they claim to catch."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cloud.dashboards import catalog
from cloud.dashboards.board import SCHEMA_VERSION
from cloud.dashboards.boards import BOARDS, consumption
from cloud.dashboards.build import board_json, build, default_dir, rendered
from cloud.dashboards.errors import BoardInvalid
from cloud.dashboards.query import Column, Query, substitute
from cloud.dashboards.validate import check, problems
from eclor.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    return {board.uid: board_json(board) for board in BOARDS}


def test_committed_files_are_what_build_writes() -> None:
    root = default_dir()
    files = rendered()
    assert len(files) == len(BOARDS) + 2
    for relative, text in files.items():
        assert (root / relative).read_text(encoding="utf-8") == text, (
            f"run eclor dashboards build: {relative}"
        )


def test_build_writes_nothing_when_up_to_date(tmp_path: Path) -> None:
    assert len(build(tmp_path)) == len(BOARDS) + 2
    assert build(tmp_path) == []


def test_every_board_is_valid_for_the_schema_and_well_laid_out(boards: dict[str, Any]) -> None:
    for uid, board in boards.items():
        assert problems(board) == [], uid
        assert board["schemaVersion"] == SCHEMA_VERSION >= 39  # Grafana 11.x
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids))


def test_every_panel_has_a_french_title_a_unit_and_thresholds(boards: dict[str, Any]) -> None:
    for board in boards.values():
        for panel in board["panels"]:
            defaults = panel["fieldConfig"]["defaults"]
            assert defaults["unit"], panel["title"]
            assert len(defaults["thresholds"]["steps"]) >= 2, panel["title"]
            assert panel["title"][0].isupper()


def test_variables_cascade_commune_to_cabinet_to_group(boards: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in boards["eclor-consommation"]["templating"]["list"]}
    assert list(variables) == ["commune", "cabinet", "group", "tariff"]
    assert "$commune" in variables["cabinet"]["query"]
    assert "$cabinet" in variables["group"]["query"]
    assert variables["tariff"]["type"] == "textbox"
    assert all("$tariff" not in v.get("query", "") for v in variables.values())
    cost = [p for p in boards["eclor-consommation"]["panels"] if "Coût" in p["title"]]
    assert "* $tariff" in cost[0]["targets"][0]["query"]
    assert cost[0]["fieldConfig"]["defaults"]["unit"] == "currencyEUR"


def test_a_second_unit_in_a_panel_is_an_override_by_query(boards: dict[str, Any]) -> None:
    [panel] = [
        p for p in boards["eclor-eclairage"]["panels"] if p["title"].startswith("Puissance mesurée")
    ]
    assert panel["fieldConfig"]["defaults"]["unit"] == "watt"
    [override] = panel["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "B"}
    assert override["properties"] == [{"id": "unit", "value": "percent"}]


def test_prometheus_panels_use_the_prometheus_source_and_say_so(boards: dict[str, Any]) -> None:
    panels = [p for p in boards["eclor-parc"]["panels"] if p["datasource"]["type"] == "prometheus"]
    assert len(panels) == 2  # ingest rate and dead letters; poll errors come from the store
    for panel in panels:
        assert "Prometheus" in panel["description"]
        assert all(t["datasource"]["uid"] == "eclor-prometheus" for t in panel["targets"])


def _broken(board: dict[str, Any], edit: str) -> list[str]:
    bad = copy.deepcopy(board)
    panels = bad["panels"]
    if edit == "unknown key":
        panels[0]["gridpos"] = panels[0].pop("gridPos")
    elif edit == "overlap":
        panels[1]["gridPos"] = dict(panels[0]["gridPos"])
    elif edit == "outside":
        panels[0]["gridPos"]["w"] = 30
    elif edit == "duplicate id":
        panels[1]["id"] = panels[0]["id"]
    elif edit == "no thresholds":
        del panels[0]["fieldConfig"]["defaults"]["thresholds"]
    elif edit == "bad variable type":
        bad["templating"]["list"][0]["type"] = "dropdown"
    elif edit == "wrong type":
        bad["title"] = 42
    elif edit == "target key":
        panels[0]["targets"][0]["measurement"] = "energy"
    elif edit == "wrong option":
        legend = {"showLegend": "yes", "displayMode": "list", "placement": "bottom", "calcs": []}
        series = next(p for p in panels if p["type"] == "timeseries" and "options" not in p)
        series["options"] = {"legend": legend}
    elif edit == "wrong threshold":
        panels[0]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] = "60"
    elif edit == "panel type":
        panels[0]["type"] = "graph-old"
    return problems(bad)


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ("unknown key", "key unknown to the dashboard schema"),
        ("overlap", "overlap"),
        ("outside", "outside the 24 columns"),
        ("duplicate id", "not unique"),
        ("no thresholds", "no thresholds"),
        ("bad variable type", "is not one of"),
        ("wrong type", "dashboard.title: 42 is not a str"),
        ("target key", "not a dashboard of the schema"),
        ("panel type", "unknown panel type"),
        ("wrong option", "'yes' is not a bool"),
        ("wrong threshold", "'60' is not a float"),
    ],
)
def test_the_checks_catch_a_broken_board(boards: dict[str, Any], edit: str, said: str) -> None:
    found = _broken(boards["eclor-consommation"], edit)
    assert any(said in problem for problem in found), found


def test_check_raises_naming_the_board(boards: dict[str, Any]) -> None:
    bad = copy.deepcopy(boards["eclor-trafic"])
    bad["panels"][0]["gridPos"]["x"] = 20
    with pytest.raises(BoardInvalid, match="eclor-trafic"):
        check(bad)


def test_a_renamed_field_in_the_catalog_changes_the_board(monkeypatch: pytest.MonkeyPatch) -> None:
    renamed = dataclasses.replace(catalog.ENERGY["power_factor_total"], name="cos_phi_total")
    fields = {k: v for k, v in catalog.ENERGY.fields.items() if k != "power_factor_total"}
    energy = dataclasses.replace(catalog.ENERGY, fields={**fields, renamed.name: renamed})
    fields["power_factor_total"] = renamed
    panels = tuple(
        dataclasses.replace(
            spec,
            queries=tuple(
                dataclasses.replace(
                    q,
                    measurement=energy,
                    columns=tuple(
                        dataclasses.replace(c, field=fields.get(c.field.name, c.field))
                        for c in q.columns
                    ),
                )
                if isinstance(q, Query) and q.measurement is catalog.ENERGY
                else q
                for q in spec.queries
            ),
        )
        for spec in consumption.PANELS
    )
    board = dataclasses.replace(consumption.BOARD, panels=panels)
    text = json.dumps(board_json(board), ensure_ascii=False, indent=2) + "\n"
    committed = (default_dir() / "eclor-consommation.json").read_text(encoding="utf-8")
    assert text != committed
    assert '\\"cos_phi_total\\"' in text
    assert '\\"power_factor_total\\"' not in text


def test_influxql_of_a_query_and_its_substitution() -> None:
    query = Query(
        catalog.ENERGY,
        (Column(catalog.ENERGY["energy_import_kwh"], "spread", "kWh", op="* $tariff"),),
        {"gateway": "cabinet"},
        ("gateway",),
        "1d",
        unit="currencyEUR",
    )
    text = query.influxql()
    assert text == (
        'SELECT spread("energy_import_kwh") * $tariff AS "kWh" FROM "energy" '
        'WHERE "gateway" =~ /^$cabinet$/ AND $timeFilter GROUP BY time(1d), "gateway" '
        "fill(none) tz('Europe/Paris')"
    )
    real = substitute(text, {"tariff": "0.2", "cabinet": "vil-c001"}, 0, 86_400_000, "1h")
    assert "* 0.2 " in real
    assert "/^vil\\-c001$/" in real
    assert "time >= 0ms AND time < 86400000ms" in real
    with pytest.raises(KeyError, match=r"\$cabinet"):
        substitute(text, {"tariff": "0.2"}, 0, 1, "1h")


def test_cli_check_passes_on_the_committed_boards() -> None:
    result = runner.invoke(app, ["dashboards", "check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_cli_check_fails_on_a_stale_folder(tmp_path: Path) -> None:
    assert runner.invoke(app, ["dashboards", "build", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "eclor-trafic.json").write_text("{}", encoding="utf-8")
    result = runner.invoke(app, ["dashboards", "check", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "eclor-trafic.json" in result.output


def test_the_subcommand_names_its_extras_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import eclor.cli as cli

    lazy = dataclasses.replace(cli._SUBCOMMANDS["dashboards"], requires=("no_such_module_x",))
    monkeypatch.setitem(cli._SUBCOMMANDS, "dashboards", lazy)
    result = runner.invoke(app, ["dashboards", "build"])
    assert result.exit_code == 2
    assert "pip install 'eclor[cloud,dashboards]'" in result.output
