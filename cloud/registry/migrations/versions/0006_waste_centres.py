"""Waste-centre opening hours and traffic-station layout (issue 7).

Adds ``waste_centre`` (one per gate controller: capacity, queue detector, opening hours, closed
dates, wait thresholds) and ``traffic_lane`` (one per loop-station lane: direction, road segment,
GeoJSON geometry). Two new tables, nothing altered.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Types are spelled out here rather than imported from the models, so that this revision keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 63  # gateway and device ids (eclor.wire.limits.MAX_ID_LENGTH)
NAME = 200
DIRECTION = 32


def _json(name: str) -> sa.Column[Any]:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Column(name, kind, nullable=False)


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "waste_centre",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("commune", sa.String(NAME), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(ID), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("has_queue_detector", sa.Boolean(), nullable=False),
        sa.Column("poll_interval_s", sa.Float(), nullable=False),
        _json("opening_hours"),
        _json("closed_dates"),
        sa.Column("wait_low_min", sa.Float(), nullable=True),
        sa.Column("wait_high_min", sa.Float(), nullable=True),
        _check("waste_centre", "latitude", "latitude BETWEEN -90 AND 90"),
        _check("waste_centre", "longitude", "longitude BETWEEN -180 AND 180"),
        _check("waste_centre", "capacity", "capacity > 0"),
        _check("waste_centre", "poll_interval", "poll_interval_s > 0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_centre")),
    )
    op.create_table(
        "traffic_lane",
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("device_id", sa.String(ID), nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(DIRECTION), nullable=False),
        sa.Column("segment", sa.String(NAME), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        _json("geometry"),
        _check("traffic_lane", "lane", "lane BETWEEN 1 AND 4"),
        _check("traffic_lane", "interval", "interval_s > 0"),
        sa.PrimaryKeyConstraint("gateway_id", "device_id", "lane", name=op.f("pk_traffic_lane")),
    )
    op.create_index(op.f("ix_traffic_lane_segment"), "traffic_lane", ["segment"])


def downgrade() -> None:
    op.drop_index(op.f("ix_traffic_lane_segment"), table_name="traffic_lane")
    op.drop_table("traffic_lane")
    op.drop_table("waste_centre")
