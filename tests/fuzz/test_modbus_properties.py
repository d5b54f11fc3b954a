"""Properties of Modbus value decoding and read planning over arbitrary profiles and words.

The planner's unit tests check the shipped profiles and hand-made cases; here hypothesis draws
profiles (functions, types, addresses, limits) and checks every plan with :mod:`fuzz.plans`, the
same checker the atheris target uses: every field read once, within the device's rules, and no
more requests than an exhaustive search needs.
"""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pymodbus.client.mixin import ModbusClientMixin

from edge.modbus.decode import PYMODBUS_TYPES, decode_registers
from edge.modbus.planner import plan_reads
from edge.profiles import DataType, Field, Function, Profile
from fuzz.plans import check_plan

NUMERIC = [t for t in DataType if t not in (DataType.BOOL, DataType.STRING)]
RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**63 - 1),  # the wire's integers are signed 64-bit
}
orders = st.sampled_from(["big", "little"])


@st.composite
def fields(draw: st.DrawFn, name: str) -> dict[str, object]:
    function = draw(st.sampled_from(list(Function)))
    spec: dict[str, object] = {
        "name": name,
        "function": function.value,
        "address": draw(st.integers(1, 300)),
        "type": "bool",
    }
    if not function.is_bit:
        kind = draw(st.sampled_from(list(DataType)))
        spec["type"] = kind.value
        if kind is DataType.BOOL:
            spec["bit"] = draw(st.integers(0, 15))
        if kind is DataType.STRING:
            spec["length"] = draw(st.integers(1, 20))
    return spec


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    count = draw(st.integers(1, 7))
    limits = {
        "max_registers_per_request": draw(st.integers(2, 125)),
        "max_bits_per_request": draw(st.integers(1, 2000)),
        "even_alignment": draw(st.booleans()),
        "one_request_per_field": draw(st.integers(0, 9)) == 0,
        "max_gap_registers": draw(st.integers(0, 20)),
    }
    spec = {
        "model": "prop",
        "manufacturer": "hypothesis",
        "measurement": "energy",
        "addressing": draw(st.sampled_from(["zero_based", "one_based"])),
        "limits": limits,
        "fields": [draw(fields(f"f{i}")) for i in range(count)],
    }
    try:
        return Profile.model_validate(spec)
    except ValidationError:
        assume(False)
        raise


@settings(max_examples=400, deadline=None)
@given(profile=profiles())
def test_every_plan_reads_each_field_once_within_the_rules_and_minimally(profile: Profile) -> None:
    check_plan(profile.fields, profile.limits, plan_reads(profile))


@settings(max_examples=150, deadline=None)
@given(profile=profiles(), data=st.data())
def test_the_plan_does_not_depend_on_the_order_fields_are_listed(
    profile: Profile, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(profile.fields))
    ranges = sorted((r.function, r.address, r.count) for r in plan_reads(profile))
    again = sorted((r.function, r.address, r.count) for r in plan_reads(profile, shuffled))
    assert again == ranges


def encode(value: int | float, kind: DataType, word_order: str, byte_order: str) -> list[int]:
    words = ModbusClientMixin.convert_to_registers(
        value,
        PYMODBUS_TYPES[kind],
        word_order=word_order,  # type: ignore[arg-type]
    )
    if byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(NUMERIC), words=orders, bytes_=orders, data=st.data())
def test_a_value_written_in_any_order_decodes_to_itself(
    kind: DataType, words: str, bytes_: str, data: st.DataObject
) -> None:
    value: int | float
    if kind in RANGES:
        value = data.draw(st.integers(*RANGES[kind]))
    elif kind is DataType.FLOAT32:
        value = data.draw(st.floats(width=32, allow_nan=False, allow_infinity=False))
    else:
        value = data.draw(st.floats(allow_nan=False, allow_infinity=False))
    field = Field(
        name="v",
        function=Function.HOLDING_REGISTER,
        address=0,
        type=kind,
        word_order=words,
        byte_order=bytes_,
    )
    assert decode_registers(field, encode(value, kind, words, bytes_)) == value


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(NUMERIC),
    scale=st.floats(-1e300, 1e300, allow_nan=False),
    offset=st.floats(-1e300, 1e300, allow_nan=False),
    data=st.data(),
)
def test_any_words_decode_to_a_finite_value_or_a_reason(
    kind: DataType, scale: float, offset: float, data: st.DataObject
) -> None:
    field = Field(
        name="v",
        function=Function.INPUT_REGISTER,
        address=0,
        type=kind,
        scale=scale,
        offset=offset,
    )
    words = st.lists(st.integers(0, 0xFFFF), min_size=field.count, max_size=field.count)
    try:
        value = decode_registers(field, data.draw(words))
    except ValueError:
        return
    assert isinstance(value, int | float)
    assert not isinstance(value, float) or math.isfinite(value)
    assert not isinstance(value, int) or -(2**63) <= value < 2**63
