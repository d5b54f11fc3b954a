"""Dead letters: messages the ingest could not accept, kept for diagnosis with a bounded size.

Each keeps its topic, a guess at the gateway, a short machine-readable ``reason`` for counting
(``decode_error``, ``unknown_gateway``…), a human ``detail``, and at most ``MAX_PAYLOAD_BYTES`` of
the payload with its original size. Text from the wire is cleaned before it is stored (PostgreSQL
refuses NUL characters and invalid UTF-8). :func:`prune_dead_letters` keeps the table bounded in
time; the ingest or the scheduler calls it.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware, check_gateway_id, rowcount
from cloud.registry.models import REASON_LENGTH, TOPIC_LENGTH, DeadLetter

MAX_PAYLOAD_BYTES = 16 * 1024
MAX_DETAIL_CHARS = 1024
_TOPIC_GATEWAY = re.compile(r"^eclor/v[^/]*/([^/]+)(?:/|$)")


def guess_gateway(topic: str) -> str | None:
    """The gateway id level of an ``eclor/v…/<id>/…`` topic, if it is a valid gateway id."""
    match = _TOPIC_GATEWAY.match(topic)
    return _valid_gateway(match[1]) if match else None


def add_dead_letter(
    session: Session,
    *,
    received_at: datetime,
    topic: str,
    reason: str,
    payload: bytes,
    detail: str = "",
    gateway_guess: str | None = None,
    max_payload: int = MAX_PAYLOAD_BYTES,
) -> DeadLetter:
    """Keep a rejected message; the gateway is guessed from the topic unless given."""
    reason = _clean(reason, REASON_LENGTH).strip()
    if not reason:
        raise ValueError("a dead letter needs a reason")
    guess = _valid_gateway(gateway_guess) if gateway_guess else guess_gateway(topic)
    row = DeadLetter(
        received_at=check_aware("received_at", received_at),
        topic=_clean(topic, TOPIC_LENGTH),
        gateway_guess=guess,
        reason=reason,
        detail=_clean(detail, MAX_DETAIL_CHARS),
        payload=bytes(payload[:max_payload]),
        payload_size=len(payload),
    )
    session.add(row)
    session.flush()
    return row


def list_dead_letters(
    session: Session,
    *,
    reason: str | None = None,
    gateway: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[DeadLetter]:
    """Newest first; pass the last id of a page as ``before_id`` to get the next one."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if reason is not None:
        query = query.where(DeadLetter.reason == reason)
    if gateway is not None:
        query = query.where(DeadLetter.gateway_guess == gateway)
    if before_id is not None:
        query = query.where(DeadLetter.id < before_id)
    return list(session.scalars(query))


def count_dead_letters_by_reason(
    session: Session, *, since: datetime | None = None
) -> dict[str, int]:
    query = select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
    if since is not None:
        query = query.where(DeadLetter.received_at >= check_aware("since", since))
    return {reason: count for reason, count in session.execute(query)}


def prune_dead_letters(session: Session, *, received_before: datetime) -> int:
    """Delete dead letters received before ``received_before``; returns how many."""
    check_aware("received_before", received_before)
    result = session.execute(
        delete(DeadLetter)
        .where(DeadLetter.received_at < received_before)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _valid_gateway(candidate: str) -> str | None:
    try:
        return check_gateway_id(candidate)
    except ValueError:
        return None


def _clean(text: str, limit: int) -> str:
    """At most ``limit`` characters of valid UTF-8 without NUL."""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return text[:limit]
