"""A profile's ``identify:`` entries as reads: where each one reads, how to decode it, what matches.

A signature's address is written as its profile numbers addresses (one-based profiles: the
manual's register number), exactly like a field's; :func:`plan_profile` resolves it to the
protocol address once, so the scan never recomputes it per unit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eclor.errors import ConfigError
from edge.modbus.decode import Value, decode_registers
from edge.profiles import REGISTERS_PER_TYPE, DataType, Field, Function, Profile, Signature

FUNCTION_LABELS = {
    Function.COIL: "coil",
    Function.DISCRETE_INPUT: "discrete",
    Function.HOLDING_REGISTER: "holding",
    Function.INPUT_REGISTER: "input",
}
EQUALS_TOLERANCE = 1e-6
"""Relative tolerance of ``equals`` on numbers: a float32 set-up value reads back as 3.0000001."""


@dataclass(frozen=True, slots=True, order=True)
class ReadKey:
    """One Modbus read: function, protocol address of the first register or bit, count."""

    function: Function
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count

    def covers(self, other: ReadKey) -> bool:
        return (
            self.function is other.function
            and self.address <= other.address
            and other.end <= self.end
        )

    def __str__(self) -> str:
        return f"{FUNCTION_LABELS[self.function]} 0x{self.address:04X}"


@dataclass(frozen=True, slots=True)
class PlannedSignature:
    signature: Signature
    read: ReadKey
    decoder: Field
    label: str
    """What the value is, for people: the profile field at that address, else the address."""
    unit: str


@dataclass(frozen=True, slots=True)
class ProfilePlan:
    model: str
    profile: Profile
    signatures: tuple[PlannedSignature, ...]


def plan_profiles(profiles: Iterable[Profile]) -> list[ProfilePlan]:
    """Plans for every profile that has ``identify:`` entries; the others cannot be recognised."""
    return [plan_profile(p) for p in profiles if p.identify]


def plan_profile(profile: Profile) -> ProfilePlan:
    base = 1 if profile.addressing == "one_based" else 0
    planned = [
        _plan_signature(profile, index, signature, base)
        for index, signature in enumerate(profile.identify)
    ]
    return ProfilePlan(profile.model, profile, tuple(planned))


def _plan_signature(
    profile: Profile, index: int, signature: Signature, base: int
) -> PlannedSignature:
    where = f"profile {profile.model}"
    if signature.type is DataType.STRING and signature.length is None:
        raise ConfigError(where, f"identify[{index}].length", None, "a string needs its length")
    if signature.function.is_bit and signature.type is not DataType.BOOL:
        raise ConfigError(where, f"identify[{index}].type", signature.type, "a bit is a bool")
    address = signature.address - base
    if address < 0:
        raise ConfigError(where, f"identify[{index}].address", signature.address, "below 1")
    read = ReadKey(signature.function, address, _count(signature))
    field = _field_at(profile, read)
    return PlannedSignature(
        signature=signature,
        read=read,
        decoder=_decoder(signature),
        label=field.name if field is not None else _address_label(signature, base),
        unit=(field.unit or "") if field is not None else "",
    )


def _address_label(signature: Signature, base: int) -> str:
    """The address as the profile writes it: a hex protocol address, or the manual's number."""
    function = FUNCTION_LABELS[signature.function]
    if base:
        return f"{function} register {signature.address}"
    return f"{function} 0x{signature.address:04X}"


def _count(signature: Signature) -> int:
    if signature.function.is_bit:
        return 1
    if signature.type is DataType.STRING:
        assert signature.length is not None
        return signature.length
    return REGISTERS_PER_TYPE[signature.type]


def _decoder(signature: Signature) -> Field:
    """A field that decodes exactly what the signature reads (a bool register: its bit 0)."""
    on_register = signature.type is DataType.BOOL and not signature.function.is_bit
    return Field(
        name="signature",
        function=signature.function,
        address=0,
        type=signature.type,
        word_order=signature.word_order,
        length=signature.length if signature.type is DataType.STRING else None,
        scale=signature.scale,
        bit=0 if on_register else None,
    )


def _field_at(profile: Profile, read: ReadKey) -> Field | None:
    for field in profile.fields:
        if field.function is read.function and field.protocol_address == read.address:
            return field
    return None


def decode_signature(planned: PlannedSignature, data: Sequence[int] | Sequence[bool]) -> Value:
    """The signature's value from what the read returned; ``ValueError`` when it is unusable."""
    if planned.signature.function.is_bit:
        return bool(data[0])
    value = decode_registers(planned.decoder, [int(r) for r in data])
    if value is None:  # only a field with `invalid` says "not available"; signatures have none
        raise ValueError("not available")
    return value


def matches(signature: Signature, value: Value) -> bool:
    """Whether ``value`` is what the signature expects (``equals``, else ``min``-``max``)."""
    expected = signature.equals
    if isinstance(expected, str) or isinstance(value, str):
        return isinstance(expected, str) and isinstance(value, str) and value == expected.strip()
    number = float(value)
    if expected is not None:
        return math.isclose(number, expected, rel_tol=EQUALS_TOLERANCE, abs_tol=1e-9)
    if signature.min is not None and number < signature.min:
        return False
    return not (signature.max is not None and number > signature.max)


def probe_read(plans: Sequence[ProfilePlan]) -> ReadKey:
    """The first read sent to a unit, the one that says whether anybody is there.

    The (function, address) the most signatures start at, read with the largest count any of
    them needs, so its answer also serves the others (input 0x0000 for the shipped profiles:
    the Eastron voltage, the EM24 voltage and the Eclor type code at once).
    """
    reads = [s.read for plan in plans for s in plan.signatures]
    if not reads:
        raise ValueError("no profile has identify entries: nothing to recognise a device by")
    starts = Counter((r.function, r.address) for r in reads)
    (function, address), _ = min(starts.items(), key=lambda item: (-item[1], item[0]))
    count = max(r.count for r in reads if (r.function, r.address) == (function, address))
    return ReadKey(function, address, count)
