"""Config models of the lighting back-ends: DALI lines and the per-group actuator/meter blocks.

Used by ``edge.lighting.config`` (``LightingConfig.dali_lines`` and the ``dali``/``contactor``/
``setpoint``/``meter`` keys of each group). Cross-references (a group naming an unknown line,
device or writable) are checked there, against the whole gateway config (``ConfigError``).

DALI ``port`` forms (python-dali driver URLs, see ``docs/dali.md``):

- ``luba232:/dev/ttyUSB0`` — Lunatone RS-232 LUBA interface on a serial port or pty;
- ``luba232:socket://host:port`` — the same byte protocol over TCP (serial server, the simulator).
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eclor.wire.names import DEVICE_ID_PATTERN

LINE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,30}$"
_PORT = re.compile(r"^luba232:(?:/\S+|socket://[^\s:/]+:\d{1,5})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_dali_port(port: str) -> str:
    """The port if it is a python-dali LUBA URL this agent can open, else ValueError."""
    if _PORT.match(port) is None:
        raise ValueError(
            f"not a DALI port: {port!r} (use luba232:/dev/ttyUSB0 or luba232:socket://host:port)"
        )
    return port


class DaliLineConfig(_Strict):
    """One DALI line reached through one interface (the line's single bus master)."""

    name: str = Field(pattern=LINE_NAME_PATTERN)
    port: str = Field(description="luba232:/dev/ttyUSB0 or luba232:socket://host:port")
    timeout_s: float = Field(default=0.5, gt=0, le=10, description="every send, answer included")
    power_on_level_pct: float = Field(default=100, ge=0, le=100)
    system_failure_level_pct: float = Field(default=100, ge=0, le=100)
    status_poll_s: float = Field(
        default=60, ge=5, le=86_400, description="one staggered QUERY STATUS pass over all gear"
    )
    energy_poll_s: float = Field(
        default=900, ge=60, le=86_400, description="banks 202 (energy, power) and 206 (on-time)"
    )
    reconnect_min_s: float = Field(default=1, gt=0, le=60)
    reconnect_max_s: float = Field(default=60, gt=0, le=3600)
    commission: bool = Field(
        default=True, description="set POWER ON and SYSTEM FAILURE levels at start"
    )

    @field_validator("port")
    @classmethod
    def _port(cls, value: str) -> str:
        return check_dali_port(value)

    @model_validator(mode="after")
    def _backoff(self) -> Self:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class DaliTarget(_Strict):
    """A lighting group's DALI addressing: one DALI group (0–15) xor the whole line (broadcast)."""

    line: str = Field(pattern=LINE_NAME_PATTERN)
    group: int | None = Field(default=None, ge=0, le=15)
    broadcast: bool = False

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.group is None) == (not self.broadcast):
            raise ValueError("give either group (0-15) or broadcast: true, not both or neither")
        return self

    @property
    def label(self) -> str:
        return f"{self.line}/broadcast" if self.broadcast else f"{self.line}/group{self.group}"


class ContactorTarget(_Strict):
    """Coils of a Modbus device closed when the group is lit (level > 0), opened at 0."""

    device: str = Field(pattern=DEVICE_ID_PATTERN)
    outputs: list[str] = Field(min_length=1)

    @field_validator("outputs")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"outputs listed twice: {value}")
        return value


class SetpointTarget(_Strict):
    """A holding register of a Modbus device that takes the dimming level, 0–100 %."""

    device: str = Field(pattern=DEVICE_ID_PATTERN)
    output: str = Field(min_length=1)


class MeterTarget(_Strict):
    """The meter feeding the group, for the power checks of ``edge.lighting.monitor``."""

    device: str = Field(pattern=DEVICE_ID_PATTERN)
    rated_w: float = Field(gt=0, le=1_000_000, description="power drawn at 100 %")
    power_field: str = Field(default="power_total_w", min_length=1)
    standby_w: float = Field(
        default=0.0, ge=0, description="drawn with lamps off (drivers on standby); above = lit"
    )
    tolerance_pct: float = Field(default=25, gt=0, le=100)
    driver_loss_pct: float = Field(
        default=7, ge=0, lt=100, description="share of rated power drawn at the lowest level"
    )

    def expected_w(self, level_pct: float) -> float:
        """Power of LED drivers at ``level_pct`` of light: rated × (loss + (1 − loss) × level)."""
        loss = self.driver_loss_pct / 100
        return self.rated_w * (loss + (1 - loss) * level_pct / 100) if level_pct > 0 else 0.0

    @property
    def lit_above_w(self) -> float:
        """Power above which lamps are taken to be lit: standby plus 5 % of rated."""
        return self.standby_w + 0.05 * self.rated_w
