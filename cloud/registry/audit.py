"""The command audit: every command sent to a gateway, who issued it, and what came back.

Results arrive at least once (``cmd/result`` is buffered and replayed like telemetry), so
attaching a result is idempotent: the first result is kept and later ones change nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.errors import NotFound
from cloud.registry._rows import check_aware, check_name, insert, require
from cloud.registry.models import NAME_LENGTH, CommandAudit, Gateway
from eclor.wire.limits import MAX_DETAIL_LENGTH, MAX_TARGET_LENGTH
from eclor.wire.names import NAME_PATTERN

_COMMAND_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")  # eclor.wire.messages.CommandId
_KIND = re.compile(NAME_PATTERN)


class CommandState(enum.StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def command_state(command: CommandAudit, now: datetime) -> CommandState:
    """Where a command stands at ``now``: a result wins over expiry."""
    if command.result_ok is not None:
        return CommandState.SUCCEEDED if command.result_ok else CommandState.FAILED
    return CommandState.EXPIRED if now >= command.expires_at else CommandState.PENDING


def record_command(
    session: Session,
    command_id: str,
    *,
    gateway_id: str,
    kind: str,
    target: str,
    args: Mapping[str, Any],
    issued_by: str,
    issued_at: datetime,
    expires_at: datetime,
) -> CommandAudit:
    """Audit a command before it is published; :class:`Conflict` if the id was used."""
    _check_command(command_id, kind, target, issued_at, expires_at)
    check_name("issued_by", issued_by, NAME_LENGTH)
    require(session, Gateway, gateway_id, "gateway")
    row = CommandAudit(
        command_id=command_id,
        gateway_id=gateway_id,
        kind=kind,
        target=target,
        args=dict(args),
        issued_by=issued_by,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    return insert(session, row, "command", command_id)


def attach_result(
    session: Session,
    gateway_id: str,
    command_id: str,
    *,
    ok: bool,
    at: datetime,
    detail: str = "",
    observed: Mapping[str, Any] | None = None,
) -> bool:
    """Attach a gateway's result; False when the command already had one (a replay).
    :class:`NotFound` when no such command was sent to that gateway."""
    command = session.get(CommandAudit, command_id)
    if command is None or command.gateway_id != gateway_id:
        raise NotFound("command", f"{gateway_id}/{command_id}")
    if command.result_ok is not None:
        return False
    command.result_ok = ok
    command.result_at = check_aware("at", at)
    command.result_detail = detail[:MAX_DETAIL_LENGTH]
    command.result_observed = dict(observed or {})
    return True


def get_command(session: Session, command_id: str) -> CommandAudit:
    return require(session, CommandAudit, command_id, "command")


def list_commands(
    session: Session,
    *,
    gateway_id: str | None = None,
    without_result: bool = False,
    limit: int = 100,
) -> list[CommandAudit]:
    """Newest first; ``without_result`` keeps those still waiting (pending or expired)."""
    query = select(CommandAudit).order_by(
        CommandAudit.issued_at.desc(), CommandAudit.command_id.desc()
    )
    if gateway_id is not None:
        query = query.where(CommandAudit.gateway_id == gateway_id)
    if without_result:
        query = query.where(CommandAudit.result_ok.is_(None))
    return list(session.scalars(query.limit(limit)))


def _check_command(
    command_id: str, kind: str, target: str, issued_at: datetime, expires_at: datetime
) -> None:
    if not _COMMAND_ID.fullmatch(command_id):
        raise ValueError(f"command id {command_id!r} breaks the wire's command id rule")
    if not _KIND.fullmatch(kind):
        raise ValueError(f"command kind {kind!r} is not a snake_case name")
    if not 1 <= len(target) <= MAX_TARGET_LENGTH:
        raise ValueError(f"target {target!r}: 1-{MAX_TARGET_LENGTH} characters")
    if check_aware("expires_at", expires_at) <= check_aware("issued_at", issued_at):
        raise ValueError("a command expires after it is issued")
