"""``gatewaySilent`` and ``deviceSilent``: raised and cleared by the cloud from what it heard.

A gateway is silent when nothing (status, telemetry, event) arrived for ``gateway_after_s``, or
when its retained status says ``offline`` (its MQTT last will). A device is silent when its
gateway's status reports it ``unreachable``, or when no reading of it arrived for
``device_polls`` poll intervals (its ``poll_interval_s`` tag, else ``default_poll_s``), never
less than ``device_min_s``. Devices never heard from are not judged (not yet installed), nor are
the devices of a silent gateway (the gateway's alarm says it all).

Raises and clears carry the cloud's clock; :func:`check_silence` is idempotent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alarms.kinds import DEVICE_SILENT, GATEWAY_SILENT
from cloud.registry.alarms import AlarmChange, AlarmEvent, apply_alarm_event, open_alarms
from cloud.registry.models import Device, DeviceState, Gateway, GatewayStatus


@dataclass(frozen=True, slots=True)
class SilenceSettings:
    gateway_after_s: float = 600.0
    device_polls: float = 3.0
    default_poll_s: float = 60.0
    device_min_s: float = 300.0


def gateway_silence(gateway: Gateway, now: datetime, settings: SilenceSettings) -> str | None:
    """Why the gateway counts as silent, or None."""
    if gateway.status is GatewayStatus.OFFLINE:
        return "status offline (last will)"
    if gateway.last_seen_at is None:
        return None
    quiet = (now - gateway.last_seen_at).total_seconds()
    if quiet > settings.gateway_after_s:
        return f"nothing heard for {quiet:.0f} s (limit {settings.gateway_after_s:.0f} s)"
    return None


def device_silence(device: Device, now: datetime, settings: SilenceSettings) -> str | None:
    """Why the device counts as silent, or None."""
    if device.health is DeviceState.UNREACHABLE:
        return f"gateway reports it unreachable: {device.health_detail}"[:1024]
    if device.last_seen_at is None:
        return None
    limit = max(settings.device_min_s, settings.device_polls * _poll_s(device, settings))
    quiet = (now - device.last_seen_at).total_seconds()
    if quiet > limit:
        return f"no reading for {quiet:.0f} s (limit {limit:.0f} s)"
    return None


def _poll_s(device: Device, settings: SilenceSettings) -> float:
    try:
        poll = float(device.tags.get("poll_interval_s", settings.default_poll_s))
    except (TypeError, ValueError):
        return settings.default_poll_s
    return poll if poll > 0 else settings.default_poll_s


def check_silence(
    session: Session, now: datetime, settings: SilenceSettings
) -> Counter[AlarmChange]:
    """Raise or clear the silence alarms of every enrolled gateway and its devices.

    Open silence alarms are read in one query, and only a change is written: a fleet of
    thousands of quiet-as-usual devices costs two selects."""
    open_now = {
        (a.gateway_id, a.device_id, a.kind)
        for a in open_alarms(session, kinds=(GATEWAY_SILENT, DEVICE_SILENT))
    }
    done: Counter[AlarmChange] = Counter()
    silent_gateways: set[str] = set()
    for gateway in session.scalars(select(Gateway).where(Gateway.revoked.is_(False))):
        why = gateway_silence(gateway, now, settings)
        if why is not None:
            silent_gateways.add(gateway.id)
        key = (gateway.id, gateway.id, GATEWAY_SILENT)
        done[_apply(session, key, why, key in open_now, now, "critical")] += 1
    for device in session.scalars(select(Device)):
        if device.gateway_id in silent_gateways:
            continue
        key = (device.gateway_id, device.device_id, DEVICE_SILENT)
        why = device_silence(device, now, settings)
        done[_apply(session, key, why, key in open_now, now, "warning")] += 1
    return done


def _apply(
    session: Session,
    key: tuple[str, str, str],
    why: str | None,
    is_open: bool,
    now: datetime,
    severity: str,
) -> AlarmChange:
    # A silence going on is not news: only its start and its end are written.
    if (why is not None) == is_open:
        return AlarmChange.IGNORED
    gateway_id, device_id, kind = key
    event = AlarmEvent(gateway_id, device_id, kind, now, why is not None, severity, why or "")
    return apply_alarm_event(session, event)
