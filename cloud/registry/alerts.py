"""Alerts in the registry: CAP messages and their chains (Alert → Update… → Cancel).

A message is never edited. :func:`update_alert` and :func:`cancel_alert` add a new message whose
``references`` names the current one and mark that one ``superseded_by`` the new one, with a
conditional UPDATE, so two operators replacing the same message at once get one success and one
:class:`~cloud.errors.Conflict`, never a forked chain. A message is *active* while it is
``Actual``, current (not superseded), not a Cancel, and ``expires`` is after ``now``: expired
alerts leave :func:`active_alerts` by themselves, no job needed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from cloud.errors import Conflict
from cloud.registry._rows import check_aware, require, rowcount
from cloud.registry.models_reports import (
    Alert,
    AlertCategory,
    AlertStatus,
    Certainty,
    MsgType,
    Severity,
    Urgency,
)

KIND = "alert"
_SEVERITY_ORDER = case(
    {s.value: rank for rank, s in enumerate(Severity)}, value=Alert.severity, else_=len(Severity)
)


@dataclass(frozen=True, slots=True)
class AlertContent:
    """What an operator says in a message (CAP ``info`` and ``area``); checked by the API."""

    category: AlertCategory
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    expires: datetime
    headline: str
    description: str
    area_desc: str
    onset: datetime | None = None
    instruction: str | None = None
    polygon: dict[str, Any] | None = None
    communes: tuple[str, ...] = ()
    colour: int | None = None
    status: AlertStatus = AlertStatus.ACTUAL


def new_identifier(now: datetime) -> str:
    """``eclor-20261102T093000Z-<8 hex>``: unique, sortable by time, CAP-safe characters."""
    return f"eclor-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def create_alert(
    session: Session, content: AlertContent, *, sender: str, created_by: str, now: datetime
) -> Alert:
    """A new ``Alert`` message."""
    _check_times(content, now)
    return _add(session, content, MsgType.ALERT, None, sender, created_by, now)


def update_alert(
    session: Session,
    identifier: str,
    content: AlertContent,
    *,
    sender: str,
    created_by: str,
    now: datetime,
) -> Alert:
    """An ``Update`` replacing the current message ``identifier`` (Conflict if it is not)."""
    _check_times(content, now)
    previous = _current(session, identifier)
    return _replace(session, previous, content, MsgType.UPDATE, sender, created_by, now)


def cancel_alert(
    session: Session,
    identifier: str,
    *,
    note: str,
    sender: str,
    created_by: str,
    now: datetime,
) -> Alert:
    """A ``Cancel`` of the current message ``identifier``; ``note`` becomes its description."""
    previous = _current(session, identifier)
    content = AlertContent(
        category=previous.category,
        event=previous.event,
        urgency=Urgency.PAST,
        severity=previous.severity,
        certainty=previous.certainty,
        expires=previous.expires,
        headline=f"Annulé : {previous.headline}"[:160],
        description=note or "Alerte annulée.",
        area_desc=previous.area_desc,
        onset=previous.onset,
        polygon=previous.polygon,
        communes=tuple(previous.communes),
        colour=previous.colour,
        status=previous.status,
    )
    return _replace(session, previous, content, MsgType.CANCEL, sender, created_by, now)


def get_alert(session: Session, identifier: str) -> Alert:
    return require(session, Alert, identifier, KIND)


def active_alerts(session: Session, now: datetime) -> list[Alert]:
    """Actual, current, not cancelled, not expired: most severe first, then newest first."""
    check_aware("now", now)
    query = (
        select(Alert)
        .where(
            Alert.superseded_by.is_(None),
            Alert.expires > now,
            Alert.msg_type != MsgType.CANCEL,
            Alert.status == AlertStatus.ACTUAL,
        )
        .order_by(_SEVERITY_ORDER, Alert.sent.desc(), Alert.identifier)
    )
    return list(session.scalars(query))


def _check_times(content: AlertContent, now: datetime) -> None:
    check_aware("expires", content.expires)
    if content.expires <= now:
        raise ValueError("expires: must be in the future")
    if content.onset is not None and check_aware("onset", content.onset) >= content.expires:
        raise ValueError("onset: must be before expires")


def _current(session: Session, identifier: str) -> Alert:
    previous = get_alert(session, identifier)
    if previous.superseded_by is not None:
        raise Conflict(KIND, identifier, f"already replaced by {previous.superseded_by}")
    if previous.msg_type == MsgType.CANCEL:
        raise Conflict(KIND, identifier, "is a Cancel: nothing left to change")
    return previous


def _replace(
    session: Session,
    previous: Alert,
    content: AlertContent,
    msg_type: MsgType,
    sender: str,
    created_by: str,
    now: datetime,
) -> Alert:
    identifier = new_identifier(now)
    claimed = session.execute(
        update(Alert)
        .where(Alert.identifier == previous.identifier, Alert.superseded_by.is_(None))
        .values(superseded_by=identifier)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        raise Conflict(KIND, previous.identifier, "replaced by someone else meanwhile")
    session.expire(previous)
    return _add(
        session, content, msg_type, previous.identifier, sender, created_by, now, identifier
    )


def _add(
    session: Session,
    content: AlertContent,
    msg_type: MsgType,
    references: str | None,
    sender: str,
    created_by: str,
    now: datetime,
    identifier: str | None = None,
) -> Alert:
    row = Alert(
        identifier=identifier or new_identifier(now),
        sender=sender,
        sent=check_aware("now", now),
        status=content.status,
        msg_type=msg_type,
        references=references,
        superseded_by=None,
        category=content.category,
        event=content.event,
        urgency=content.urgency,
        severity=content.severity,
        certainty=content.certainty,
        onset=content.onset,
        expires=content.expires,
        headline=content.headline,
        description=content.description,
        instruction=content.instruction,
        area_desc=content.area_desc,
        polygon=content.polygon,
        communes=list(content.communes),
        colour=content.colour,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row
