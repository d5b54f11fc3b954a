"""What the executor commands a group, and the ``lighting`` reading that records it."""

from __future__ import annotations

from dataclasses import dataclass

from eclor.wire import Reading


@dataclass(frozen=True, slots=True)
class GroupCommand:
    """What the executor last commanded a group (for the fault monitor and the readings)."""

    target_pct: float
    lit: bool
    source: str
    """``program`` | ``override`` | ``raise`` | ``local_rule`` | ``no_program``"""
    since_ms: int
    program: str = ""
    fade_s: float = 0.0


def lighting_reading(group: str, command: GroupCommand, time_ms: int) -> Reading:
    """Measurement ``lighting``, device ``lighting``, tag ``group``."""
    return Reading(
        device="lighting",
        measurement="lighting",
        time=time_ms,
        fields={
            "target_pct": float(command.target_pct),
            "lit": command.lit,
            "source": command.source,
            "program": command.program,
        },
        tags={"group": group},
    )
