"""Modbus target: value decoding from arbitrary register words, and read planning of any profile.

The first byte chooses: decode one field from arbitrary words, or plan a profile of up to eight
arbitrary fields under arbitrary limits and decode every request from arbitrary data. Profiles the
model refuses are skipped (that is the config target's business). Findings: any exception but the
documented ``ValueError`` of ``decode_registers``, a value the wire cannot carry (non-finite float,
integer outside signed 64 bits, wrong Python type), or a plan that is wrong or not minimal.
"""

from __future__ import annotations

import math
from typing import Any

import atheris  # type: ignore[import-untyped]
from pydantic import ValidationError

from eclor.wire.limits import INT64_MAX, INT64_MIN
from edge.modbus.decode import Decoded, decode_request
from edge.modbus.planner import ReadRequest, plan_reads
from edge.profiles import DataType, Field, Function, Profile
from fuzz.plans import PlanBroken, check_plan

FUNCTIONS = list(Function)
TYPES = list(DataType)


class BadValue(AssertionError):
    """A decoded value the wire contract cannot carry, or of the wrong kind for its type."""


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        _decode_one(fdp)
    else:
        _plan_profile(fdp)


def field_spec(fdp: Any, name: str) -> dict[str, Any]:
    """A field the model mostly accepts; one in ten is left free to probe the validation."""
    free = fdp.ConsumeProbability() < 0.1
    function = fdp.PickValueInList(FUNCTIONS)
    kind = DataType.BOOL if function.is_bit and not free else fdp.PickValueInList(TYPES)
    spec: dict[str, Any] = {
        "name": name,
        "function": function.value,
        "address": fdp.ConsumeIntInRange(0, 65536),
        "type": kind.value,
        "word_order": "little" if fdp.ConsumeBool() else "big",
        "byte_order": "little" if fdp.ConsumeBool() else "big",
    }
    if kind is DataType.STRING or (free and fdp.ConsumeBool()):
        spec["length"] = fdp.ConsumeIntInRange(1, 123)
    if (kind is DataType.BOOL and not function.is_bit) or (free and fdp.ConsumeBool()):
        spec["bit"] = fdp.ConsumeIntInRange(0, 15)
    if fdp.ConsumeBool():
        spec["scale"] = fdp.ConsumeRegularFloat()
        spec["offset"] = fdp.ConsumeRegularFloat()
    if fdp.ConsumeBool():
        spec["invalid"] = fdp.ConsumeIntInRange(0, 2**64 - 1)
    return spec


def _decode_one(fdp: Any) -> None:
    try:
        field = Field.model_validate(field_spec(fdp, "f"))
    except ValidationError:
        return
    request = ReadRequest(field.function, field.protocol_address, field.count, (field,))
    if field.function.is_bit:
        decode_request(request, [fdp.ConsumeBool()], out := Decoded())
    else:
        words = [fdp.ConsumeIntInRange(0, 0xFFFF) for _ in range(field.count)]
        decode_request(request, words, out := Decoded())
    if field.name in out.values:
        check_value(field, out.values[field.name])
    elif field.name not in out.invalid and field.invalid is None:
        raise BadValue(f"{field.name}: neither a value nor a reason")


def check_value(field: Field, value: object) -> None:
    """The decoded value can travel on the wire and has the field type's kind."""
    if value is None:
        if field.invalid is None:
            raise BadValue(f"{field.name}: None without an 'invalid' marker")
        return
    expected: type | tuple[type, ...]
    if field.type is DataType.BOOL:
        expected = bool
    elif field.type is DataType.STRING:
        expected = str
    else:
        expected = (int, float)
    if not isinstance(value, expected):
        raise BadValue(f"{field.type} decoded as {type(value).__name__}: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadValue(f"{field.type} with scale {field.scale} decoded as {value}")
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise BadValue(f"{value} is outside the wire's signed 64-bit integers")


def limits_spec(fdp: Any) -> dict[str, Any]:
    return {
        "max_registers_per_request": fdp.ConsumeIntInRange(1, 125),
        "max_bits_per_request": fdp.ConsumeIntInRange(1, 2000),
        "even_alignment": fdp.ConsumeBool(),
        "one_request_per_field": fdp.ConsumeProbability() < 0.1,
        "max_gap_registers": fdp.ConsumeIntInRange(0, 124),
    }


def _plan_profile(fdp: Any) -> None:
    count = fdp.ConsumeIntInRange(1, 8)
    spec = {
        "model": "fuzz",
        "manufacturer": "fuzz",
        "measurement": "energy",
        "addressing": "one_based" if fdp.ConsumeBool() else "zero_based",
        "limits": limits_spec(fdp),
        "fields": [_near(field_spec(fdp, f"f{i}"), fdp) for i in range(count)],
    }
    try:
        profile = Profile.model_validate(spec)
    except ValidationError:
        return
    decode_plan(plan_checked(profile), fdp)


def _near(spec: dict[str, Any], fdp: Any) -> dict[str, Any]:
    """Most fields close together, so that merging, gaps and limits all come into play."""
    if fdp.ConsumeProbability() < 0.8:
        spec["address"] = 1 + fdp.ConsumeIntInRange(0, 260)
    return spec


def plan_checked(profile: Profile) -> list[ReadRequest]:
    """The plan, checked. The profile model refuses fields that cannot fit one request."""
    try:
        plan = plan_reads(profile)
    except ValueError as exc:
        raise PlanBroken(f"plan_reads refused a profile the model accepted: {exc}") from exc
    check_plan(profile.fields, profile.limits, plan)
    return plan


def decode_plan(plan: list[ReadRequest], fdp: Any) -> None:
    out = Decoded()
    for request in plan:
        data: list[int] | list[bool]
        if request.function.is_bit:
            data = [fdp.ConsumeBool() for _ in range(request.count)]
        else:
            data = [fdp.ConsumeIntInRange(0, 0xFFFF) for _ in range(request.count)]
        decode_request(request, data, out)
        for field in request.fields:
            if field.name in out.values:
                check_value(field, out.values[field.name])
