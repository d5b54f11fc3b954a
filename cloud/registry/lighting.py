"""Lighting control in the registry: programs per gateway, overrides, adaptive policies.

Validation of what goes in (program documents, policy steps) is the caller's
(:mod:`cloud.lighting.programs`, :mod:`cloud.lighting.policy`); these functions keep the rows
consistent: a program's revision goes up by one on every change, an override is written with its
command audit row in the same transaction, a cleared override keeps who cleared it and how.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware, check_name, insert, require
from cloud.registry.audit import record_command
from cloud.registry.models import NAME_LENGTH, CommandAudit, Gateway, LightingGroup
from cloud.registry.models_lighting import AdaptivePolicy, LightingOverride, LightingProgram


def get_program(session: Session, gateway_id: str) -> LightingProgram | None:
    """The gateway's program, ``None`` when it has none; :class:`NotFound` for no gateway."""
    require(session, Gateway, gateway_id, "gateway")
    return session.get(LightingProgram, gateway_id)


def put_program(
    session: Session, gateway_id: str, document: Mapping[str, Any], *, by: str, now: datetime
) -> LightingProgram:
    """Store ``document`` as the gateway's program, revision + 1 (1 for the first)."""
    check_name("updated_by", by, NAME_LENGTH)
    check_aware("now", now)
    row = get_program(session, gateway_id)
    if row is None:
        row = LightingProgram(gateway_id=gateway_id, revision=0)
        session.add(row)
    row.revision += 1
    row.document = dict(document)
    row.updated_by = by
    row.updated_at = now
    row.published_at = None
    session.flush()
    return row


def mark_published(session: Session, gateway_id: str, revision: int, at: datetime) -> bool:
    """Note that ``revision`` went to the broker; False when the program changed meanwhile."""
    row = session.get(LightingProgram, gateway_id)
    if row is None or row.revision != revision:
        return False
    row.published_at = check_aware("at", at)
    return True


def list_programs(session: Session) -> list[LightingProgram]:
    return list(session.scalars(select(LightingProgram).order_by(LightingProgram.gateway_id)))


def group_ids(session: Session, gateway_id: str) -> set[str]:
    query = select(LightingGroup.group_id).where(LightingGroup.gateway_id == gateway_id)
    return set(session.scalars(query))


@dataclass(frozen=True, slots=True)
class OverrideSpec:
    """What a ``set_level`` command carries, for the audit and the override row."""

    gateway_id: str
    target: str
    level_pct: float
    starts_at: datetime
    until: datetime
    fade_s: float | None = None
    mode: str = "override"
    source: str = "operator"


def record_override(
    session: Session,
    command_id: str,
    spec: OverrideSpec,
    args: Mapping[str, Any],
    *,
    by: str,
    now: datetime,
    expires_at: datetime,
) -> LightingOverride:
    """Audit the ``set_level`` command and keep the override, in the caller's transaction."""
    if check_aware("until", spec.until) <= check_aware("starts_at", spec.starts_at):
        raise ValueError("an override ends after it starts")
    record_command(
        session,
        command_id,
        gateway_id=spec.gateway_id,
        kind="set_level",
        target=spec.target,
        args=args,
        issued_by=by,
        issued_at=now,
        expires_at=expires_at,
    )
    row = LightingOverride(
        command_id=command_id,
        gateway_id=spec.gateway_id,
        target=spec.target,
        level_pct=spec.level_pct,
        mode=spec.mode,
        source=spec.source,
        starts_at=spec.starts_at,
        until=spec.until,
        fade_s=spec.fade_s,
        created_by=by,
        created_at=now,
    )
    return insert(session, row, "override", command_id)


def get_override(session: Session, command_id: str) -> tuple[LightingOverride, CommandAudit]:
    row = require(session, LightingOverride, command_id, "override")
    return row, require(session, CommandAudit, command_id, "command")


def list_overrides(
    session: Session,
    *,
    gateway_id: str | None = None,
    active_at: datetime | None = None,
    limit: int = 200,
) -> list[tuple[LightingOverride, CommandAudit]]:
    """Newest first, each with its command audit row; ``active_at``: not cleared nor ended then."""
    query = (
        select(LightingOverride, CommandAudit)
        .join(CommandAudit, CommandAudit.command_id == LightingOverride.command_id)
        .order_by(LightingOverride.created_at.desc(), LightingOverride.command_id.desc())
    )
    if gateway_id is not None:
        query = query.where(LightingOverride.gateway_id == gateway_id)
    if active_at is not None:
        query = query.where(
            LightingOverride.cleared_at.is_(None), LightingOverride.until > active_at
        )
    return [(row[0], row[1]) for row in session.execute(query.limit(limit))]


def clear_overrides(
    session: Session,
    gateway_id: str,
    target: str,
    *,
    clear_command_id: str,
    by: str,
    now: datetime,
    sources: Sequence[str] = ("operator",),
) -> list[LightingOverride]:
    """Mark the active overrides of ``target`` from ``sources`` cleared by ``clear_command_id``."""
    query = select(LightingOverride).where(
        LightingOverride.gateway_id == gateway_id,
        LightingOverride.target == target,
        LightingOverride.cleared_at.is_(None),
        LightingOverride.until > now,
        LightingOverride.source.in_(list(sources)),
    )
    rows = list(session.scalars(query))
    for row in rows:
        row.cleared_at = now
        row.cleared_by = by
        row.clear_command_id = clear_command_id
    return rows


def put_policy(
    session: Session, policy_id: str, values: Mapping[str, Any], *, by: str, now: datetime
) -> tuple[AdaptivePolicy, bool]:
    """Create or replace a policy; ``(row, created)``. Its raise state is kept on a replace."""
    require(session, LightingGroup, (values["gateway_id"], values["group_id"]), "lighting group")
    require(session, Gateway, values["loop_gateway_id"], "gateway")
    row = session.get(AdaptivePolicy, policy_id)
    created = row is None
    if row is None:
        row = AdaptivePolicy(id=policy_id)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_by = check_name("updated_by", by, NAME_LENGTH)
    row.updated_at = check_aware("now", now)
    session.flush()
    return row, created


def get_policy(session: Session, policy_id: str) -> AdaptivePolicy:
    return require(session, AdaptivePolicy, policy_id, "adaptive policy")


def list_policies(
    session: Session, *, gateway_id: str | None = None, enabled_only: bool = False
) -> list[AdaptivePolicy]:
    query = select(AdaptivePolicy).order_by(AdaptivePolicy.id)
    if gateway_id is not None:
        query = query.where(AdaptivePolicy.gateway_id == gateway_id)
    if enabled_only:
        query = query.where(AdaptivePolicy.enabled.is_(True))
    return list(session.scalars(query))


def delete_policy(session: Session, policy_id: str) -> AdaptivePolicy:
    row = get_policy(session, policy_id)
    session.delete(row)
    return row


def record_evaluation(
    session: Session,
    policy_id: str,
    *,
    at: datetime,
    vph: float | None,
    raised: tuple[float, datetime, str] | None = None,
) -> None:
    """Note an evaluation; ``raised``: ``(level, until, command id)`` of a raise just sent."""
    row = get_policy(session, policy_id)
    row.evaluated_at = check_aware("at", at)
    row.last_vph = vph
    if raised is not None:
        row.raised_pct, row.raised_until, row.last_command_id = raised
