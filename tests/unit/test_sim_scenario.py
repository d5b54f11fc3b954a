"""Scenario files: the packaged ones load, and every error names the file, the key and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eclor.errors import ConfigError
from simulators.scenario import (
    MeterSpec,
    RtuBus,
    fault_targets,
    load_scenario,
    packaged_scenarios,
    parse_scenario,
)

MINIMAL: dict[str, Any] = {
    "name": "tiny",
    "gateways": [
        {
            "id": "vil-c001",
            "site": "Villerupt — rue Carnot",
            "commune": "Villerupt",
            "latitude": 49.4683,
            "longitude": 5.9289,
            "cabinet": {"installed_w": 2000},
            "devices": [
                {"id": "meter", "model": "sdm630", "unit": 1},
                {"id": "controller", "model": "cabinet_controller", "unit": 2},
            ],
        }
    ],
}


def scenario_text(**changes: Any) -> str:
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return yaml.safe_dump(data, allow_unicode=True)


def error_for(text: str, file: str = "bad.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text, file)
    return caught.value


def test_packaged_scenarios_load() -> None:
    assert {"demo", "ccphva"} <= set(packaged_scenarios())
    demo = load_scenario("demo")
    assert len(demo.gateways) == 4
    assert any(isinstance(g.bus, RtuBus) for g in demo.gateways)
    assert demo.gateways[0].dali_lines[0].gear == 4


def test_ccphva_covers_the_eight_communes_with_about_150_cabinets() -> None:
    ccphva = load_scenario("ccphva")
    communes = {g.commune for g in ccphva.gateways}
    assert communes == {
        "Audun-le-Tiche",
        "Aumetz",
        "Boulange",
        "Ottange",
        "Rédange",
        "Russange",
        "Thil",
        "Villerupt",
    }
    cabinets = [g for g in ccphva.gateways if g.cabinet is not None]
    centres = [g for g in ccphva.gateways if g.waste_centre is not None]
    loops = [d for g in ccphva.gateways for d in g.devices if d.model == "loop_station"]
    assert 140 <= len(cabinets) <= 160
    assert 2 <= len(centres) <= 3
    assert 24 <= len(loops) <= 48
    for gateway in ccphva.gateways:
        assert abs(gateway.latitude - 49.45) < 0.1
        assert abs(gateway.longitude - 5.95) < 0.12
    villerupt = sum(1 for g in cabinets if g.commune == "Villerupt")
    redange = sum(1 for g in cabinets if g.commune == "Rédange")
    assert villerupt > 5 * redange  # proportional to population
    assert all(isinstance(g.meter(), MeterSpec) for g in cabinets)


def test_a_path_works_as_well_as_a_name(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(scenario_text(), encoding="utf-8")
    assert load_scenario(str(path)).name == "tiny"


def test_unknown_scenario_names_the_packaged_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenario("atlantis")
    assert "demo" in str(caught.value)
    assert caught.value.value == "atlantis"


@pytest.mark.parametrize(
    ("changes", "key", "value"),
    [
        ({"gateways__0__devices__0__unit": 0}, "gateways[0].devices[0].unit", 0),
        ({"gateways__0__id": "Vil_C001"}, "gateways[0].id", "Vil_C001"),
        ({"gateways__0__id": "a" * 64}, "gateways[0].id", "a" * 64),
        ({"gateways__0__latitude": 95.0}, "gateways[0].latitude", 95.0),
        ({"gateways__0__devices__0__model": "sdm999"}, "gateways[0].devices[0].model", "sdm999"),
        ({"gateways__0__cabinet": {"instaled_w": 2000}}, "gateways[0].cabinet.instaled_w", 2000),
        ({"gateways__0__cabinet": {}}, "gateways[0].cabinet.installed_w", None),
        ({"gateways__0__bus": {"kind": "rtu", "baudrate": 7}}, "gateways[0].bus.baudrate", 7),
        ({"timezone": "Europe/Pariss"}, "timezone", "Europe/Pariss"),
        (
            {"lighting": {"dim_steps": [{"from": "22:00", "to": "06:00", "level_pct": 150}]}},
            "lighting.dim_steps[0].level_pct",
            150,
        ),
    ],
)
def test_field_errors_name_file_key_and_value(
    changes: dict[str, Any], key: str, value: Any
) -> None:
    error = error_for(scenario_text(**changes))
    assert (error.file, error.key, error.value) == ("bad.yaml", key, value)
    assert "bad.yaml" in str(error)
    assert key in str(error)


def test_duplicate_unit_ids_are_refused() -> None:
    devices = [
        {"id": "meter", "model": "sdm630", "unit": 1},
        {"id": "controller", "model": "cabinet_controller", "unit": 1},
    ]
    error = error_for(scenario_text(gateways__0__devices=devices))
    assert (error.key, error.value) == ("gateways[0].devices[1].unit", 1)


def test_duplicate_gateway_ids_are_refused() -> None:
    gateway = MINIMAL["gateways"][0]
    error = error_for(scenario_text(gateways=[gateway, gateway]))
    assert (error.key, error.value) == ("gateways[1].id", "vil-c001")


def test_a_meter_needs_a_cabinet_and_a_waste_centre_a_gate() -> None:
    error = error_for(scenario_text(gateways__0__cabinet=None))
    assert (error.key, error.value) == ("gateways[0].devices[0].model", "sdm630")
    centre = {"bays": 8, "opening_hours": {"sat": ["09:00-18:00"]}}
    gateway = dict(
        MINIMAL["gateways"][0],
        cabinet=None,
        waste_centre=centre,
        devices=[{"id": "loops", "model": "loop_station", "unit": 3, "lanes": [{"peak_vph": 300}]}],
    )
    error = error_for(scenario_text(gateways=[gateway]))
    assert error.key == "gateways[0].devices"


def test_opening_hours_must_be_periods() -> None:
    centre = {"bays": 8, "opening_hours": {"sat": ["18:00-09:00"]}}
    gateway = dict(
        MINIMAL["gateways"][0],
        cabinet=None,
        waste_centre=centre,
        devices=[{"id": "gate", "model": "gate_controller", "unit": 1}],
    )
    error = error_for(scenario_text(gateways=[gateway]))
    assert error.key == "gateways[0].waste_centre.opening_hours"
    assert "ends before it starts" in error.reason


def test_faults_must_name_a_device_that_can_have_them() -> None:
    fault = {"after_s": 30, "device": "vil-c001/nowhere", "kind": "counter_reset"}
    error = error_for(scenario_text(faults=[fault]))
    assert (error.key, error.value) == ("faults[0].device", "vil-c001/nowhere")
    fault = {"after_s": 30, "device": "vil-c001/controller", "kind": "counter_reset"}
    error = error_for(scenario_text(faults=[fault]))
    assert (error.key, error.value) == ("faults[0].kind", "counter_reset")
    both = {
        "at": "2026-11-28T22:00:00+01:00",
        "after_s": 30,
        "device": "vil-c001",
        "kind": "day_burner",
    }
    assert error_for(scenario_text(faults=[both])).key == "faults[0]"
    naive = {"at": "2026-11-28T22:00:00", "device": "vil-c001", "kind": "day_burner"}
    assert error_for(scenario_text(faults=[naive])).key == "faults[0].at"


def test_fault_targets_include_dali_gear() -> None:
    targets = fault_targets(load_scenario("demo"))
    assert "gear_failure" in targets["vil-c001/dali/3"]
    assert "day_burner" in targets["vil-c002"]
    assert "meter_replaced" in targets["aud-c001/meter"]


def test_yaml_syntax_and_shape_errors_name_the_file() -> None:
    assert error_for("name: [unclosed", "broken.yaml").file == "broken.yaml"
    assert error_for("- a list", "list.yaml").reason.startswith("a scenario is a mapping")
