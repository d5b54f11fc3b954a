"""Edge ``event`` messages into alarm raises and clears, for the ingest.

Events of other kinds (state changes) are only stored as points. An event is set aside (not
stored, not applied, dead-lettered by the ingest with reason ``bad_event``) when its time is more
than :data:`MAX_FUTURE_S` ahead of the cloud's clock: such a time would hold an alarm open
against every real clear that follows.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cloud.alarms.kinds import EDGE_KINDS, canonical_kind
from cloud.registry.alarms import AlarmChange, AlarmEvent, apply_alarm_event
from eclor.clock import from_epoch_ms
from eclor.wire import Event, EventBatch

log = logging.getLogger(__name__)
MAX_FUTURE_S = 3600.0


@dataclass(frozen=True, slots=True)
class SortedEvents:
    """One batch's events: those to store, the alarm changes among them, those set aside."""

    kept: list[Event]
    alarms: list[AlarmEvent]
    bad: list[tuple[Event, str]]


def sort_events(batch: EventBatch, now: datetime) -> SortedEvents:
    kept: list[Event] = []
    alarms: list[AlarmEvent] = []
    bad: list[tuple[Event, str]] = []
    latest = now + timedelta(seconds=MAX_FUTURE_S)
    for event in batch.events:
        at = from_epoch_ms(event.time)
        if at > latest:
            bad.append(
                (
                    event,
                    f"event {event.kind} of {event.device} at {at.isoformat()} is "
                    f"more than {MAX_FUTURE_S:.0f} s ahead of the cloud's clock",
                )
            )
            continue
        kept.append(event)
        kind = canonical_kind(event.kind)
        if kind in EDGE_KINDS:
            alarms.append(
                AlarmEvent(
                    gateway_id=batch.gateway,
                    device_id=event.device,
                    kind=kind,
                    at=at,
                    active=event.active,
                    severity=event.severity,
                    detail=event.detail,
                )
            )
    return SortedEvents(kept, alarms, bad)


def apply_alarm_events(session: Session, events: Sequence[AlarmEvent]) -> Counter[AlarmChange]:
    """Apply in time order (a batch may carry a raise and its clear)."""
    done: Counter[AlarmChange] = Counter()
    for event in sorted(events, key=lambda e: (e.at, e.active)):
        change = apply_alarm_event(session, event)
        done[change] += 1
        if change is not AlarmChange.IGNORED:
            log.info("alarm %s %s on %s/%s", event.kind, change, event.gateway_id, event.device_id)
    return done
