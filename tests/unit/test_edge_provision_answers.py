"""Provisioning answers: the answers file, flags over it, defaults from the existing config, and
every missing answer named at once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from eclor.errors import ConfigError
from edge.config import GatewayConfig
from edge.errors import AnswersError
from edge.provision.answers import (
    TOKEN_ENV,
    RtuScan,
    TcpScan,
    load_answers,
    parse_units,
    resolve,
    with_defaults,
)
from edge.provision.command import Flags, overrides
from edge.provision.prompts import Asker, _bus

ANSWERS = """
gateway: {id: cab-thil-04, commune: thil, latitude: 49.4717, longitude: 5.9078}
cloud: {api_url: "https://api.eclor.example/api/v1/", token: eclor-enrol_x_y}
buses:
  - {kind: rtu, port: /dev/ttyUSB0, units: "1-3,10"}
  - {kind: tcp, host: 192.168.10.20}
devices:
  poll_interval_s: 5
  exclude: ["rs485:7"]
  overrides:
    "rs485:1": {id: cab-thil-04-main, tags: {circuit: main}}
"""

EXISTING = {
    "gateway": {"id": "cab-thil-04", "site": "thil-nord", "commune": "thil",
                "latitude": 49.47, "longitude": 5.9},
    "broker": {"host": "mqtt.example", "password_file": "secret/mqtt"},
    "outbox": {"path": "/var/lib/eclor/outbox.sqlite"},
    "buses": [
        {"name": "line", "kind": "rtu", "port": "/dev/ttyUSB1", "baudrate": 19200, "parity": "E"},
        {"name": "lan", "kind": "tcp", "host": "10.0.0.5"},
        {"name": "bridge", "kind": "rtu_over_tcp", "host": "10.0.0.6", "port": 4001},
    ],
}  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_units_take_ranges_and_lists() -> None:
    assert parse_units("1-3, 10,2") == [1, 2, 3, 10]
    assert parse_units([5, 1]) == [1, 5]
    assert parse_units(None) is None
    for bad in ("1-x", "248", ""):
        with pytest.raises(ValueError, match="unit"):
            parse_units(bad)


def test_the_answers_file_resolves_into_settings(tmp_path: Path) -> None:
    answers = load_answers(write(tmp_path, ANSWERS), {})
    settings = resolve(answers, tmp_path / "gw.yaml", None, has_credentials=False)
    assert settings.identity.id == "cab-thil-04"
    assert settings.identity.site == "cab-thil-04", "the site defaults to the gateway id"
    assert settings.api_url == "https://api.eclor.example", "/api/v1 is the client's business"
    assert settings.token == "eclor-enrol_x_y"
    rtu, tcp = settings.buses
    assert isinstance(rtu, RtuScan)
    assert (rtu.name, rtu.units, rtu.fixed) == ("rs485", [1, 2, 3, 10], False)
    assert isinstance(tcp, TcpScan)
    assert (tcp.bus_name, tcp.port) == ("192-168-10-20-502", 502)
    assert settings.devices.excludes("rs485:7")
    assert settings.devices.answer_for("rs485:1").id == "cab-thil-04-main"
    assert settings.outbox_path == Path("gw.outbox.sqlite")
    assert settings.password_file == Path("gw.mqtt.secret")
    assert "eclor-enrol" not in repr(settings), "the token stays out of reprs"


def test_flags_override_the_file_key_by_key(tmp_path: Path) -> None:
    flags = Flags(commune="villerupt", serial=["/dev/ttyUSB3"], baudrate=9600, units="1-2",
                  tags=["zone=nord"], exclude=["lan:1"])  # fmt: skip
    answers = load_answers(write(tmp_path, ANSWERS), overrides(flags))
    assert answers.gateway.commune == "villerupt"
    assert answers.gateway.id == "cab-thil-04", "the file's other keys stay"
    (bus,) = answers.buses
    assert isinstance(bus, RtuScan)
    assert (bus.port, bus.baudrate, bus.fixed) == ("/dev/ttyUSB3", 9600, True)
    assert answers.units == [1, 2]
    assert answers.devices.tags == {"zone": "nord"}
    assert answers.devices.exclude == ["lan:1"]
    assert answers.devices.poll_interval_s == 5


def test_a_bad_tag_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="key=value"):
        overrides(Flags(tags=["zone"]))


def test_an_error_in_the_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway: {id: Not An Id}\n")
    with pytest.raises(ConfigError) as caught:
        load_answers(path, {})
    assert caught.value.file == str(path)
    assert caught.value.key == "gateway.id"


def test_every_missing_answer_is_named_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    answers = with_defaults(load_answers(None, {"gateway": {"id": "gw-1"}}), None)
    with pytest.raises(AnswersError) as caught:
        resolve(answers, tmp_path / "gw.yaml", None, has_credentials=False)
    missing = " ".join(caught.value.problems)
    for key in (
        "gateway.commune",
        "gateway.latitude",
        "gateway.longitude",
        "cloud.api_url",
        "cloud.token",
        "buses",
    ):
        assert key in missing  # fmt: skip


def test_an_existing_config_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "eclor-enrol_from_env")
    existing = GatewayConfig.model_validate(EXISTING)
    answers = with_defaults(load_answers(None, {"cloud": {"api_url": "http://c"}}), existing)
    assert answers.gateway.site == "thil-nord"
    line, lan = answers.buses  # RTU over TCP cannot be scanned: it is kept, not rescanned
    assert isinstance(line, RtuScan)
    assert (line.name, line.port, line.baudrate, line.parity) == (
        "line",
        "/dev/ttyUSB1",
        19200,
        "E",
    )
    assert isinstance(lan, TcpScan)
    assert lan.bus_name == "lan"
    settings = resolve(answers, Path("/etc/eclor/gateway.yaml"), existing, has_credentials=True)
    assert settings.token == "eclor-enrol_from_env"
    assert settings.outbox_path == Path("/var/lib/eclor/outbox.sqlite")
    assert settings.password_file == Path("secret/mqtt")


def test_without_a_token_the_existing_credentials_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    existing = GatewayConfig.model_validate(EXISTING)
    answers = with_defaults(load_answers(None, {"cloud": {"api_url": "http://c"}}), existing)
    settings = resolve(answers, Path("/etc/eclor/gateway.yaml"), existing, has_credentials=True)
    assert settings.token is None


def test_a_new_config_under_etc_puts_the_outbox_in_the_state_folder() -> None:
    answers = load_answers(None, {
        "gateway": {"id": "gw-1", "commune": "thil", "latitude": 49.0, "longitude": 5.0},
        "cloud": {"api_url": "http://c", "token": "t"},
        "buses": [{"kind": "tcp", "host": "h"}],
    })  # fmt: skip
    settings = resolve(answers, Path("/etc/eclor/gateway.yaml"), None, has_credentials=False)
    assert settings.outbox_path == Path("/var/lib/eclor/outbox.sqlite")


def test_the_answers_file_of_the_docs_is_valid(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "edge.md").read_text(encoding="utf-8")
    section = docs.split("## Provisioning a gateway", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    answers = load_answers(write(tmp_path, example), {})
    assert [b.kind for b in answers.buses] == ["rtu", "tcp"]
    assert answers.devices.answer_for("rs485:10").profile == "eclor-cabinet-controller"


def test_a_bus_typed_wrong_is_asked_again() -> None:
    keys = io.StringIO("\n".join(["serial", "1-300", "1-4", "/dev/ttyUSB1", "fast", "19200", "E"]))
    screen = io.StringIO()
    asker = Asker(Console(file=screen, width=120), keys)
    bus = _bus(asker, 0)
    assert isinstance(bus, RtuScan)
    assert (bus.port, bus.units, bus.baudrate, bus.parity) == (
        "/dev/ttyUSB1",
        [1, 2, 3, 4],
        19200,
        "E",
    )
    assert "unit ids go from 0 to 247" in screen.getvalue()
    assert "not a baud rate: 'fast'" in screen.getvalue()
