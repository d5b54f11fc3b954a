"""Identify signatures as reads: addresses, decoding, matching, the probe, reuse of answers."""

from __future__ import annotations

import math
import struct

import pytest

from eclor.errors import ConfigError
from edge.profiles import Function, Profile, Signature
from edge.scan.signatures import (
    ReadKey,
    decode_signature,
    matches,
    plan_profile,
    plan_profiles,
    probe_read,
)
from edge.scan.sweep import shipped_profiles

PROFILES = {p.model: p for p in shipped_profiles()}
INPUT, HOLDING = Function.INPUT_REGISTER, Function.HOLDING_REGISTER


def float_registers(value: float) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


def signature(**kwargs: object) -> Signature:
    return Signature.model_validate({"function": "input_register", "address": 0, **kwargs})


def test_every_shipped_profile_can_be_recognised() -> None:
    assert len(plan_profiles(PROFILES.values())) == len(PROFILES)


def test_one_based_signatures_read_one_below_the_manual_number() -> None:
    plan = plan_profile(PROFILES["schneider-iem3155"])
    assert [s.read for s in plan.signatures] == [
        ReadKey(HOLDING, 49, 20),  # register 50: the model name, 20 registers
        ReadKey(HOLDING, 3109, 2),  # register 3110: frequency
    ]
    assert [s.label for s in plan.signatures] == ["holding register 50", "frequency_hz"]


def test_labels_name_the_profile_field_read_or_the_address() -> None:
    plan = plan_profile(PROFILES["eastron-sdm630"])
    assert [(s.label, s.unit) for s in plan.signatures] == [
        ("voltage_l1_v", "V"),
        ("frequency_hz", "Hz"),
        ("holding 0x000A", ""),
        ("input 0x00C8", ""),
    ]


def test_the_probe_serves_the_most_profiles_at_once() -> None:
    # Input 0x0000: the Eastron and EM24 voltages (2 registers), the Eclor type code (1).
    assert probe_read(plan_profiles(PROFILES.values())) == ReadKey(INPUT, 0, 2)


def test_no_signature_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to recognise"):
        probe_read([])


def test_a_string_signature_needs_its_length() -> None:
    data = PROFILES["schneider-iem3155"].model_dump(exclude={"fields"})
    data["fields"] = [f.model_dump() for f in PROFILES["schneider-iem3155"].fields]
    data["identify"] = [{"function": "holding_register", "address": 50, "type": "string"}]
    with pytest.raises(ConfigError, match=r"identify\[0\]\.length"):
        plan_profile(Profile.model_validate(data))


def test_decoding_follows_type_word_order_and_scale() -> None:
    em24 = plan_profile(PROFILES["carlo-gavazzi-em24"]).signatures[0]
    assert decode_signature(em24, [2301, 0]) == pytest.approx(230.1)  # INT32, low word first
    sdm = plan_profile(PROFILES["eastron-sdm630"]).signatures[0]
    assert decode_signature(sdm, float_registers(230.2)) == pytest.approx(230.2, rel=1e-6)
    iem = plan_profile(PROFILES["schneider-iem3155"]).signatures[0]
    text = list(struct.unpack(">20H", b"iEM3155".ljust(40, b"\0")))
    assert decode_signature(iem, text) == "iEM3155"


def test_a_nan_is_unusable_not_a_value() -> None:
    sdm = plan_profile(PROFILES["eastron-sdm630"]).signatures[0]
    with pytest.raises(ValueError, match="nan"):
        decode_signature(sdm, [0xFFC0, 0x0000])


def test_ranges_are_inclusive() -> None:
    voltage = signature(type="float32", min=180, max=260)
    assert matches(voltage, 180.0)
    assert matches(voltage, 260.0)
    assert not matches(voltage, 179.9)
    assert not matches(voltage, math.inf)
    assert matches(signature(type="uint16", min=1), 1000)


def test_equals_tolerates_float32_rounding_only() -> None:
    system_type = signature(type="float32", equals=3)
    assert matches(system_type, struct.unpack(">f", struct.pack(">f", 3.0000001))[0])
    assert not matches(system_type, 3.001)
    assert matches(signature(type="uint16", equals=0xEC30), 0xEC30)
    assert not matches(signature(type="uint16", equals=0xEC30), 0xEC20)


def test_strings_match_strings_only() -> None:
    model = signature(function="holding_register", type="string", length=20, equals="iEM3155")
    assert matches(model, "iEM3155")
    assert not matches(model, "iEM3255")
    assert not matches(signature(type="uint16", equals=3), "3")


def test_a_read_covers_the_reads_inside_it() -> None:
    outer = ReadKey(INPUT, 0, 2)
    assert outer.covers(ReadKey(INPUT, 0, 1))
    assert outer.covers(ReadKey(INPUT, 1, 1))
    assert not outer.covers(ReadKey(INPUT, 1, 2))
    assert not outer.covers(ReadKey(HOLDING, 0, 1))
