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
from cloud.registry.alarms import AlarmChange, AlarmEvent, apply_alarm_event, latest_alarm
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
    """Raise or clear the silence alarms of every enrolled gateway and its devices."""
    done: Counter[AlarmChange] = Counter()
    gateways = session.scalars(select(Gateway).where(Gateway.revoked.is_(False)))
    silent_gateways: set[str] = set()
    for gateway in gateways:
        why = gateway_silence(gateway, now, settings)
        if why is not None:
            silent_gateways.add(gateway.id)
        done[_apply(session, gateway.id, gateway.id, GATEWAY_SILENT, why, now, "critical")] += 1
    for device in session.scalars(select(Device)):
        if device.gateway_id in silent_gateways:
            continue
        why = device_silence(device, now, settings)
        done[
            _apply(session, device.gateway_id, device.device_id, DEVICE_SILENT, why, now, "warning")
        ] += 1
    return done


def _apply(
    session: Session,
    gateway_id: str,
    device_id: str,
    kind: str,
    why: str | None,
    now: datetime,
    severity: str,
) -> AlarmChange:
    if why is not None:
        # A silence goes on being true: only its opening is news, not every check.
        event = AlarmEvent(gateway_id, device_id, kind, now, True, severity, why)
        latest_open = _is_open(session, gateway_id, device_id, kind)
        return AlarmChange.IGNORED if latest_open else apply_alarm_event(session, event)
    return apply_alarm_event(session, AlarmEvent(gateway_id, device_id, kind, now, False))


def _is_open(session: Session, gateway_id: str, device_id: str, kind: str) -> bool:
    latest = latest_alarm(session, gateway_id, device_id, kind)
    return latest is not None and latest.cleared_at is None
