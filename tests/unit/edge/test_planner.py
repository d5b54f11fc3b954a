"""Read planning uses the fewest requests each shipped profile's rules allow."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from edge.modbus.planner import ReadRequest, plan_reads
from edge.profiles import Field, Function, Limits, Profile, load_profiles

PROFILES = load_profiles(Path(__file__).resolve().parents[3] / "firmware_configs" / "profiles")

# Counted by hand from each register map and its limits (see firmware_configs/profiles/README.md).
EXPECTED = {
    "eastron-sdm630": 7,  # 6 input-register blocks + the serial number holding register
    "eastron-sdm120": 7,
    "schneider-iem3155": 7,
    "carlo-gavazzi-em24": 7,  # 11 registers per request at most
    "eclor-cabinet-controller": 5,
    "eclor-gate-controller": 3,
    "eclor-loop-station": 2,
}


def minimum_requests(fields: list[Field], limits: Limits, function: Function) -> int:
    """Exhaustive minimum over every split of the sorted fields into contiguous groups."""
    fields = sorted(fields, key=lambda f: f.protocol_address)
    align = 2 if limits.even_alignment and not function.is_bit else 1
    largest = limits.max_bits_per_request if function.is_bit else limits.max_registers_per_request
    largest -= largest % align

    def feasible(i: int, j: int) -> bool:
        group = fields[i:j]
        start = group[0].protocol_address // align * align
        end = max(f.protocol_address + f.count for f in group)
        end += (-end) % align
        if limits.one_request_per_field and len(group) > 1:
            return False
        reach = group[0].protocol_address + group[0].count
        for f in group[1:]:
            if f.protocol_address - reach > limits.max_gap_registers:
                return False
            reach = max(reach, f.protocol_address + f.count)
        return end - start <= largest

    @cache
    def best(i: int) -> int:
        if i == len(fields):
            return 0
        return min(1 + best(j) for j in range(i + 1, len(fields) + 1) if feasible(i, j))

    return best(0)


def test_every_shipped_profile_is_covered() -> None:
    assert set(PROFILES) == set(EXPECTED)


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_request_count_is_the_minimum_the_rules_allow(model: str) -> None:
    profile = PROFILES[model]
    plan = plan_reads(profile)
    assert len(plan) == EXPECTED[model]
    by_function = {fn: [f for f in profile.fields if f.function is fn] for fn in Function}
    minimum = sum(
        minimum_requests(fields, profile.limits, fn) for fn, fields in by_function.items() if fields
    )
    assert len(plan) == minimum


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_every_request_respects_the_device_rules(model: str) -> None:
    profile = PROFILES[model]
    for request in plan_reads(profile):
        _check(request, profile)


def _check(request: ReadRequest, profile: Profile) -> None:
    limits = profile.limits
    if request.function.is_bit:
        assert request.count <= limits.max_bits_per_request
    else:
        assert request.count <= limits.max_registers_per_request <= 125
        if limits.even_alignment:
            assert request.address % 2 == 0
            assert request.count % 2 == 0
    for field in request.fields:
        assert request.address <= field.protocol_address
        assert field.protocol_address + field.count <= request.end


def field(name: str, address: int, type_: str = "float32") -> Field:
    return Field(name=name, function=Function.INPUT_REGISTER, address=address, type=type_)


def profile_with(fields: list[Field], **limits: object) -> Profile:
    return Profile(
        model="test",
        manufacturer="t",
        measurement="energy",
        fields=fields,
        limits=Limits(**limits),  # type: ignore[arg-type]
    )


def test_gaps_are_bridged_only_up_to_the_configured_fill() -> None:
    fields = [field("a", 0), field("b", 6), field("c", 20)]
    assert len(plan_reads(profile_with(fields))) == 3
    assert len(plan_reads(profile_with(fields, max_gap_registers=4))) == 2
    assert len(plan_reads(profile_with(fields, max_gap_registers=20))) == 1


def test_the_per_request_limit_splits_a_long_run() -> None:
    fields = [field(f"f{i}", 2 * i) for i in range(100)]  # 200 contiguous registers
    plan = plan_reads(profile_with(fields, max_registers_per_request=80))
    assert [r.count for r in plan] == [80, 80, 40]


def test_even_alignment_widens_odd_requests() -> None:
    plan = plan_reads(profile_with([field("a", 3, "uint16")], even_alignment=True))
    assert (plan[0].address, plan[0].count) == (2, 2)


def test_one_request_per_field() -> None:
    fields = [field("a", 0), field("b", 2)]
    assert len(plan_reads(profile_with(fields, one_request_per_field=True))) == 2


def test_one_based_addressing_is_shifted_once() -> None:
    p = Profile(
        model="test",
        manufacturer="t",
        measurement="energy",
        addressing="one_based",
        fields=[field("a", 3060)],
    )
    assert plan_reads(p)[0].address == 3059
