"""The new gateway config: the existing one (if any) merged with what was scanned and answered.

Rules, so re-running provisioning is safe:

- **Buses.** A scanned bus that is the same line as an existing one (same serial port, or same
  kind, host and port) replaces it, under the answers' name and settings; the devices on it
  follow the rename. A scanned bus whose name belongs to another existing line is refused.
  Buses not scanned stay as they are.
- **Devices.** At an address (bus, unit) where the scan found something, the proposal from
  :mod:`~edge.provision.selection` takes the old entry's place (the same entry when the profile
  is unchanged). A configured device **the scan did not find is kept**, and reported: a meter
  that is silent at night may be switched off, not gone; exclude it (answers ``exclude``, or
  ``--exclude``) to remove it. Devices on buses not scanned stay.
- **Everything else** (outbox limits, uplink, breaker, health, profiles folder) is kept; the
  broker section comes from the enrolment (keep-alive and reconnect settings are kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.config import Bus, Device, GatewayConfig, Identity, RtuBus
from edge.errors import AnswersError
from edge.profiles import Profile
from edge.provision.answers import DevicesAnswers
from edge.provision.selection import Origin, Proposal, device_address


@dataclass(frozen=True)
class Aligned:
    """The existing config's buses and devices, with the scanned buses in place."""

    buses: list[Bus]
    devices: list[Device]
    scanned: set[str]
    """Names of the buses that were scanned."""


def _line(bus: Bus) -> tuple[str, ...]:
    if isinstance(bus, RtuBus):
        return ("serial", bus.port)
    return (bus.kind, bus.host, str(bus.port))


def align(existing: GatewayConfig | None, scanned: Sequence[Bus]) -> Aligned:
    old_buses = list(existing.buses) if existing is not None else []
    devices = list(existing.devices) if existing is not None else []
    by_line = {_line(b): b for b in old_buses}
    renamed: dict[str, str] = {}
    for bus in scanned:
        old = by_line.get(_line(bus))
        if old is not None and old.name != bus.name:
            renamed[old.name] = bus.name
    replaced = {_line(b) for b in scanned}
    for bus in scanned:
        clash = [b for b in old_buses if b.name == bus.name and _line(b) not in replaced]
        if clash:
            raise AnswersError(
                [
                    f"bus name {bus.name!r} already names another line in the config "
                    f"({_where(clash[0])}): choose another name"
                ]
            )
    buses = [b for b in old_buses if _line(b) not in replaced] + list(scanned)
    devices = [
        d.model_copy(update={"bus": renamed[d.bus]}) if d.bus in renamed else d for d in devices
    ]
    return Aligned(buses, devices, {b.name for b in scanned})


def _where(bus: Bus) -> str:
    return " ".join(_line(bus))


@dataclass
class MergeNotes:
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    """Configured devices on a scanned bus that the scan did not find (kept)."""


def merge_devices(
    aligned: Aligned,
    proposals: Sequence[Proposal],
    answers: DevicesAnswers,
    profiles: Mapping[str, Profile],
) -> tuple[list[Device], MergeNotes]:
    notes = MergeNotes()
    found = {p.found.address: p for p in proposals}
    devices: list[Device] = []
    placed: set[str] = set()
    for old in aligned.devices:
        where = device_address(old, profiles)
        if where in found:
            placed.add(where)
            _place(found[where], devices, notes)
        elif answers.excludes(where, old.id):
            notes.dropped.append(f"{old.id} ({where})")
        else:
            devices.append(old)
            if old.bus in aligned.scanned:
                notes.not_found.append(f"{old.id} ({where})")
    for where, proposal in found.items():
        if where not in placed:
            _place(proposal, devices, notes)
    return devices, notes


def _place(proposal: Proposal, devices: list[Device], notes: MergeNotes) -> None:
    name = f"{proposal.device.id} ({proposal.found.address})"
    if proposal.excluded:
        notes.dropped.append(name)
        return
    devices.append(proposal.device)
    if proposal.replaces is not None:
        notes.replaced.append(f"{proposal.replaces} → {name}")
    elif proposal.origin is Origin.KEPT:
        notes.kept.append(name)
    else:
        notes.added.append(name)


def build_document(
    existing: GatewayConfig | None,
    identity: Identity,
    broker: dict[str, Any],
    outbox_path: Path,
    buses: Sequence[Bus],
    devices: Sequence[Device],
    health_port: int | None = None,
) -> dict[str, Any]:
    """The YAML document, sections in the usual order; paths as given (relative to the file)."""
    kept = existing.model_dump(mode="json", exclude_unset=True) if existing is not None else {}
    if health_port is not None:
        kept["health"] = {**kept.get("health", {}), "port": health_port}
    outbox = {**kept.get("outbox", {}), "path": str(outbox_path)}
    document: dict[str, Any] = {
        "gateway": identity.model_dump(mode="json", exclude_none=True),
        "broker": broker_section(existing, broker),
        "outbox": outbox,
    }
    for section in ("uplink", "breaker", "health", "profiles_dir"):
        if section in kept:
            document[section] = kept[section]
    document["buses"] = [_bus(b) for b in buses]
    document["devices"] = [_device(d) for d in devices]
    return document


def broker_section(existing: GatewayConfig | None, broker: dict[str, Any]) -> dict[str, Any]:
    """``broker`` (from the enrolment, or the existing section), with the existing config's
    keep-alive and reconnect settings."""
    if existing is None:
        return dict(broker)
    tuning = existing.broker.model_dump(
        mode="json",
        include={"keepalive_s", "reconnect_min_s", "reconnect_max_s"},
        exclude_unset=True,
    )
    return {**broker, **{k: v for k, v in tuning.items() if k not in broker}}


def _bus(bus: Bus) -> dict[str, Any]:
    """Name and kind first, the line settings always (a technician checks them), the rest when
    not the default."""
    doc: dict[str, Any] = {"name": bus.name, "kind": bus.kind}
    if isinstance(bus, RtuBus):
        doc.update(port=bus.port, baudrate=bus.baudrate, parity=bus.parity, stopbits=bus.stopbits)
    else:
        doc.update(host=bus.host, port=bus.port)
    doc["timeout_ms"] = bus.timeout_ms
    for key, value in bus.model_dump(mode="json", exclude_defaults=True).items():
        doc.setdefault(key, value)
    return doc


def _device(device: Device) -> dict[str, Any]:
    doc = {
        "id": device.id,
        "profile": device.profile,
        "bus": device.bus,
        **device.model_dump(mode="json", exclude_defaults=True),
    }
    doc["poll_interval_s"] = device.poll_interval_s
    return doc
