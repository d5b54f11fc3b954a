"""What the ingest writes about gateways and devices as messages arrive: last seen, status,
per-device health.

Status messages are applied in the order the ingest hands them over, with one exception: an
``online`` status older than the one already applied is a late redelivery and is ignored. An
``offline`` status is always applied, because it is usually the gateway's MQTT last will, which
the agent stamps when it starts, long before the link dies. A redelivered old will can therefore
show a live gateway offline until its next periodic status (``uplink.status_interval_s``).
Device health in a status is applied per device, unless older than what the device already has.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware, require, rowcount
from cloud.registry.gateways import get_gateway, record_gateway_seen
from cloud.registry.models import Device, DeviceState, Gateway, GatewayStatus
from eclor.clock import from_epoch_ms
from eclor.wire import DeviceHealth, Status


@dataclass(frozen=True)
class StatusApplied:
    """What :func:`record_status` did with one status message."""

    applied: bool
    """False when the message was an older ``online`` than the one already applied."""
    unknown_devices: tuple[str, ...] = ()
    """Devices named in the status that the registry does not know under that gateway."""


def record_status(session: Session, status: Status, *, received_at: datetime) -> StatusApplied:
    """Apply a gateway's status message received at ``received_at`` (the cloud's clock)."""
    gateway = get_gateway(session, status.gateway)
    record_gateway_seen(session, gateway.id, received_at)
    at = from_epoch_ms(status.time)
    online = status.state == "online"
    if online and gateway.status_at is not None and at < gateway.status_at:
        return StatusApplied(applied=False)
    gateway.status = GatewayStatus(status.state)
    gateway.status_at = at
    if status.version:
        gateway.version = status.version
    if status.outbox is not None:
        gateway.outbox_rows = status.outbox.rows
        gateway.outbox_bytes = status.outbox.bytes
        gateway.outbox_oldest_age_s = status.outbox.oldest_age_s
    unknown = _apply_device_health(session, gateway, status.devices, at)
    return StatusApplied(applied=True, unknown_devices=unknown)


def record_device_health(
    session: Session, gateway_id: str, device_id: str, health: DeviceHealth, *, at: datetime
) -> bool:
    """Set one device's health as of ``at``; False (and no change) when it has newer already."""
    device = require(session, Device, (gateway_id, device_id), "device")
    return _set_health(device, health, check_aware("at", at))


def record_devices_seen(
    session: Session, gateway_id: str, device_ids: Collection[str], at: datetime
) -> int:
    """Readings of ``device_ids`` arrived at ``at``; returns how many rows moved forward.
    Unknown device ids are ignored here (the ingest counts them from its own checks)."""
    check_aware("at", at)
    if not device_ids:
        return 0
    result = session.execute(
        update(Device)
        .where(Device.gateway_id == gateway_id, Device.device_id.in_(list(device_ids)))
        .where(or_(Device.last_seen_at.is_(None), Device.last_seen_at < at))
        .values(last_seen_at=at)
        .execution_options(synchronize_session="fetch")
    )
    return rowcount(result)


def _apply_device_health(
    session: Session, gateway: Gateway, health: dict[str, DeviceHealth], at: datetime
) -> tuple[str, ...]:
    if not health:
        return ()
    devices = {
        d.device_id: d
        for d in session.scalars(
            select(Device).where(
                Device.gateway_id == gateway.id, Device.device_id.in_(list(health))
            )
        )
    }
    for device_id, device in devices.items():
        _set_health(device, health[device_id], at)
    return tuple(sorted(set(health) - set(devices)))


def _set_health(device: Device, health: DeviceHealth, at: datetime) -> bool:
    if device.health_at is not None and at < device.health_at:
        return False
    device.health = DeviceState(health.state)
    device.health_at = at
    device.health_errors = health.errors
    device.health_detail = health.detail
    if health.last_ok is not None:
        device.last_ok_at = from_epoch_ms(health.last_ok)
    return True
