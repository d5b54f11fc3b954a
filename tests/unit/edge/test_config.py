"""A bad gateway config names the file, the key path and the value; the agent refuses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eclor.errors import ConfigError
from edge.config import load_gateway_config, parse_size

EXAMPLES = Path(__file__).resolve().parents[3] / "firmware_configs" / "gateways"


def base() -> dict[str, Any]:
    return {
        "gateway": {"id": "cab-thil-04"},
        "broker": {"host": "127.0.0.1"},
        "outbox": {"path": "outbox.sqlite"},
        "buses": [{"name": "rs485", "kind": "rtu", "port": "/dev/ttyUSB0"}],
        "devices": [{"id": "meter", "profile": "eastron-sdm630", "bus": "rs485", "unit": 1}],
    }


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "gw.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_sound_config_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    loaded = load_gateway_config(write(tmp_path, base()))
    assert loaded.config.outbox.path == (tmp_path / "outbox.sqlite").resolve()
    assert "eastron-sdm630" in loaded.profiles


@pytest.mark.parametrize(
    ("change", "key", "value"),
    [
        (lambda d: d["gateway"].update(id="Cab 04"), "gateway.id", "Cab 04"),
        (lambda d: d["buses"][0].update(baudrate=7), "buses[0].rtu.baudrate", 7),
        (lambda d: d["buses"][0].update(kind="can"), "buses[0]", None),
        (lambda d: d["devices"][0].update(unit=300), "devices[0].unit", 300),
        (lambda d: d["devices"][0].update(bus="rs232"), "devices[0].bus", "rs232"),
        (lambda d: d["devices"][0].update(profile="abb-b23"), "devices[0].profile", "abb-b23"),
        (
            lambda d: d["devices"][0].update(fields=["voltage_l1_v", "volts"]),
            "devices[0].fields[1]",
            "volts",
        ),
        (lambda d: d["devices"].append(dict(d["devices"][0])), "devices[1].id", "meter"),
        (lambda d: d["outbox"].update(max_bytes="lots"), "outbox.max_bytes", "lots"),
        (lambda d: d.update(colour="red"), "colour", "red"),
        (lambda d: d["broker"].pop("host"), "broker.host", None),
    ],
)
def test_errors_name_the_key_and_the_value(
    tmp_path: Path, change: Any, key: str, value: object
) -> None:
    doc = base()
    change(doc)
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as caught:
        load_gateway_config(path)
    err = caught.value
    assert err.file == str(path)
    assert err.key == key
    if value is not None:
        assert err.value == value
    assert str(path) in str(err)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text("gateway:\n  id: [unclosed\n")
    with pytest.raises(ConfigError, match="line 3"):
        load_gateway_config(path)


@pytest.mark.parametrize("secret", ["", "changeme", "  PASSWORD \n"])
def test_a_placeholder_password_refuses_to_start(tmp_path: Path, secret: str) -> None:
    (tmp_path / "mqtt.secret").write_text(secret)
    doc = base()
    doc["broker"].update(username="cab-thil-04", password_file="mqtt.secret")
    with pytest.raises(ConfigError, match="placeholder") as caught:
        load_gateway_config(write(tmp_path, doc))
    assert caught.value.key == "broker.password_file"


def test_sizes() -> None:
    assert parse_size("256MiB") == 256 * 1024**2
    assert parse_size("2 GB") == 2_000_000_000
    assert parse_size(4096) == 4096
    with pytest.raises(ValueError, match="not a size"):
        parse_size("big")


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_examples_load(tmp_path: Path, example: Path) -> None:
    doc = yaml.safe_load(example.read_text())
    (tmp_path / "mqtt.secret").write_text("k3Y9-generated-by-provisioning")
    doc["broker"]["password_file"] = str(tmp_path / "mqtt.secret")
    loaded = load_gateway_config(write(tmp_path, doc))
    assert loaded.config.devices
    assert loaded.config.broker.tls.enabled, "shipped examples talk TLS"


def test_examples_exist() -> None:
    assert len(list(EXAMPLES.glob("*.yaml"))) >= 2
