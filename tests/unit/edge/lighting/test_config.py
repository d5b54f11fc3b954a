"""The ``lighting:`` section: a bad reference names the file, the key path and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eclor.errors import ConfigError
from edge.config import load_gateway_config

PROFILES = Path(__file__).resolve().parents[4] / "firmware_configs" / "profiles"


def document(**lighting: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "state_path": "state/lighting.json",
        "site": {"latitude": 49.47, "longitude": 5.93},
        "dali_lines": [{"name": "dali", "port": "luba232:/dev/ttyUSB1"}],
        "groups": [
            {
                "name": "main",
                "dali": {"line": "dali", "group": 0},
                "contactor": {"device": "ctrl", "outputs": ["contactor_1"]},
                "setpoint": {"device": "ctrl", "output": "dim_setpoint_pct"},
                "meter": {"device": "meter", "rated_w": 3300, "power_field": "power_total_w"},
            }
        ],
        "local_rules": [
            {
                "group": "main",
                "device": "loops",
                "lanes": [1, 2],
                "steps": [{"min_vph": 0, "level_pct": 50}, {"min_vph": 300, "level_pct": 100}],
            }
        ],
    }
    section.update(lighting)
    return {
        "gateway": {"id": "cab-thil-04"},
        "broker": {"host": "127.0.0.1"},
        "outbox": {"path": "outbox.sqlite"},
        "profiles_dir": str(PROFILES),
        "buses": [{"name": "rs485", "kind": "rtu", "port": "/dev/ttyUSB0"}],
        "devices": [
            {"id": "meter", "profile": "eastron-sdm630", "bus": "rs485", "unit": 1},
            {"id": "ctrl", "profile": "eclor-cabinet-controller", "bus": "rs485", "unit": 2},
            {"id": "loops", "profile": "eclor-loop-station", "bus": "rs485", "unit": 3},
        ],
        "lighting": section,
    }


def load(tmp_path: Path, doc: dict[str, Any]) -> Any:
    path = tmp_path / "gw.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_gateway_config(path)


def test_a_sound_section_loads_with_its_state_path_relative_to_the_file(tmp_path: Path) -> None:
    lighting = load(tmp_path, document()).config.lighting
    assert lighting.state_path == tmp_path / "state" / "lighting.json"
    assert lighting.groups[0].dali.label == "dali/group0"
    assert lighting.tick_s == 1.0


def _group(**changes: Any) -> list[dict[str, Any]]:
    group = dict(document()["lighting"]["groups"][0])
    group.update(changes)
    return [group]


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        (
            {"groups": _group(dali={"line": "other", "group": 0})},
            "lighting.groups[0].dali.line",
            "other",
        ),
        (
            {"groups": _group(contactor={"device": "nope", "outputs": ["contactor_1"]})},
            "lighting.groups[0].contactor.device",
            "nope",
        ),
        (
            {"groups": _group(contactor={"device": "ctrl", "outputs": ["contactor_1", "door"]})},
            "lighting.groups[0].contactor.outputs[1]",
            "door",
        ),
        (
            {"groups": _group(setpoint={"device": "meter", "output": "dim_setpoint_pct"})},
            "lighting.groups[0].setpoint.output",
            "dim_setpoint_pct",
        ),
        (
            {"groups": _group(meter={"device": "meter", "rated_w": 10, "power_field": "watts"})},
            "lighting.groups[0].meter.power_field",
            "watts",
        ),
        (
            {"groups": [*_group(), *_group()]},
            "lighting.groups[1].name",
            "main",
        ),
        (
            {
                "local_rules": [
                    {
                        "group": "side",
                        "device": "loops",
                        "lanes": [1],
                        "steps": [{"min_vph": 0, "level_pct": 50}],
                    }
                ]
            },
            "lighting.local_rules[0].group",
            "side",
        ),
        (
            {
                "local_rules": [
                    {
                        "group": "main",
                        "device": "meter",
                        "lanes": [1],
                        "steps": [{"min_vph": 0, "level_pct": 50}],
                    }
                ]
            },
            "lighting.local_rules[0].lanes[0]",
            "1",
        ),
    ],
)
def test_bad_references_name_the_key_and_value(
    tmp_path: Path, section: dict[str, Any], key: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, document(**section))
    assert caught.value.key == key
    assert str(caught.value.value) == value
    assert str(tmp_path / "gw.yaml") in str(caught.value)


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"groups": [{"name": "bare"}]}, "needs a dali, contactor or setpoint"),
        (
            {"groups": [{"name": "Main-Street", "setpoint": {"device": "ctrl", "output": "x"}}]},
            "name",
        ),
        ({"tick_s": 0}, "tick_s"),
        (
            {
                "local_rules": [
                    {
                        "group": "main",
                        "device": "loops",
                        "lanes": [1],
                        "steps": [
                            {"min_vph": 300, "level_pct": 100},
                            {"min_vph": 0, "level_pct": 50},
                        ],
                    }
                ]
            },
            "ascending",
        ),
    ],
)
def test_invalid_values_are_refused(tmp_path: Path, section: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load(tmp_path, document(**section))
