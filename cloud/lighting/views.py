"""Bodies and answers of the lighting routes (:mod:`cloud.api.routes.lighting`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cloud.lighting.policy import PolicyBody
from cloud.registry.audit import CommandState, command_state
from cloud.registry.models import CommandAudit
from cloud.registry.models_lighting import AdaptivePolicy, LightingOverride, LightingProgram

TARGET_PATTERN = r"^(group:[a-z0-9][a-z0-9_-]{0,62}|device:[A-Za-z0-9][A-Za-z0-9_.:-]{0,62})$"


class ProgramView(BaseModel):
    gateway: str
    revision: int
    updated_by: str
    updated_at: datetime
    published_at: datetime | None
    """When this revision went to the broker (retained); ``null`` while it has not."""
    program: dict[str, Any]
    """``site``, ``programs``, ``calendars``, ``assignments`` (docs/lighting.md)."""

    @classmethod
    def of(cls, row: LightingProgram) -> ProgramView:
        return cls(
            gateway=row.gateway_id,
            revision=row.revision,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
            published_at=row.published_at,
            program=row.document,
        )


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    target: Annotated[str, Field(pattern=TARGET_PATTERN, examples=["group:main-street"])]
    level_pct: Annotated[float, Field(ge=0, le=100)]
    starts_at: AwareDatetime | None = None
    """Default: now."""
    until: AwareDatetime
    fade_s: Annotated[float | None, Field(ge=0, le=960)] = None


class CommandResultView(BaseModel):
    state: CommandState
    ok: bool | None
    at: datetime | None
    detail: str | None
    observed: dict[str, Any] | None
    """From the gateway: ``target_pct`` commanded, ``level_pct`` read back from the actuator."""

    @classmethod
    def of(cls, row: CommandAudit, now: datetime) -> CommandResultView:
        return cls(
            state=command_state(row, now),
            ok=row.result_ok,
            at=row.result_at,
            detail=row.result_detail,
            observed=row.result_observed,
        )


class OverrideView(BaseModel):
    command_id: str
    gateway: str
    target: str
    level_pct: float
    mode: str
    """``override`` (operator) or ``raise`` (adaptive)."""
    source: str
    starts_at: datetime
    until: datetime
    fade_s: float | None
    created_by: str
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    active: bool
    """Not cleared and not ended."""
    result: CommandResultView

    @classmethod
    def of(cls, row: LightingOverride, command: CommandAudit, now: datetime) -> OverrideView:
        return cls(
            command_id=row.command_id,
            gateway=row.gateway_id,
            target=row.target,
            level_pct=row.level_pct,
            mode=row.mode,
            source=row.source,
            starts_at=row.starts_at,
            until=row.until,
            fade_s=row.fade_s,
            created_by=row.created_by,
            created_at=row.created_at,
            cleared_at=row.cleared_at,
            cleared_by=row.cleared_by,
            active=row.cleared_at is None and row.until > now,
            result=CommandResultView.of(command, now),
        )


class OverrideList(BaseModel):
    items: list[OverrideView]


class ClearView(BaseModel):
    command_id: str
    """Id of the ``clear_override`` command sent."""
    cleared: list[str]
    """Command ids of the overrides it ended."""


class PolicyView(PolicyBody):
    id: str
    updated_by: str
    updated_at: datetime
    evaluated_at: datetime | None
    last_vph: float | None
    raised_pct: float | None
    raised_until: datetime | None
    last_command_id: str | None

    @classmethod
    def of(cls, row: AdaptivePolicy) -> PolicyView:
        return cls(
            id=row.id,
            gateway=row.gateway_id,
            group=row.group_id,
            loop_gateway=row.loop_gateway_id,
            loop_device=row.loop_device_id,
            lanes=list(row.lanes),
            window_min=row.window_min,
            hold_min=row.hold_min,
            design_class=row.design_class,
            steps=row.steps,
            enabled=row.enabled,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
            evaluated_at=row.evaluated_at,
            last_vph=row.last_vph,
            raised_pct=row.raised_pct,
            raised_until=row.raised_until,
            last_command_id=row.last_command_id,
        )


class PolicyList(BaseModel):
    items: list[PolicyView]


def policy_values(body: PolicyBody) -> dict[str, Any]:
    """Registry columns of a policy body."""
    return {
        "gateway_id": body.gateway,
        "group_id": body.group,
        "loop_gateway_id": body.loop_gateway,
        "loop_device_id": body.loop_device,
        "lanes": list(body.lanes),
        "window_min": body.window_min,
        "hold_min": body.hold_min,
        "design_class": body.design_class,
        "steps": [step.model_dump() for step in body.steps],
        "enabled": body.enabled,
    }
