"""The operator audit: one row per operator action, from the API, the enrol endpoint or the CLI.

Rows are only ever added. What a row holds (:class:`~cloud.registry.models.OperatorAudit`):
who (the token's public id and name, or the CLI's ``user@host``), when, the method and route
template or command, the ids acted on, the outcome (HTTP status, or the CLI's exit code), the
client's address, and a short detail. Never a secret: callers pass none, and as a second line of
defence :func:`record_action` replaces anything shaped like an API or enrolment token, and the
value of any ``password`` or ``secret`` key, with ``[redacted]``. Over-long values are cut to
their column, so recording an action never fails on what a client put in a URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware
from cloud.registry.models import (
    ACTION_LENGTH,
    CLIENT_LENGTH,
    NAME_LENGTH,
    AuditSource,
    OperatorAudit,
)
from eclor.wire.limits import MAX_DETAIL_LENGTH

REDACTED = "[redacted]"
MAX_TARGETS = 16
MAX_TARGET_VALUE = 256
_TOKEN_SHAPE = re.compile(r"eclor(?:-enrol)?_[0-9A-Za-z]+_[0-9A-Za-z_-]+")
_SECRET_KEYS = ("password", "secret")


def record_action(
    session: Session,
    *,
    at: datetime,
    source: AuditSource,
    actor: str,
    method: str,
    action: str,
    status: int,
    token_id: str | None = None,
    targets: Mapping[str, Any] | None = None,
    client: str | None = None,
    detail: str = "",
) -> OperatorAudit:
    """Add one action to the audit, in the caller's transaction (module doc)."""
    row = OperatorAudit(
        at=check_aware("at", at),
        source=source,
        token_id=_cut(token_id, 32),
        actor=_clean(actor, NAME_LENGTH) or "unknown",
        method=_cut(method.upper(), 8) or "?",
        action=_clean(action, ACTION_LENGTH) or "?",
        targets=_targets(targets or {}),
        status=status,
        client=_cut(client, CLIENT_LENGTH),
        detail=_clean(detail, MAX_DETAIL_LENGTH),
    )
    session.add(row)
    return row


def audit_page(
    session: Session, *, before: int | None, limit: int, token_id: str | None = None
) -> tuple[list[OperatorAudit], bool]:
    """Up to ``limit`` actions, newest first, with ids below ``before``; and whether more
    follow. ``token_id`` keeps the actions of one token."""
    query = select(OperatorAudit).order_by(OperatorAudit.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(OperatorAudit.id < before)
    if token_id is not None:
        query = query.where(OperatorAudit.token_id == token_id)
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


def redact(text: str) -> str:
    """``text`` with anything shaped like an API or enrolment token replaced."""
    return _TOKEN_SHAPE.sub(REDACTED, text)


def _targets(targets: Mapping[str, Any]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for key, value in list(targets.items())[:MAX_TARGETS]:
        name = _clean(str(key), 64)
        secret = any(word in name.lower() for word in _SECRET_KEYS)
        kept[name] = REDACTED if secret else _clean(str(value), MAX_TARGET_VALUE)
    return kept


def _clean(text: str, limit: int) -> str:
    return redact(text)[:limit]


def _cut(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]
