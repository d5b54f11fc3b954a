"""One regression test per fuzzer finding; every reproducer in fuzz/crashes/ replays clean."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from eclor.errors import ConfigError
from edge.config import load_gateway_config
from edge.modbus.decode import decode_registers
from edge.modbus.planner import plan_reads
from edge.profiles import DataType, Field, Function, Profile, load_profile

SHIPPED = Path(__file__).resolve().parents[2] / "firmware_configs"
CRASHES = Path(__file__).resolve().parents[2] / "fuzz" / "crashes"
REPRODUCERS = sorted(p for p in CRASHES.glob("*/*") if p.is_file())


def test_every_target_with_findings_has_reproducers() -> None:
    assert {p.parent.name for p in REPRODUCERS} >= {"modbus", "config"}


@pytest.mark.parametrize(
    "path", REPRODUCERS, ids=[f"{p.parent.name}/{p.name}" for p in REPRODUCERS]
)
def test_reproducer_replays_without_a_finding(path: Path) -> None:
    target = importlib.import_module(f"fuzz.targets.{path.parent.name}")
    target.one_input(path.read_bytes())


def test_a_scale_that_overflows_to_infinity_is_an_invalid_reading() -> None:
    """fuzz/crashes/modbus/scaled-to-infinity: the wire has no infinity to carry it."""
    field = Field(
        name="p",
        function=Function.INPUT_REGISTER,
        address=0,
        type=DataType.FLOAT64,
        scale=1e10,
    )
    largest_double = [0x7FEF, 0xFFFF, 0xFFFF, 0xFFFF]
    with pytest.raises(ValueError, match="overflows to inf"):
        decode_registers(field, largest_double)


def test_a_config_that_is_not_utf8_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    """fuzz/crashes/config/not-utf8: was a bare UnicodeDecodeError from the loader."""
    path = tmp_path / "eastron-sdm630.yaml"
    path.write_bytes(b"model: eastron-sdm630\nmanufacturer: \xffEastron\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text: byte 0xff on line 2") as caught:
        load_profile(path)
    assert caught.value.file == str(path)


def test_a_profile_whose_field_cannot_fit_one_request_is_refused_when_loaded(
    tmp_path: Path,
) -> None:
    """Found by the config target's "what loads can be planned" check: the agent failed at start."""
    path = tmp_path / "meter.yaml"
    path.write_text(
        "model: meter\nmanufacturer: x\nmeasurement: energy\n"
        "limits: {max_registers_per_request: 10}\n"
        "fields:\n  - {name: serial, function: holding_register, address: 0, type: string,"
        " length: 20}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"'serial' spans 20 registers .* at most 10") as caught:
        load_profile(path)
    assert caught.value.file == str(path)


def test_even_alignment_with_one_register_per_request_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 0 per request"):
        Profile.model_validate(
            {
                "model": "m",
                "manufacturer": "x",
                "measurement": "energy",
                "limits": {"max_registers_per_request": 1, "even_alignment": True},
                "fields": [
                    {"name": "v", "function": "holding_register", "address": 0, "type": "uint16"}
                ],
            }
        )


def test_a_gap_is_counted_from_the_fields_not_from_their_alignment_padding() -> None:
    """fuzz/crashes/modbus/gap-measured-from-alignment-padding: with even alignment, a field
    ending on an odd register (37) and the next starting at 40 leave 3 unused registers between
    them, not 2; a limit of 2 keeps them apart."""

    def plan(max_gap: int) -> list[tuple[int, int]]:
        profile = Profile.model_validate(
            {
                "model": "m",
                "manufacturer": "x",
                "measurement": "energy",
                "limits": {"even_alignment": True, "max_gap_registers": max_gap},
                "fields": [
                    {"name": "a", "function": "input_register", "address": 35, "type": "float32"},
                    {"name": "b", "function": "input_register", "address": 40, "type": "uint16"},
                ],
            }
        )
        return [(r.address, r.count) for r in plan_reads(profile)]

    assert plan(2) == [(34, 4), (40, 2)]
    assert plan(3) == [(34, 8)]


def test_a_size_written_as_a_float_is_a_config_error(tmp_path: Path) -> None:
    """Found by tests/fuzz/test_config_properties.py: 5e8 (a float in YAML) or null raised a
    TypeError from the size parser instead of a ConfigError naming outbox.max_bytes."""
    config = yaml.safe_load((SHIPPED / "gateways" / "cabinet-thil-04.yaml").read_text())
    config["outbox"]["max_bytes"] = 5e8
    config["profiles_dir"] = str(SHIPPED / "profiles")
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_gateway_config(path)
    assert caught.value.key == "outbox.max_bytes"
