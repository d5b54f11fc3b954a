"""Which profile a unit is: one probe read, then every profile's signatures, scored.

The probe (:func:`~edge.scan.signatures.probe_read`) is sent once, without a retry: a unit that
does not answer it costs exactly one timeout and is reported absent. Any answer, an exception reply
included, means somebody is there (an iEM3155 answers exception 01 to the input-register probe),
except a gateway's exception 0A/0B, which means the gateway found nobody behind that unit id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.errors import DeviceTimeout
from edge.modbus.bus import ExceptionReply, ModbusBus
from edge.modbus.decode import Value, decode_registers
from edge.profiles import DataType, Profile
from edge.scan.confidence import (
    EQUALS_WEIGHT,
    MIN_CONFIDENCE,
    RANGE_WEIGHT,
    Candidate,
    Check,
    Outcome,
    candidate,
    rank,
)
from edge.scan.reader import Answer, Unanswered, UnitReader
from edge.scan.signatures import (
    PlannedSignature,
    ProfilePlan,
    ReadKey,
    decode_signature,
    matches,
    plan_profiles,
    probe_read,
)

REFUSALS = {1, 2, 3}  # illegal function, data address, data value: "I have no such thing"
GATEWAY_NOBODY = {10, 11}  # gateway path unavailable, gateway target failed to respond


@dataclass(frozen=True, slots=True)
class Identification:
    candidates: tuple[Candidate, ...]
    """Best first; empty when the unit answered but no profile matched."""
    identity: dict[str, Value]
    """The top candidate's device fields (``measurement: device``, e.g. the serial number),
    read when it is likely enough (:data:`MIN_CONFIDENCE`)."""
    probe: str
    """What the probe read returned, for a unit no profile matches."""


class Recogniser:
    """Identifies units against a fixed set of profiles (planned once, used for every unit)."""

    def __init__(self, profiles: Iterable[Profile], *, retries: int = 1) -> None:
        self.plans = plan_profiles(profiles)
        self.probe = probe_read(self.plans)
        self.retries = retries

    async def identify(self, bus: ModbusBus, unit: int) -> Identification:
        """Raises :class:`DeviceTimeout` when nobody answers the probe at ``unit``."""
        reader = UnitReader(bus, unit, retries=self.retries)
        probe = await reader.read(self.probe, retries=0)
        _check_presence(bus, unit, self.probe, probe)
        candidates = rank([await _score(plan, reader) for plan in self.plans])
        likely = candidates[0] if candidates else None
        identity: dict[str, Value] = {}
        if likely is not None and likely.confidence >= MIN_CONFIDENCE:
            identity = await _identity(reader, self._profile(likely.model))
        return Identification(tuple(candidates), identity, _describe(self.probe, probe))

    def _profile(self, model: str) -> Profile:
        return next(plan.profile for plan in self.plans if plan.model == model)


async def identify(bus: ModbusBus, unit: int, profiles: Iterable[Profile]) -> list[Candidate]:
    """The profiles ``unit`` may be, best first; raises :class:`DeviceTimeout` when it is silent."""
    return list((await Recogniser(profiles).identify(bus, unit)).candidates)


def _check_presence(bus: ModbusBus, unit: int, key: ReadKey, answer: Answer) -> None:
    if isinstance(answer, Unanswered):
        raise DeviceTimeout(bus.name, f"unit {unit}", f"no answer to {key}: {answer.reason}")
    if isinstance(answer, ExceptionReply) and answer.code in GATEWAY_NOBODY:
        raise DeviceTimeout(bus.name, f"unit {unit}", f"gateway answered {answer}")


async def _score(plan: ProfilePlan, reader: UnitReader) -> Candidate:
    checks = [_check(s, await reader.read(s.read)) for s in plan.signatures]
    return candidate(plan.model, checks)


def _check(planned: PlannedSignature, answer: Answer) -> Check:
    outcome, value, detail = _judge(planned, answer)
    signature = planned.signature
    weight = EQUALS_WEIGHT if signature.equals is not None else RANGE_WEIGHT
    code = signature.equals is not None and signature.type in (DataType.UINT16, DataType.UINT32)
    return Check(planned.label, planned.read, outcome, weight, value, planned.unit, detail, code)


def _judge(planned: PlannedSignature, answer: Answer) -> tuple[Outcome, Value | None, str]:
    if isinstance(answer, Unanswered):
        return Outcome.UNANSWERED, None, answer.reason
    if isinstance(answer, ExceptionReply):
        refused = answer.code in REFUSALS
        return (Outcome.REFUSED if refused else Outcome.UNANSWERED), None, str(answer)
    try:
        value = decode_signature(planned, answer)
    except ValueError as exc:
        return Outcome.MISMATCH, None, str(exc)
    matched = matches(planned.signature, value)
    return (Outcome.MATCH if matched else Outcome.MISMATCH), value, ""


async def _identity(reader: UnitReader, profile: Profile) -> dict[str, Value]:
    """The profile's device fields that read cleanly; a field that does not is left out."""
    values: dict[str, Value] = {}
    for field in profile.fields:
        if field.measurement != "device" or field.function.is_bit:
            continue
        answer = await reader.read(ReadKey(field.function, field.protocol_address, field.count))
        if not isinstance(answer, list):
            continue
        try:
            value = decode_registers(field, [int(r) for r in answer])
        except ValueError:
            continue
        if value is not None:
            values[field.name] = value
    return values


def _describe(key: ReadKey, answer: Answer) -> str:
    if isinstance(answer, list):
        shown = " ".join(f"{int(v):04X}" for v in answer)
        return f"{key}: {shown}"
    return f"{key}: {answer}"
