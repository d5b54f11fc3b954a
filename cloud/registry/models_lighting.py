"""Registry tables of lighting control (issue 6): programs, overrides, adaptive policies.

- :class:`LightingProgram`: one per gateway, the TALQ-shaped document the gateway runs
  (:class:`eclor.wire.programs.ProgramSet` without ``gateway``/``revision``/``issued_at``), with a
  revision bumped on every change.
- :class:`LightingOverride`: one per ``set_level`` command sent (by an operator or by an adaptive
  policy); its delivery and read-back live in the command audit row of the same id.
- :class:`AdaptivePolicy`: a lighting group raised from a traffic-loop station's volume, with the
  state of the last raise sent (so the job is idempotent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.registry.models import NAME_LENGTH, Base
from cloud.registry.types import JsonDoc
from eclor.wire.limits import MAX_ID_LENGTH, MAX_TARGET_LENGTH

MODE_LENGTH = 16
"""``override`` or ``raise``; ``operator`` or ``adaptive``."""
ROAD_CLASS_LENGTH = 4


class LightingProgram(Base):
    __tablename__ = "lighting_program"

    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    """1 for the first program of the gateway, +1 on every change; sent as ``revision``."""
    document: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    """``site``, ``programs``, ``calendars``, ``assignments`` as on the wire."""
    updated_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    """Last time this revision was handed to the broker (retained); ``None`` until then."""


class LightingOverride(Base):
    __tablename__ = "lighting_override"
    __table_args__ = (Index("ix_lighting_override_gateway_until", "gateway_id", "until"),)

    command_id: Mapped[str] = mapped_column(
        ForeignKey("command_audit.command_id"), primary_key=True
    )
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"))
    target: Mapped[str] = mapped_column(String(MAX_TARGET_LENGTH))
    level_pct: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(MODE_LENGTH))
    source: Mapped[str] = mapped_column(String(MODE_LENGTH))
    starts_at: Mapped[datetime]
    until: Mapped[datetime]
    fade_s: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    clear_command_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))


class AdaptivePolicy(Base):
    __tablename__ = "adaptive_policy"
    __table_args__ = (
        ForeignKeyConstraint(
            ["gateway_id", "group_id"],
            ["lighting_group.gateway_id", "lighting_group.group_id"],
        ),
    )

    id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), index=True)
    group_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    loop_gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"))
    loop_device_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    lanes: Mapped[list[Any]] = mapped_column(JsonDoc)
    window_min: Mapped[int] = mapped_column(Integer)
    hold_min: Mapped[int] = mapped_column(Integer)
    design_class: Mapped[str] = mapped_column(String(ROAD_CLASS_LENGTH))
    steps: Mapped[list[Any]] = mapped_column(JsonDoc)
    """``[{"min_vph": 0, "road_class": "M6", "level_pct": 40.0}, …]``, ascending ``min_vph``."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    updated_at: Mapped[datetime]
    evaluated_at: Mapped[datetime | None]
    last_vph: Mapped[float | None] = mapped_column(Float)
    raised_pct: Mapped[float | None] = mapped_column(Float)
    """Level of the raise in force (sent until ``raised_until``), ``None`` when none."""
    raised_until: Mapped[datetime | None]
    last_command_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
