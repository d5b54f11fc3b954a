"""Lighting programs, overrides and adaptive policies (issue 6).

Adds ``lighting_program`` (one TALQ-shaped program document per gateway, with a revision),
``lighting_override`` (every ``set_level`` sent, by an operator or an adaptive policy; delivery and
read-back are in ``command_audit``) and ``adaptive_policy`` (a lighting group raised from a loop
station's traffic, with the state of its last raise).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Types are spelled out here rather than imported from the models, so that this revision keeps
meaning what it meant when the models change. Three new tables, nothing altered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 63  # eclor.wire.limits.MAX_ID_LENGTH
TARGET = 128  # eclor.wire.limits.MAX_TARGET_LENGTH
NAME = 200
MODE = 16
ROAD_CLASS = 4


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "lighting_program",
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _json("document"),
        sa.Column("updated_by", sa.String(NAME), nullable=False),
        _time("updated_at"),
        _time("published_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateway.id"], name=op.f("fk_lighting_program_gateway_id_gateway")
        ),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_lighting_program")),
    )
    op.create_table(
        "lighting_override",
        sa.Column("command_id", sa.String(ID), nullable=False),
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("target", sa.String(TARGET), nullable=False),
        sa.Column("level_pct", sa.Float(), nullable=False),
        sa.Column("mode", sa.String(MODE), nullable=False),
        sa.Column("source", sa.String(MODE), nullable=False),
        _time("starts_at"),
        _time("until"),
        sa.Column("fade_s", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        _time("created_at"),
        _time("cleared_at", nullable=True),
        sa.Column("cleared_by", sa.String(NAME), nullable=True),
        sa.Column("clear_command_id", sa.String(ID), nullable=True),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["command_audit.command_id"],
            name=op.f("fk_lighting_override_command_id_command_audit"),
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateway.id"], name=op.f("fk_lighting_override_gateway_id_gateway")
        ),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_lighting_override")),
    )
    op.create_index(
        "ix_lighting_override_gateway_until", "lighting_override", ["gateway_id", "until"]
    )
    op.create_table(
        "adaptive_policy",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("group_id", sa.String(ID), nullable=False),
        sa.Column("loop_gateway_id", sa.String(ID), nullable=False),
        sa.Column("loop_device_id", sa.String(ID), nullable=False),
        _json("lanes"),
        sa.Column("window_min", sa.Integer(), nullable=False),
        sa.Column("hold_min", sa.Integer(), nullable=False),
        sa.Column("design_class", sa.String(ROAD_CLASS), nullable=False),
        _json("steps"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(NAME), nullable=False),
        _time("updated_at"),
        _time("evaluated_at", nullable=True),
        sa.Column("last_vph", sa.Float(), nullable=True),
        sa.Column("raised_pct", sa.Float(), nullable=True),
        _time("raised_until", nullable=True),
        sa.Column("last_command_id", sa.String(ID), nullable=True),
        sa.ForeignKeyConstraint(
            ["gateway_id", "group_id"],
            ["lighting_group.gateway_id", "lighting_group.group_id"],
            name=op.f("fk_adaptive_policy_gateway_id_lighting_group"),
        ),
        sa.ForeignKeyConstraint(
            ["loop_gateway_id"],
            ["gateway.id"],
            name=op.f("fk_adaptive_policy_loop_gateway_id_gateway"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adaptive_policy")),
    )
    op.create_index(op.f("ix_adaptive_policy_gateway_id"), "adaptive_policy", ["gateway_id"])


def downgrade() -> None:
    op.drop_table("adaptive_policy")  # drops the table's indexes with it
    op.drop_table("lighting_override")
    op.drop_table("lighting_program")
