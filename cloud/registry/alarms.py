"""Alarms: open, refresh, clear, acknowledge, list (see :mod:`cloud.registry.models_alarms`).

One alarm row is one episode of one condition (gateway, device, kind). :func:`apply_alarm_event`
is idempotent and order-tolerant, because the edge sends its events at least once and a batch
whose ack was lost comes again later, possibly after newer ones:

- ``active`` at ``t``: refreshes the open episode (``count`` +1 only when ``t`` is newer than its
  ``last_seen``); is ignored when the latest episode was cleared at or after ``t`` (a replay of
  something already over); otherwise opens a new episode.
- cleared at ``t``: closes the open episode when ``t`` is not before its opening; anything else
  (no open episode, an older clear) changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware, require
from cloud.registry.models_alarms import Alarm, AlarmSeverity
from eclor.wire.limits import MAX_DETAIL_LENGTH


class AlarmChange(enum.StrEnum):
    """What :func:`apply_alarm_event` did."""

    OPENED = "opened"
    REFRESHED = "refreshed"
    CLEARED = "cleared"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One raise or clear of a condition, from an edge event or a cloud check."""

    gateway_id: str
    device_id: str
    kind: str
    at: datetime
    active: bool
    severity: str = "warning"
    detail: str = ""


def latest_alarm(session: Session, gateway_id: str, device_id: str, kind: str) -> Alarm | None:
    """The newest episode of the condition, open or not."""
    query = (
        select(Alarm)
        .where(Alarm.gateway_id == gateway_id, Alarm.device_id == device_id, Alarm.kind == kind)
        .order_by(Alarm.opened_at.desc(), Alarm.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def apply_alarm_event(session: Session, event: AlarmEvent) -> AlarmChange:
    """Apply one raise or clear to the condition's episodes (rules in the module docstring)."""
    check_aware("at", event.at)
    latest = latest_alarm(session, event.gateway_id, event.device_id, event.kind)
    if event.active:
        return _raise(session, latest, event)
    if latest is None or latest.cleared_at is not None or event.at < latest.opened_at:
        return AlarmChange.IGNORED
    latest.cleared_at = event.at
    return AlarmChange.CLEARED


def _raise(session: Session, latest: Alarm | None, event: AlarmEvent) -> AlarmChange:
    detail = event.detail[:MAX_DETAIL_LENGTH]
    if latest is not None and latest.cleared_at is None:
        if event.at <= latest.last_seen:
            return AlarmChange.IGNORED
        latest.last_seen = event.at
        latest.count += 1
        latest.severity = AlarmSeverity(event.severity)
        if detail:
            latest.detail = detail
        return AlarmChange.REFRESHED
    if latest is not None and latest.cleared_at is not None and event.at <= latest.cleared_at:
        return AlarmChange.IGNORED
    session.add(
        Alarm(
            gateway_id=event.gateway_id,
            device_id=event.device_id,
            kind=event.kind,
            severity=AlarmSeverity(event.severity),
            opened_at=event.at,
            last_seen=event.at,
            count=1,
            detail=detail,
        )
    )
    session.flush()
    return AlarmChange.OPENED


def open_alarms(
    session: Session, *, kinds: Collection[str], gateway_id: str | None = None
) -> list[Alarm]:
    """Open episodes of ``kinds`` (of one gateway when given)."""
    query = select(Alarm).where(Alarm.cleared_at.is_(None), Alarm.kind.in_(list(kinds)))
    if gateway_id is not None:
        query = query.where(Alarm.gateway_id == gateway_id)
    return list(session.scalars(query))


def alarm_page(
    session: Session,
    *,
    after: int | None,
    limit: int,
    state: str | None = None,
    gateway_id: str | None = None,
    kind: str | None = None,
) -> tuple[list[Alarm], bool]:
    """Up to ``limit`` alarms with ids above ``after``, oldest first, and whether more follow.
    ``state``: ``open`` (not cleared) or ``cleared``; None for both."""
    query = select(Alarm).order_by(Alarm.id).limit(limit + 1)
    if after is not None:
        query = query.where(Alarm.id > after)
    if state == "open":
        query = query.where(Alarm.cleared_at.is_(None))
    elif state == "cleared":
        query = query.where(Alarm.cleared_at.is_not(None))
    if gateway_id is not None:
        query = query.where(Alarm.gateway_id == gateway_id)
    if kind is not None:
        query = query.where(Alarm.kind == kind)
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


def acknowledge_alarm(session: Session, alarm_id: int, *, by: str, at: datetime) -> Alarm:
    """Mark an alarm seen by ``by``; acknowledging again keeps the first acknowledgement."""
    alarm = require(session, Alarm, alarm_id, "alarm")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_by = by[:200]
        alarm.acknowledged_at = check_aware("at", at)
    return alarm


def count_open_alarms_by_kind(session: Session) -> dict[str, int]:
    query = (
        select(Alarm.kind, func.count())
        .where(Alarm.cleared_at.is_(None))
        .group_by(Alarm.kind)
        .order_by(Alarm.kind)
    )
    return {kind: int(count) for kind, count in session.execute(query)}
