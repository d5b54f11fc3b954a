"""The interface the lighting executor drives, whatever the back-end (DALI, contactor, setpoint).

An actuator is built per lighting group by ``edge.lighting.actuators.build.build_group_actuators``.
``apply`` raises ``edge.errors.ActuatorError`` (or a subclass) when the back-end refused or did not
answer in time; it never blocks longer than the back-end's timeout.
"""

from __future__ import annotations

from typing import Protocol


class Actuator(Protocol):
    name: str
    """e.g. ``"dali:dali/group0"``, ``"contactor:controller"``, ``"setpoint:controller"``."""

    async def apply(self, level_pct: float, fade_s: float) -> None: ...

    async def read_back(self) -> float | None:
        """The observed level %, or None if the back-end cannot tell."""
        ...

    async def close(self) -> None: ...
