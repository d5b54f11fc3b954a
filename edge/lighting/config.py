"""The gateway config's ``lighting:`` section: groups, back-ends, local rules, fallback site.

Back-end blocks (``dali_lines`` entries, a group's ``dali``/``contactor``/``setpoint``/``meter``)
are modelled in :mod:`edge.lighting.backends_config`. :func:`check_lighting` checks the references
against the rest of the gateway config (devices, profiles' writables, lines) and raises
:class:`~eclor.errors.ConfigError` naming the file, the key path and the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eclor.errors import ConfigError
from eclor.wire.names import NAME_PATTERN
from eclor.wire.programs import Site
from edge.lighting.backends_config import (
    ContactorTarget,
    DaliLineConfig,
    DaliTarget,
    MeterTarget,
    SetpointTarget,
)

_Refuse = Callable[[str, object, str], None]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Strict):
    """Where the cabinet is, for the astronomical clock until a ProgramSet brings its own site."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str = "Europe/Paris"

    def to_wire(self) -> Site:
        return Site(latitude=self.latitude, longitude=self.longitude, timezone=self.timezone)


class GroupConfig(_Strict):
    """A lighting group and the back-ends that carry its level (at least one)."""

    name: str = Field(pattern=NAME_PATTERN)
    dali: DaliTarget | None = None
    contactor: ContactorTarget | None = None
    setpoint: SetpointTarget | None = None
    meter: MeterTarget | None = None

    @model_validator(mode="after")
    def _some_backend(self) -> Self:
        if self.dali is None and self.contactor is None and self.setpoint is None:
            raise ValueError(f"group {self.name!r} needs a dali, contactor or setpoint back-end")
        return self


class RuleStep(_Strict):
    min_vph: float = Field(ge=0, description="vehicles per hour at or above which this step holds")
    level_pct: float = Field(ge=0, le=100)


class LocalRuleConfig(_Strict):
    """Edge-local adaptive lighting: a loop station on this gateway raises a group's level."""

    group: str = Field(pattern=NAME_PATTERN)
    device: str = Field(min_length=1, description="loop station device id on this gateway")
    lanes: list[int] = Field(min_length=1, max_length=4)
    window_s: float = Field(default=300, ge=10, le=3600)
    hold_s: float = Field(default=600, ge=1, le=86_400)
    steps: list[RuleStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_ascend(self) -> Self:
        thresholds = [s.min_vph for s in self.steps]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError(f"steps must have strictly ascending min_vph, got {thresholds}")
        if any(not 1 <= lane <= 4 for lane in self.lanes):
            raise ValueError(f"lanes are numbered 1-4, got {self.lanes}")
        return self


class LightingConfig(_Strict):
    state_path: Path
    tick_s: float = Field(default=1.0, ge=0.05, le=60)
    reassert_s: float = Field(
        default=600, ge=10, le=86_400, description="re-send the level even if unchanged"
    )
    reading_interval_s: float = Field(default=60, ge=1, le=3600)
    apply_timeout_s: float = Field(default=10, gt=0, le=120)
    site: SiteConfig
    no_program: Literal["astronomical"] = "astronomical"
    dali_lines: list[DaliLineConfig] = []
    groups: list[GroupConfig] = Field(min_length=1)
    local_rules: list[LocalRuleConfig] = []


def check_lighting(
    path: Path,
    lighting: LightingConfig,
    devices: Mapping[str, Sequence[str]],
    writables: Mapping[str, Sequence[str]],
) -> None:
    """Check the section's references.

    ``devices`` maps each device id to its field names, ``writables`` to its writable names.
    """

    def refuse(key: str, value: object, reason: str) -> None:
        raise ConfigError(str(path), f"lighting.{key}", str(value), reason)

    lines = _unique(refuse, "dali_lines", [line.name for line in lighting.dali_lines])
    groups = _unique(refuse, "groups", [g.name for g in lighting.groups])
    for i, group in enumerate(lighting.groups):
        key = f"groups[{i}]"
        if group.dali is not None and group.dali.line not in lines:
            refuse(f"{key}.dali.line", group.dali.line, f"no such DALI line (have {sorted(lines)})")
        blocks: list[tuple[str, str, list[str]]] = []
        if group.contactor is not None:
            blocks.append(("contactor", group.contactor.device, list(group.contactor.outputs)))
        if group.setpoint is not None:
            blocks.append(("setpoint", group.setpoint.device, [group.setpoint.output]))
        for block, device, outputs in blocks:
            _check_outputs(refuse, f"{key}.{block}", device, outputs, writables)
        if group.meter is not None:
            meter = group.meter
            if meter.device not in devices:
                refuse(f"{key}.meter.device", meter.device, _no_device(devices))
            if meter.power_field not in devices[meter.device]:
                refuse(
                    f"{key}.meter.power_field", meter.power_field, f"not a field of {meter.device}"
                )
    for i, rule in enumerate(lighting.local_rules):
        key = f"local_rules[{i}]"
        if rule.group not in groups:
            refuse(f"{key}.group", rule.group, f"no such lighting group (have {sorted(groups)})")
        if rule.device not in devices:
            refuse(f"{key}.device", rule.device, _no_device(devices))
        for j, lane in enumerate(rule.lanes):
            name = f"lane{lane}_interval_count"
            if name not in devices[rule.device]:
                refuse(f"{key}.lanes[{j}]", lane, f"{rule.device} has no field {name}")


def _check_outputs(
    refuse: _Refuse,
    key: str,
    device: str,
    outputs: list[str],
    writables: Mapping[str, Sequence[str]],
) -> None:
    if device not in writables:
        refuse(f"{key}.device", device, _no_device(writables))
    for j, output in enumerate(outputs):
        if output not in writables[device]:
            where = f"{key}.outputs[{j}]" if key.endswith("contactor") else f"{key}.output"
            refuse(where, output, f"not writable on {device} (have {sorted(writables[device])})")


def _unique(refuse: _Refuse, key: str, names: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            refuse(f"{key}[{i}].name", name, "used twice")
        seen.add(name)
    return seen


def _no_device(devices: Mapping[str, object]) -> str:
    return f"no such device on this gateway (have {sorted(devices)})"
