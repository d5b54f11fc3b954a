"""Devices and lighting groups, each identified within its gateway."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import (
    check_aware,
    check_device_id,
    check_name,
    insert,
    require,
)
from cloud.registry.models import (
    NAME_LENGTH,
    Device,
    DeviceState,
    Gateway,
    LightingBackend,
    LightingGroup,
)
from eclor.wire.limits import MAX_ID_LENGTH
from eclor.wire.names import NAME_PATTERN


def add_device(
    session: Session,
    gateway_id: str,
    device_id: str,
    *,
    profile: str,
    now: datetime,
    unit_id: int | None = None,
    tags: Mapping[str, str] | None = None,
    installed_power_before_w: float | None = None,
) -> Device:
    """Register a device behind a gateway; ``device_id`` is unique within the gateway."""
    check_device_id(device_id)
    check_name("profile", profile, MAX_ID_LENGTH)
    if unit_id is not None and not 0 <= unit_id <= 247:
        raise ValueError(f"unit id {unit_id}: a Modbus unit is 0-247")
    if installed_power_before_w is not None and installed_power_before_w < 0:
        raise ValueError(f"installed power {installed_power_before_w} W is negative")
    require(session, Gateway, gateway_id, "gateway")
    device = Device(
        gateway_id=gateway_id,
        device_id=device_id,
        profile=profile,
        unit_id=unit_id,
        tags=dict(tags or {}),
        installed_power_before_w=installed_power_before_w,
        created_at=check_aware("now", now),
        health=DeviceState.UNKNOWN,
        health_errors=0,
        health_detail="",
    )
    return insert(session, device, "device", (gateway_id, device_id))


def get_device(session: Session, gateway_id: str, device_id: str) -> Device:
    return require(session, Device, (gateway_id, device_id), "device")


def list_devices(session: Session, gateway_id: str | None = None) -> list[Device]:
    """Devices of one gateway, or of all gateways, by gateway then device id."""
    query = select(Device).order_by(Device.gateway_id, Device.device_id)
    if gateway_id is not None:
        query = query.where(Device.gateway_id == gateway_id)
    return list(session.scalars(query))


def set_device_tags(
    session: Session, gateway_id: str, device_id: str, tags: Mapping[str, str]
) -> Device:
    device = get_device(session, gateway_id, device_id)
    device.tags = dict(tags)
    return device


def add_lighting_group(
    session: Session,
    gateway_id: str,
    group_id: str,
    *,
    name: str,
    backend: LightingBackend,
    members: Sequence[Any],
) -> LightingGroup:
    """A group a command can target as ``group:<group_id>``; ``members`` as the backend needs.

    The id follows the wire's name rule (snake_case), as programs and commands carry it."""
    if re.fullmatch(NAME_PATTERN, group_id) is None:
        raise ValueError(f"group id {group_id!r}: snake_case, 1-63 characters ({NAME_PATTERN})")
    check_name("group name", name, NAME_LENGTH)
    require(session, Gateway, gateway_id, "gateway")
    group = LightingGroup(
        gateway_id=gateway_id,
        group_id=group_id,
        name=name,
        backend=LightingBackend(backend),
        members=list(members),
    )
    return insert(session, group, "lighting group", (gateway_id, group_id))


def get_lighting_group(session: Session, gateway_id: str, group_id: str) -> LightingGroup:
    return require(session, LightingGroup, (gateway_id, group_id), "lighting group")


def list_lighting_groups(session: Session, gateway_id: str) -> list[LightingGroup]:
    query = (
        select(LightingGroup)
        .where(LightingGroup.gateway_id == gateway_id)
        .order_by(LightingGroup.group_id)
    )
    return list(session.scalars(query))
