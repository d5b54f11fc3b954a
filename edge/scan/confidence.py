"""How sure the scan is that a unit is a given model: scoring one profile's signature checks.

Rules (also in ``docs/edge.md``, "Scanning a bus"):

- Each signature is one check with a weight: 2 for an ``equals`` signature (a type code, a model
  name, a system type: specific), 1 for a ``min``-``max`` range (a voltage near 230 V: plausible
  for many devices).
- A check earns its whole weight when the value matches, nothing when the device answered with
  another value (``MISMATCH``) or refused the read with exception 01, 02 or 03 (``REFUSED``: the
  device says it has no such register, as strong a "no" as a wrong value), and half its weight when
  the read got no usable answer (``UNANSWERED``: timeout after a retry, broken frame, exception
  04/05/06 or a gateway's 0A/0B), which is no evidence either way.
- Confidence is the earned share of the total weight, and 0 when no check matched at all, so a
  profile is never proposed on silence alone.
- Candidates rank by confidence, then by the weight they matched: of two profiles that both match
  fully, the one proven by more signatures wins. That is how a subset profile (the SDM120 map is
  the SDM630's single-phase subset) loses to the fuller one when the device answers the
  distinguishing signature, and wins when it does not.
- The best candidate needs :data:`MIN_CONFIDENCE` and must beat the runner-up on that order; an
  exact tie leaves no best model (``ambiguous``), rather than a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from edge.modbus.decode import Value
from edge.scan.signatures import ReadKey


class Outcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    REFUSED = "refused"
    UNANSWERED = "unanswered"


CREDIT = {
    Outcome.MATCH: 1.0,
    Outcome.MISMATCH: 0.0,
    Outcome.REFUSED: 0.0,
    Outcome.UNANSWERED: 0.5,
}
EQUALS_WEIGHT = 2.0
RANGE_WEIGHT = 1.0
MIN_CONFIDENCE = 0.6


@dataclass(frozen=True, slots=True)
class Check:
    """One signature read on one unit, and what came of it."""

    label: str
    read: ReadKey
    outcome: Outcome
    weight: float
    value: Value | None = None
    unit: str = ""
    detail: str = ""
    """Why a read gave no value: the exception reply, the timeout, the decoding problem."""
    code: bool = False
    """The value is a code (an unsigned ``equals``, like a type code): shown in hex."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A profile the unit may be, with the checks behind the score."""

    model: str
    confidence: float
    checks: tuple[Check, ...]

    @property
    def matched(self) -> int:
        return sum(1 for c in self.checks if c.outcome is Outcome.MATCH)

    @property
    def matched_weight(self) -> float:
        return sum(c.weight for c in self.checks if c.outcome is Outcome.MATCH)


def candidate(model: str, checks: Sequence[Check]) -> Candidate:
    return Candidate(model, confidence(checks), tuple(checks))


def confidence(checks: Iterable[Check]) -> float:
    """The earned share of the checks' weight (0 to 1, three decimals); 0 without any match."""
    checks = list(checks)
    total = sum(c.weight for c in checks)
    if total <= 0 or not any(c.outcome is Outcome.MATCH for c in checks):
        return 0.0
    earned = sum(c.weight * CREDIT[c.outcome] for c in checks)
    return round(earned / total, 3)


def _order(c: Candidate) -> tuple[float, float, str]:
    return (-c.confidence, -c.matched_weight, c.model)


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates with a confidence above 0, best first (ties broken by model name)."""
    return sorted((c for c in candidates if c.confidence > 0), key=_order)


def is_tie(a: Candidate, b: Candidate) -> bool:
    return _order(a)[:2] == _order(b)[:2]


def pick_best(ranked: Sequence[Candidate]) -> Candidate | None:
    """The first of ``ranked`` if it is sure enough and strictly ahead of the second."""
    if not ranked or ranked[0].confidence < MIN_CONFIDENCE:
        return None
    if len(ranked) > 1 and is_tie(ranked[0], ranked[1]):
        return None
    return ranked[0]
