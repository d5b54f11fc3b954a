"""Running the scan (``edge.scan``) over the buses of the answers, and turning what it found into
buses for the config and devices to propose.

A serial line keeps the answers' name and the agent's timeout, with the line settings that got
answers (the scan tries the profiles' factory settings when the answers fix none). A unit whose
model the scan cannot tell (no profile matches, or two fit equally well) is proposed only when
the answers name its profile (``devices.overrides["bus:unit"].profile``); otherwise it is listed
as unidentified, with what the scan saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from edge.config import Bus, RtuBus, TcpBus
from edge.errors import BusUnavailable
from edge.profiles import Profile
from edge.provision.answers import DevicesAnswers, RtuScan, TcpScan, scan_name
from edge.provision.selection import FoundDevice
from edge.scan import Found, LineSettings, ScanReport, scan_serial, scan_tcp
from edge.scan.results import ProgressCallback
from edge.scan.serial_scan import ALL_UNITS


@dataclass(frozen=True)
class Unidentified:
    bus: str
    unit: int
    reason: str
    candidates: list[tuple[str, float]]
    """Models it may be, best first, with the scan's confidence."""
    readings: list[str]

    @property
    def address(self) -> str:
        return f"{self.bus}:{self.unit}"

    def as_found(self, profile: str) -> FoundDevice:
        confidence = dict(self.candidates).get(profile, 0.0)
        return FoundDevice(self.bus, self.unit, profile, confidence, self.readings)


@dataclass
class Discovery:
    buses: list[Bus] = field(default_factory=list)
    """Every scanned bus, as the config will declare it."""
    found: list[FoundDevice] = field(default_factory=list)
    unidentified: list[Unidentified] = field(default_factory=list)
    """Units that answered but whose model is unknown or ambiguous."""
    problems: list[str] = field(default_factory=list)


async def discover(
    buses: Iterable[RtuScan | TcpScan],
    profiles: dict[str, Profile],
    answers: DevicesAnswers,
    units: list[int] | None = None,
    progress: ProgressCallback | None = None,
) -> Discovery:
    """Scan each bus (its own units, else ``units``, else 1-247) and sort what answered."""
    discovery = Discovery()
    for scan in buses:
        try:
            report, bus = await _scan(scan, scan.units or units, list(profiles.values()), progress)
        except BusUnavailable as exc:
            discovery.problems.append(f"{scan_name(scan)}: {exc.reason}")
            discovery.buses.append(_declared(scan, None))
            continue
        discovery.buses.append(bus)
        discovery.problems += report.problems
        answered = report.found
        if isinstance(scan, TcpScan):
            answered = _distinct(answered, discovery.problems)
        for found in answered:
            _sort(found, bus.name, answers, discovery)
    return discovery


def _distinct(found: list[Found], problems: list[str]) -> list[Found]:
    """One entry per device behind a TCP endpoint: a plain Modbus TCP device often answers every
    unit id, which shows as the same model with the same identity (serial number) at many units.
    (On a serial line each unit is its own device, whatever it says.)"""
    seen: dict[tuple[str, str], int] = {}
    kept = []
    for item in found:
        best = item.best
        key = (best.model if best else "", repr(sorted(item.identity.items())))
        if item.identity and key in seen:
            problems.append(
                f"unit {item.unit} answers as unit {seen[key]} does (same {key[0]}, same "
                "identity): one device answering several unit ids, kept once"
            )
            continue
        seen.setdefault(key, item.unit)
        kept.append(item)
    return kept


async def _scan(
    scan: RtuScan | TcpScan,
    wanted: list[int] | None,
    profiles: list[Profile],
    progress: ProgressCallback | None,
) -> tuple[ScanReport, Bus]:
    units = wanted or list(ALL_UNITS)
    if isinstance(scan, RtuScan):
        settings = [_settings(scan)] if scan.fixed else None
        report = await scan_serial(scan.port, settings, units, profiles=profiles, progress=progress)
    else:
        report = await scan_tcp(
            [(scan.host, scan.port)], units, profiles=profiles, progress=progress
        )
    answered = report.found[0].bus if report.found else None
    return report, _declared(scan, answered)


def _settings(scan: RtuScan) -> LineSettings:
    return LineSettings(scan.baudrate or 9600, scan.parity or "N", scan.stopbits or 1)


def _declared(scan: RtuScan | TcpScan, answered: Bus | None) -> Bus:
    """The bus for the config: the answers' name and timeout, the settings that got answers."""
    if isinstance(scan, TcpScan):
        return TcpBus(
            kind="tcp",
            name=scan.bus_name,
            host=scan.host,
            port=scan.port,
            timeout_ms=scan.timeout_ms,
        )
    line = _settings(scan)
    if isinstance(answered, RtuBus):
        line = LineSettings(answered.baudrate, answered.parity, answered.stopbits)
    return RtuBus(
        kind="rtu",
        name=scan.name,
        port=scan.port,
        baudrate=line.baudrate,
        parity=line.parity,
        stopbits=line.stopbits,
        timeout_ms=scan.timeout_ms,
    )


def _sort(found: Found, bus: str, answers: DevicesAnswers, discovery: Discovery) -> None:
    unknown = Unidentified(
        bus,
        found.unit,
        _why(found),
        [(c.model, c.confidence) for c in found.candidates],
        [str(r) for r in found.readings],
    )
    pinned = answers.answer_for(unknown.address).profile
    best = found.best
    if pinned is not None or best is not None:
        discovery.found.append(unknown.as_found(pinned or (best.model if best else "")))
    else:
        discovery.unidentified.append(unknown)


def _why(found: Found) -> str:
    if found.ambiguous:
        models = " or ".join(c.model for c in found.candidates[:2])
        return f"could be {models}: name its profile in the answers"
    if found.candidates:
        top = found.candidates[0]
        return f"maybe {top.model} ({top.confidence:.0%}), not sure enough: name its profile"
    return f"answers, but matches no profile ({found.probe})"
