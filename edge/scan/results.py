"""What a scan returns: one :class:`Found` per unit that answered, in a :class:`ScanReport`.

``Found.bus`` is the bus exactly as a gateway config declares it (:class:`~edge.config.RtuBus` or
`TcpBus`, with the settings that got the answer), so provisioning can write
it, the unit and ``Found.best.model`` straight into a config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from edge.config import RtuBus, RtuOverTcpBus, TcpBus
from edge.modbus.decode import Value
from edge.scan.confidence import MIN_CONFIDENCE, Candidate, Outcome, is_tie, pick_best

ScannedBus = RtuBus | TcpBus | RtuOverTcpBus


def bus_label(bus: ScannedBus) -> str:
    if isinstance(bus, RtuBus):
        return f"{bus.port} {bus.baudrate} 8{bus.parity}{bus.stopbits}"
    host = f"[{bus.host}]" if ":" in bus.host else bus.host
    return f"{host}:{bus.port}"


@dataclass(frozen=True, slots=True)
class Reading:
    """A value read during identification, for people: ``voltage_l1_v 230.2 V``."""

    label: str
    value: Value
    unit: str = ""
    code: bool = False
    """A code (a type code 0xEC30): shown in hex from 0x100 up."""

    def __str__(self) -> str:
        return f"{self.label} {self._shown()}{' ' + self.unit if self.unit else ''}"

    def _shown(self) -> str:
        value = self.value
        if isinstance(value, float):
            return f"{value:.6g}"
        if self.code and isinstance(value, int) and not isinstance(value, bool) and value >= 0x100:
            return f"0x{value:04X}"
        return str(value)


@dataclass(frozen=True, slots=True)
class Found:
    """A unit that answered, with the profiles it may be (best first)."""

    bus: ScannedBus
    unit: int
    candidates: tuple[Candidate, ...]
    identity: dict[str, Value]
    probe: str = ""
    """What the first read returned: the one clue when no profile matches."""

    @property
    def best(self) -> Candidate | None:
        """The model to provision: sure enough (``MIN_CONFIDENCE``) and ahead of the rest."""
        return pick_best(self.candidates)

    @property
    def ambiguous(self) -> bool:
        """Two profiles fit equally well: the technician decides."""
        top = self.candidates[:2]
        return len(top) == 2 and top[0].confidence >= MIN_CONFIDENCE and is_tie(*top)

    @property
    def readings(self) -> list[Reading]:
        """What the top candidate's matched signatures read, then the device's identity."""
        shown = [
            Reading(check.label, check.value, check.unit, check.code)
            for check in (self.candidates[0].checks if self.candidates else ())
            if check.outcome is Outcome.MATCH and check.value is not None
        ]
        return shown + [Reading(name, value) for name, value in self.identity.items()]


@dataclass(slots=True)
class ScanReport:
    found: list[Found] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Buses or settings that could not be used, and why; the scan went on without them."""
    requests: int = 0
    timeouts: int = 0
    elapsed_s: float = 0.0

    def merge(self, other: ScanReport) -> None:
        self.found.extend(other.found)
        self.problems.extend(other.problems)
        self.requests += other.requests
        self.timeouts += other.timeouts


@dataclass(frozen=True, slots=True)
class ScanProgress:
    """Sent after each unit: ``done`` of ``total`` units on ``bus`` are settled."""

    bus: str
    done: int
    total: int
    found: Found | None = None


ProgressCallback = Callable[[ScanProgress], None]
