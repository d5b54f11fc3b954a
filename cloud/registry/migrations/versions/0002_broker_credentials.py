"""Broker credentials: Mosquitto password hashes for gateways, and cloud service accounts.

Adds ``gateway.broker_hash`` (the gateway's MQTT password in Mosquitto's PBKDF2-SHA512 form, for
the broker's password file; empty for gateways enrolled before this revision until their
password is rotated) and the ``service_account`` table (the MQTT identities of the ingest
workers and of the API and scheduler, with their hash and their ACL grants).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Types are spelled out here rather than imported from the models, so that this revision keeps
meaning what it meant when the models change. Both changes are plain ``ADD``/``DROP COLUMN`` and
``CREATE``/``DROP TABLE``, which SQLite (3.35 and later) and PostgreSQL do natively.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 63  # MQTT usernames (eclor.wire.limits.MAX_ID_LENGTH)
HASH = 128
ROLES = ("ingest", "api")


def upgrade() -> None:
    op.add_column("gateway", sa.Column("broker_hash", sa.String(HASH), nullable=True))
    listed = ", ".join(f"'{role}'" for role in ROLES)
    op.create_table(
        "service_account",
        sa.Column("name", sa.String(ID), nullable=False),
        sa.Column("role", sa.String(max(map(len, ROLES))), nullable=False),
        sa.Column(
            "grants", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("broker_hash", sa.String(HASH), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credential_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"role IN ({listed})", name=op.f("ck_service_account_service_role")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_account")),
    )


def downgrade() -> None:
    op.drop_table("service_account")
    op.drop_column("gateway", "broker_hash")
