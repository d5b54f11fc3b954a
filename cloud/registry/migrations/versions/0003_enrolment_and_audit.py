"""Enrolment tokens and the operator audit.

Adds ``enrolment_token`` (one-time, short-lived tokens with which a gateway enrols itself, bound
to a site and optionally to a gateway id; the secret stored hashed) and ``operator_audit`` (who
did what through the operator API, the enrol endpoint and the security commands of the CLI).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Types are spelled out here rather than imported from the models, so that this revision keeps
meaning what it meant when the models change. Two new tables, nothing altered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 63  # gateway and site ids (eclor.wire.limits.MAX_ID_LENGTH)
TOKEN_ID = 32
NAME = 200
HASH = 128
SOURCES = ("api", "enrol", "cli")


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "enrolment_token",
        sa.Column("id", sa.String(TOKEN_ID), nullable=False),
        sa.Column("secret_hash", sa.String(HASH), nullable=False),
        sa.Column("site_id", sa.String(ID), nullable=False),
        sa.Column("gateway_id", sa.String(ID), nullable=True),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        _time("created_at"),
        _time("expires_at"),
        _time("revoked_at", nullable=True),
        _time("used_at", nullable=True),
        sa.Column("used_by_gateway", sa.String(ID), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_enrolment_token_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_token")),
    )
    op.create_index(op.f("ix_enrolment_token_site_id"), "enrolment_token", ["site_id"])
    listed = ", ".join(f"'{source}'" for source in SOURCES)
    op.create_table(
        "operator_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _time("at"),
        sa.Column("source", sa.String(max(map(len, SOURCES))), nullable=False),
        sa.Column("token_id", sa.String(TOKEN_ID), nullable=True),
        sa.Column("actor", sa.String(NAME), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("action", sa.String(256), nullable=False),
        sa.Column(
            "targets", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(1024), nullable=False),
        sa.CheckConstraint(f"source IN ({listed})", name=op.f("ck_operator_audit_audit_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_audit")),
    )
    op.create_index(op.f("ix_operator_audit_at"), "operator_audit", ["at"])
    op.create_index(op.f("ix_operator_audit_token_id"), "operator_audit", ["token_id"])


def downgrade() -> None:
    op.drop_table("operator_audit")  # drops the table's indexes with it
    op.drop_table("enrolment_token")
