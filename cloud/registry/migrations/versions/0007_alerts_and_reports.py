"""CAP-shaped alerts and residents' dumping reports (issue 7).

Adds ``alert`` (one row per CAP message; an Update or a Cancel references the message it
replaces, which gets ``superseded_by``), ``report`` (residents' reports of illegal dumping),
``report_event`` (each status move with its note) and ``report_photo`` (photo metadata; the bytes
are files). Four new tables, nothing altered.

Revision ID: 0007
Revises: 0006
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

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALERT_ID = 64
NAME = 200
MSG_TYPES = ("Alert", "Update", "Cancel")
ALERT_STATUSES = ("Actual", "Exercise", "Test")
CATEGORIES = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire",
    "Health", "Env", "Transport", "Infra", "CBRNE", "Other",
)  # fmt: skip
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
REPORT_STATUSES = ("open", "acknowledged", "in_progress", "closed", "rejected")
REPORT_CATEGORIES = (
    "depot-sauvage", "encombrants", "dechets-verts", "gravats",
    "pneus", "amiante-suspecte", "autre",
)  # fmt: skip


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column[Any]:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Column(name, kind, nullable=nullable)


def _choice(table: str, column: str, enum: str, values: Sequence[str]) -> list[Any]:
    """A VARCHAR limited to ``values`` by a CHECK constraint, as ``sa.Enum(native_enum=False)``."""
    listed = ", ".join(f"'{v}'" for v in values)
    return [
        sa.Column(column, sa.String(max(map(len, values))), nullable=False),
        sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{enum}")),
    ]


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _fk(table: str, column: str, referred: str, referred_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.{referred_column}"], name=op.f(f"fk_{table}_{column}_{referred}")
    )


def upgrade() -> None:
    _alert()
    _report()
    op.create_table(
        "report_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        _time("at"),
        *_choice("report_event", "from_status", "report_from_status", REPORT_STATUSES),
        *_choice("report_event", "to_status", "report_to_status", REPORT_STATUSES),
        sa.Column("note", sa.String(1000), nullable=False),
        sa.Column("actor", sa.String(NAME), nullable=False),
        _fk("report_event", "report_id", "report", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_event")),
    )
    op.create_index(op.f("ix_report_event_report_id"), "report_event", ["report_id"])
    op.create_table(
        "report_photo",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("original_type", sa.String(32), nullable=False),
        sa.Column("original_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        _time("created_at"),
        _fk("report_photo", "report_id", "report", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_photo")),
    )
    op.create_index(op.f("ix_report_photo_report_id"), "report_photo", ["report_id"])


def _alert() -> None:
    op.create_table(
        "alert",
        sa.Column("identifier", sa.String(ALERT_ID), nullable=False),
        sa.Column("sender", sa.String(NAME), nullable=False),
        _time("sent"),
        *_choice("alert", "status", "alert_status", ALERT_STATUSES),
        *_choice("alert", "msg_type", "alert_msg_type", MSG_TYPES),
        sa.Column("references", sa.String(ALERT_ID), nullable=True),
        sa.Column("superseded_by", sa.String(ALERT_ID), nullable=True),
        *_choice("alert", "category", "alert_category", CATEGORIES),
        sa.Column("event", sa.String(200), nullable=False),
        *_choice("alert", "urgency", "alert_urgency", URGENCIES),
        *_choice("alert", "severity", "alert_severity", SEVERITIES),
        *_choice("alert", "certainty", "alert_certainty", CERTAINTIES),
        _time("onset", nullable=True),
        _time("expires"),
        sa.Column("headline", sa.String(160), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("area_desc", sa.String(200), nullable=False),
        _json("polygon", nullable=True),
        _json("communes"),
        sa.Column("colour", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        _check("alert", "colour", "colour IS NULL OR colour BETWEEN 1 AND 4"),
        _fk("alert", "references", "alert", "identifier"),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_alert")),
    )
    op.create_index("ix_alert_current", "alert", ["superseded_by", "expires"])


def _report() -> None:
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        *_choice("report", "category", "report_category", REPORT_CATEGORIES),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(NAME), nullable=True),
        *_choice("report", "status", "report_status", REPORT_STATUSES),
        sa.Column("status_note", sa.String(1000), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        _check("report", "latitude", "latitude BETWEEN -90 AND 90"),
        _check("report", "longitude", "longitude BETWEEN -180 AND 180"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    op.create_index(op.f("ix_report_created_at"), "report", ["created_at"])
    op.create_index(op.f("ix_report_status"), "report", ["status"])
    op.create_index("ix_report_place", "report", ["latitude", "longitude"])


def downgrade() -> None:
    op.drop_table("report_photo")
    op.drop_table("report_event")
    op.drop_table("report")
    op.drop_table("alert")
