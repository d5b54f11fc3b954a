"""Initial registry schema.

Communes, sites, gateways, devices, lighting groups, command audit, API tokens and dead letters.

Revision ID: 0001
Revises:
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

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 63  # gateway, device, group and command ids (eclor.wire.limits.MAX_ID_LENGTH)
NAME = 200


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


def _fk(table: str, column: str, referred: str, referred_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.{referred_column}"], name=op.f(f"fk_{table}_{column}_{referred}")
    )


def upgrade() -> None:
    op.create_table(
        "commune",
        sa.Column("insee_code", sa.String(5), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.PrimaryKeyConstraint("insee_code", name=op.f("pk_commune")),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("commune_insee", sa.String(5), nullable=False),
        *_choice("site", "kind", "site_kind", ["cabinet", "waste_centre", "traffic_station"]),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        _json("opening_hours", nullable=True),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_site_latitude")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_site_longitude")),
        _fk("site", "commune_insee", "commune", "insee_code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
    )
    op.create_index(op.f("ix_site_commune_insee"), "site", ["commune_insee"])
    _create_gateway()
    _create_gateway_children()
    _create_api_token()
    _create_dead_letter()


def _create_gateway() -> None:
    op.create_table(
        "gateway",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("site_id", sa.String(ID), nullable=True),
        sa.Column("mqtt_username", sa.String(ID), nullable=False),
        sa.Column("credential_hash", sa.String(128), nullable=True),
        _time("enrolled_at"),
        _time("credential_issued_at", nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        _time("revoked_at", nullable=True),
        *_choice("gateway", "status", "gateway_status", ["unknown", "online", "offline"]),
        _time("status_at", nullable=True),
        _time("last_seen_at", nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("outbox_rows", sa.Integer(), nullable=True),
        sa.Column("outbox_bytes", sa.BigInteger(), nullable=True),
        sa.Column("outbox_oldest_age_s", sa.Float(), nullable=True),
        _fk("gateway", "site_id", "site", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway")),
        sa.UniqueConstraint("mqtt_username", name=op.f("uq_gateway_mqtt_username")),
    )
    op.create_index(op.f("ix_gateway_site_id"), "gateway", ["site_id"])


def _create_gateway_children() -> None:
    op.create_table(
        "device",
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("device_id", sa.String(ID), nullable=False),
        sa.Column("profile", sa.String(ID), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        _json("tags"),
        sa.Column("installed_power_before_w", sa.Float(), nullable=True),
        _time("created_at"),
        _time("last_seen_at", nullable=True),
        *_choice("device", "health", "device_state", ["unknown", "ok", "degraded", "unreachable"]),
        _time("health_at", nullable=True),
        _time("last_ok_at", nullable=True),
        sa.Column("health_errors", sa.Integer(), nullable=False),
        sa.Column("health_detail", sa.String(1024), nullable=False),
        _fk("device", "gateway_id", "gateway", "id"),
        sa.PrimaryKeyConstraint("gateway_id", "device_id", name=op.f("pk_device")),
    )
    op.create_table(
        "lighting_group",
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("group_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        *_choice(
            "lighting_group", "backend", "lighting_backend", ["dali", "contactor", "setpoint"]
        ),
        _json("members"),
        _fk("lighting_group", "gateway_id", "gateway", "id"),
        sa.PrimaryKeyConstraint("gateway_id", "group_id", name=op.f("pk_lighting_group")),
    )
    op.create_table(
        "command_audit",
        sa.Column("command_id", sa.String(ID), nullable=False),
        sa.Column("gateway_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(ID), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        _json("args"),
        sa.Column("issued_by", sa.String(NAME), nullable=False),
        _time("issued_at"),
        _time("expires_at"),
        sa.Column("result_ok", sa.Boolean(), nullable=True),
        sa.Column("result_detail", sa.String(1024), nullable=True),
        _json("result_observed", nullable=True),
        _time("result_at", nullable=True),
        _fk("command_audit", "gateway_id", "gateway", "id"),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_command_audit")),
    )
    op.create_index("ix_command_audit_gateway_issued", "command_audit", ["gateway_id", "issued_at"])


def _create_api_token() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        _json("scopes"),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        _time("created_at"),
        _time("expires_at", nullable=True),
        _time("revoked_at", nullable=True),
        _time("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
    )


def _create_dead_letter() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _time("received_at"),
        sa.Column("topic", sa.String(512), nullable=False),
        sa.Column("gateway_guess", sa.String(ID), nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    for column in ("received_at", "gateway_guess", "reason"):
        op.create_index(op.f(f"ix_dead_letter_{column}"), "dead_letter", [column])


def downgrade() -> None:
    for table in (
        "dead_letter",
        "api_token",
        "command_audit",
        "lighting_group",
        "device",
        "gateway",
        "site",
        "commune",
    ):
        op.drop_table(table)  # drops the table's indexes with it
