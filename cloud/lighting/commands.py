"""Lighting commands and programs on the wire, sent by the API and the scheduler alike.

A ``set_level`` command expires when its override ends (``expires_at = until``): the edge keeps
overrides, so a command that reaches a gateway back from an outage still applies for what is left
of it, and one arriving later is useless and ignored. A ``clear_override`` expires with the last
override it clears (at least :data:`MIN_CLEAR_TTL` from now).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cloud.registry.lighting import OverrideSpec
from eclor.clock import to_epoch_ms
from eclor.wire import Command, Suffix, encode, topic
from eclor.wire.programs import ProgramSet

Publish = Callable[[str, bytes, bool], bool]
"""``publish(topic, payload, retain) -> sent`` (same shape as :data:`cloud.scheduler.Publish`)."""
MIN_CLEAR_TTL = timedelta(minutes=5)


def new_command_id(prefix: str, now: datetime) -> str:
    """Unique, sortable by time, within the wire's command id rule (63 characters)."""
    return f"{prefix}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(5)}"


def set_level_args(spec: OverrideSpec) -> dict[str, Any]:
    args: dict[str, Any] = {
        "level_pct": spec.level_pct,
        "until": to_epoch_ms(spec.until),
        "starts_at": to_epoch_ms(spec.starts_at),
        "mode": spec.mode,
        "source": spec.source,
    }
    if spec.fade_s is not None:
        args["fade_s"] = spec.fade_s
    return args


def set_level_command(command_id: str, spec: OverrideSpec, now: datetime) -> Command:
    return Command(
        id=command_id,
        kind="set_level",
        target=spec.target,
        args=set_level_args(spec),
        issued_at=to_epoch_ms(now),
        expires_at=to_epoch_ms(spec.until),
    )


def clear_command(command_id: str, target: str, now: datetime, expires_at: datetime) -> Command:
    return Command(
        id=command_id,
        kind="clear_override",
        target=target,
        args={},
        issued_at=to_epoch_ms(now),
        expires_at=to_epoch_ms(max(expires_at, now + MIN_CLEAR_TTL)),
    )


def send_command(publish: Publish | None, gateway_id: str, command: Command) -> bool:
    """Publish on the gateway's ``cmd`` topic (not retained); False when not sent."""
    if publish is None:
        return False
    return publish(topic(gateway_id, Suffix.CMD), encode(command), False)


def send_program(publish: Publish | None, program: ProgramSet) -> bool:
    """Publish on the gateway's ``program`` topic, retained; False when not sent."""
    if publish is None:
        return False
    return publish(topic(program.gateway, Suffix.PROGRAM), encode(program), True)
