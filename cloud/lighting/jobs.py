"""Scheduler jobs of :mod:`cloud.lighting`.

- ``lighting-adaptive`` (every 60 s): each enabled adaptive policy's traffic → a ``raise``
  command when :func:`cloud.lighting.policy.decide` says so.
- ``lighting-publish-pending`` (every 60 s): programs whose current revision has not reached the
  broker yet (the broker was down when it was saved) are published.
- ``lighting-republish`` (daily): every program is published again, retained, so a broker that
  lost its retained messages (a wipe, a new node) hands it to reconnecting gateways again. The
  revision is unchanged, so a gateway that has it already changes nothing.

Without an MQTT connection (``JobContext.publish`` is ``None``) there are no jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from cloud.errors import StoreError
from cloud.lighting.commands import (
    Publish,
    new_command_id,
    send_command,
    set_level_args,
    set_level_command,
)
from cloud.lighting.policy import PolicyStep, Raise, decide, level_for, vehicles_per_hour
from cloud.lighting.publishing import publish_current
from cloud.registry.lighting import (
    OverrideSpec,
    list_policies,
    list_programs,
    record_evaluation,
    record_override,
)
from cloud.registry.models_lighting import AdaptivePolicy
from cloud.scheduler import Job, JobContext

log = logging.getLogger(__name__)
_T = TypeVar("_T")
ADAPTIVE_EVERY_S = 60.0
PENDING_EVERY_S = 60.0
REPUBLISH_EVERY_S = 86_400.0


def jobs(context: JobContext) -> list[Job]:
    if context.publish is None:
        log.warning("no MQTT connection for the scheduler: lighting jobs are not scheduled")
        return []
    publish = context.publish

    async def adaptive() -> None:
        await run_adaptive(context, publish)

    async def pending() -> None:
        await republish_programs(context, publish, only_pending=True)

    async def everything() -> None:
        await republish_programs(context, publish)

    return [
        Job("lighting-adaptive", ADAPTIVE_EVERY_S, adaptive),
        Job("lighting-publish-pending", PENDING_EVERY_S, pending),
        Job("lighting-republish", REPUBLISH_EVERY_S, everything),
    ]


async def backfill(context: JobContext, start: datetime, end: datetime) -> None:
    """Write this package's derived series for ``[start, end)`` from stored history.

    Lighting control writes no derived series (commands are audited in the registry): nothing to
    do.
    """


async def run_adaptive(context: JobContext, publish: Publish) -> int:
    """One pass over the enabled policies; the number of raise commands sent."""
    policies = await asyncio.to_thread(_in_session, context, _enabled_policies)
    sent = 0
    for policy in policies:
        try:
            sent += await _evaluate(context, publish, policy)
        except StoreError as error:
            log.warning("adaptive policy %s: traffic unreadable: %s", policy.id, error)
    return sent


async def _evaluate(context: JobContext, publish: Publish, policy: AdaptivePolicy) -> int:
    now = context.clock.now()
    vph = await vehicles_per_hour(
        context.store,
        policy.loop_gateway_id,
        policy.loop_device_id,
        [int(lane) for lane in policy.lanes],
        now=now,
        window=timedelta(minutes=policy.window_min),
    )
    steps = [PolicyStep.model_validate(step) for step in policy.steps]
    wanted = level_for(vph, steps, policy.design_class)
    current = None
    if policy.raised_pct is not None and policy.raised_until is not None:
        current = Raise(policy.raised_pct, policy.raised_until)
    chosen = decide(wanted, current, now, timedelta(minutes=policy.hold_min))
    if chosen is None:
        await asyncio.to_thread(
            _in_session, context, lambda s: record_evaluation(s, policy.id, at=now, vph=vph)
        )
        return 0
    spec = OverrideSpec(
        gateway_id=policy.gateway_id,
        target=f"group:{policy.group_id}",
        level_pct=chosen.level_pct,
        starts_at=now,
        until=chosen.until,
        mode="raise",
        source="adaptive",
    )
    command_id = new_command_id("adp", now)

    def audit(session: Session) -> None:
        record_override(
            session,
            command_id,
            spec,
            set_level_args(spec),
            by=f"adaptive:{policy.id}",
            now=now,
            expires_at=spec.until,
        )

    await asyncio.to_thread(_in_session, context, audit)
    sent = send_command(publish, policy.gateway_id, set_level_command(command_id, spec, now))
    raised = (chosen.level_pct, chosen.until, command_id) if sent else None
    await asyncio.to_thread(
        _in_session,
        context,
        lambda s: record_evaluation(s, policy.id, at=now, vph=vph, raised=raised),
    )
    if not sent:
        log.warning("adaptive policy %s: raise to %.0f %% not sent", policy.id, chosen.level_pct)
        return 0
    log.info(
        "adaptive policy %s: %.0f veh/h → %s raised to %.0f %% until %s",
        policy.id,
        vph or 0.0,
        spec.target,
        chosen.level_pct,
        chosen.until.isoformat(),
    )
    return 1


async def republish_programs(
    context: JobContext, publish: Publish, *, only_pending: bool = False
) -> int:
    """Publish every program (or only the unpublished ones); the number published."""
    now = context.clock.now()

    def work(session: Session) -> int:
        count = 0
        for row in list_programs(session):
            if only_pending and row.published_at is not None:
                continue
            if publish_current(session, row.gateway_id, publish, now) is not None:
                count += 1
        return count

    count = await asyncio.to_thread(_in_session, context, work)
    if count:
        log.info("published %d lighting program(s)", count)
    return count


def _enabled_policies(session: Session) -> list[AdaptivePolicy]:
    rows = list_policies(session, enabled_only=True)
    session.expunge_all()
    return rows


def _in_session(context: JobContext, work: Callable[[Session], _T]) -> _T:
    with context.sessions.begin() as session:
        return work(session)
