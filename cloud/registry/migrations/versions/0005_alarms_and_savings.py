"""Alarms with their open/clear life cycle and per-cabinet energy baselines (issue 6).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Types are spelled out here rather than imported from the models, so that this revision keeps
meaning what it meant when the models change. Two new tables, nothing altered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 63
NAME = 200
DETAIL = 1024
SEVERITIES = ("info", "warning", "critical")
BASELINE_KINDS = ("installed_power", "reference_period")


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    op.create_table(
        "alarm",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("device_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(max(map(len, SEVERITIES))), nullable=False),
        _time("opened_at"),
        _time("cleared_at", nullable=True),
        _time("last_seen"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(DETAIL), nullable=False),
        sa.Column("acknowledged_by", sa.String(NAME), nullable=True),
        _time("acknowledged_at", nullable=True),
        sa.CheckConstraint(
            f"severity IN ({_listed(SEVERITIES)})", name=op.f("ck_alarm_alarm_severity")
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateway.id"], name=op.f("fk_alarm_gateway_id_gateway")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm")),
    )
    op.create_index("ix_alarm_key", "alarm", ["gateway_id", "device_id", "kind", "opened_at"])
    op.create_index("ix_alarm_open", "alarm", ["cleared_at", "kind"])
    op.create_table(
        "energy_baseline",
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(max(map(len, BASELINE_KINDS))), nullable=False),
        sa.Column("installed_w", sa.Float(), nullable=True),
        sa.Column("kwh_per_lit_hour", sa.Float(), nullable=True),
        sa.Column("on_offset_min", sa.Float(), nullable=False),
        sa.Column("off_offset_min", sa.Float(), nullable=False),
        sa.Column("meter_device", sa.String(ID), nullable=True),
        sa.Column("note", sa.String(DETAIL), nullable=False),
        _time("updated_at"),
        sa.CheckConstraint(
            f"kind IN ({_listed(BASELINE_KINDS)})",
            name=op.f("ck_energy_baseline_baseline_kind"),
        ),
        sa.CheckConstraint(
            "installed_w IS NULL OR installed_w > 0", name=op.f("ck_energy_baseline_installed_w")
        ),
        sa.CheckConstraint(
            "kwh_per_lit_hour IS NULL OR kwh_per_lit_hour > 0",
            name=op.f("ck_energy_baseline_kwh_per_lit_hour"),
        ),
        sa.CheckConstraint(
            "on_offset_min BETWEEN -180 AND 180", name=op.f("ck_energy_baseline_on_offset_min")
        ),
        sa.CheckConstraint(
            "off_offset_min BETWEEN -180 AND 180",
            name=op.f("ck_energy_baseline_off_offset_min"),
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateway.id"], name=op.f("fk_energy_baseline_gateway_id_gateway")
        ),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_energy_baseline")),
    )


def downgrade() -> None:
    op.drop_table("energy_baseline")
    op.drop_table("alarm")  # drops the table's indexes with it
