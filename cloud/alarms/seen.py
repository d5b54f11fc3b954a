"""Last-seen times for the silence alarms, written by the ingest after each stored flush."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.orm import Session

from cloud.registry.models import Device, Gateway

_GATEWAYS = cast(Table, Gateway.__table__)
_DEVICES = cast(Table, Device.__table__)


def mark_seen(
    session: Session,
    gateways: Collection[str],
    devices: Mapping[tuple[str, str], datetime],
    now: datetime,
) -> None:
    """``gateways`` heard at ``now``; each ``(gateway, device)`` at its own time. Times only move
    forward; unknown ids change nothing. One batched statement per table, whatever the fleet."""
    if gateways:
        session.execute(
            update(_GATEWAYS)
            .where(_GATEWAYS.c.id == bindparam("g"))
            .where(or_(_GATEWAYS.c.last_seen_at.is_(None), _GATEWAYS.c.last_seen_at < now))
            .values(last_seen_at=now),
            [{"g": gateway} for gateway in sorted(gateways)],
        )
    if devices:
        session.execute(
            update(_DEVICES)
            .where(_DEVICES.c.gateway_id == bindparam("g"), _DEVICES.c.device_id == bindparam("d"))
            .where(or_(_DEVICES.c.last_seen_at.is_(None), _DEVICES.c.last_seen_at < bindparam("t")))
            .values(last_seen_at=bindparam("t")),
            [{"g": g, "d": d, "t": at} for (g, d), at in sorted(devices.items())],
        )
