"""From devices found on the buses to the devices the gateway will poll.

Every found device gets a proposal: when the existing config already has a device at that address
(bus and unit) **with the same profile**, its entry is kept as it is (id, interval, tags, fields);
a different profile at that address means the device was replaced, so a fresh entry replaces the
old one. New entries get an id made from the gateway id and the device's role
(``cab-thil-04-meter``; with the unit when the role repeats), the answers' poll interval and tags.
The answers file's per-address overrides apply last; its exclusions (by address or id) drop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from edge.config import Device
from edge.profiles import Profile
from edge.provision.answers import DevicesAnswers

ROLES = {"energy": "meter", "cabinet": "ctrl", "waste_centre": "gate", "traffic": "loops"}


@dataclass(frozen=True)
class FoundDevice:
    """What the scan says is at one address."""

    bus: str
    unit: int
    profile: str
    confidence: float
    """0 to 1: how sure the scan is of the profile."""
    readings: list[str]
    """What the scan read, for people (``voltage_l1_v 230.2 V``)."""

    @property
    def address(self) -> str:
        return address(self.bus, self.unit)


class Origin(StrEnum):
    NEW = "new"
    KEPT = "kept"
    """The existing config's entry for this address and profile."""
    REPLACED = "replaced"
    """The existing config had another profile at this address."""


@dataclass(frozen=True)
class Proposal:
    found: FoundDevice
    device: Device
    origin: Origin
    replaces: str | None = None
    excluded: bool = False


def address(bus: str, unit: int) -> str:
    return f"{bus}:{unit}"


def device_address(device: Device, profiles: Mapping[str, Profile]) -> str:
    profile = profiles.get(device.profile)
    unit = device.unit if device.unit is not None else (profile.default_unit_id if profile else 1)
    return address(device.bus, unit)


def propose(
    found: Sequence[FoundDevice],
    answers: DevicesAnswers,
    gateway_id: str,
    existing: Sequence[Device],
    profiles: Mapping[str, Profile],
) -> list[Proposal]:
    at = {device_address(d, profiles): d for d in existing}
    here = {f.address for f in found}
    taken = {d.id for d in existing if device_address(d, profiles) not in here}
    default_ids = _default_ids(found, gateway_id, profiles)
    proposals = []
    for item in found:
        old = at.get(item.address)
        if old is not None and old.profile == item.profile:
            proposal = Proposal(item, old, Origin.KEPT)
        else:
            device = Device(
                id=_free(default_ids[item.address], taken),
                profile=item.profile,
                bus=item.bus,
                unit=item.unit,
                poll_interval_s=answers.poll_interval_s,
                tags=dict(answers.tags),
            )
            origin = Origin.NEW if old is None else Origin.REPLACED
            proposal = Proposal(item, device, origin, None if old is None else old.id)
        proposal = _apply(proposal, answers)
        taken.add(proposal.device.id)
        proposals.append(proposal)
    return proposals


def _apply(proposal: Proposal, answers: DevicesAnswers) -> Proposal:
    where = proposal.found.address
    override = answers.answer_for(where)
    update: dict[str, object] = {}
    if override.id is not None:
        update["id"] = override.id
    if override.poll_interval_s is not None:
        update["poll_interval_s"] = override.poll_interval_s
    if override.tags:
        update["tags"] = {**proposal.device.tags, **override.tags}
    device = Device.model_validate({**proposal.device.model_dump(), **update})
    excluded = answers.excludes(where, proposal.device.id) or answers.excludes(where, device.id)
    return Proposal(proposal.found, device, proposal.origin, proposal.replaces, excluded)


def _default_ids(
    found: Sequence[FoundDevice], gateway_id: str, profiles: Mapping[str, Profile]
) -> dict[str, str]:
    def role(item: FoundDevice) -> str:
        profile = profiles.get(item.profile)
        measurement = profile.measurement if profile is not None else "device"
        return ROLES.get(measurement, measurement.replace("_", "-"))

    roles = Counter(role(f) for f in found)
    by_unit = Counter((role(f), f.unit) for f in found)
    ids = {}
    for item in found:
        name = role(item)
        if roles[name] == 1:
            ids[item.address] = f"{gateway_id}-{name}"
        elif by_unit[(name, item.unit)] == 1:
            ids[item.address] = f"{gateway_id}-{name}-{item.unit}"
        else:
            ids[item.address] = f"{gateway_id}-{name}-{item.bus}-{item.unit}"
    return ids


def _free(wanted: str, taken: set[str]) -> str:
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate
