"""The self-test: every device read once, then the agent run until the cloud has acked its data.

1. **Devices.** Each configured device is read once, every field of its read plan, through the
   agent's own Modbus driver and the new config's bus settings: OK, or failing with the reason
   (the transport error, the exception replies, the unusable values). One headline value per
   device goes to the report.
2. **Uplink.** An :class:`~edge.agent.EdgeAgent` runs on the new config (its real outbox, so
   nothing it reads is lost or sent twice by the agent that takes over) until every device has
   been polled once, at least one batch has been acknowledged by the cloud, and the outbox is
   empty; or until the time is up. The ack round trip is measured from the first publish to the
   first ack. What went wrong on the way (broker refused, no ack) comes from the agent's own
   warnings, collected while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from edge.agent import EdgeAgent
from edge.config import Device, LoadedConfig
from edge.errors import DeviceTimeout, EdgeError, TransportError
from edge.modbus.bus import ExceptionReply, ModbusBus
from edge.modbus.decode import Decoded, Value, decode_request
from edge.modbus.planner import plan_reads
from edge.profiles import Profile

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 30.0
_TICK_S = 0.01


@dataclass(frozen=True)
class DeviceCheck:
    device: str
    profile: str
    bus: str
    unit: int
    ok: bool
    value: str
    """One value read, with its unit (``voltage_l1_v 230.2 V``), or empty."""
    detail: str
    """Why it is failing; empty when it is not."""


@dataclass(frozen=True)
class UplinkCheck:
    connected: bool
    acked_batches: int
    drained: bool
    ack_round_trip_s: float | None
    polled: dict[str, str]
    """Device → the agent's view after its first poll (``ok``, ``degraded: …``)."""
    detail: str
    backlog: int = 0
    """Batches left in the outbox by an earlier run when the test started."""

    @property
    def ok(self) -> bool:
        return self.connected and self.acked_batches > 0 and self.drained


async def check_devices(loaded: LoadedConfig) -> list[DeviceCheck]:
    """Read every device once; devices on one bus one after the other, buses in parallel."""
    cfg = loaded.config
    by_bus: dict[str, list[Device]] = {}
    for device in cfg.devices:
        by_bus.setdefault(device.bus, []).append(device)
    buses = {b.name: ModbusBus(b) for b in cfg.buses if b.name in by_bus}
    try:
        results = await asyncio.gather(
            *(_check_bus(group, buses[name], loaded.profiles) for name, group in by_bus.items())
        )
    finally:
        for bus in buses.values():
            await bus.close()
    checks = {c.device: c for group in results for c in group}
    return [checks[d.id] for d in cfg.devices]


async def _check_bus(
    devices: list[Device], bus: ModbusBus, profiles: dict[str, Profile]
) -> list[DeviceCheck]:
    return [await check_device(device, profiles[device.profile], bus) for device in devices]


async def check_device(device: Device, profile: Profile, bus: ModbusBus) -> DeviceCheck:
    unit = device.unit if device.unit is not None else profile.default_unit_id
    fields = None if device.fields is None else [profile.field_named(n) for n in device.fields]
    decoded, problems = Decoded(), []
    pause_s = profile.limits.pause_between_requests_ms / 1000
    try:
        for request in plan_reads(profile, fields):
            data = await bus.read(
                unit,
                request.function,
                request.address,
                request.count,
                device=device.id,
                pause_s=pause_s,
            )
            if isinstance(data, ExceptionReply):
                problems.append(f"{data} reading {', '.join(f.name for f in request.fields)}")
                continue
            decode_request(request, data, decoded)
    except TransportError as exc:
        problems = [_why(exc, bus, unit)]
    problems += [f"{name}: {reason}" for name, reason in decoded.invalid.items()]
    return DeviceCheck(
        device=device.id,
        profile=device.profile,
        bus=device.bus,
        unit=unit,
        ok=not problems and bool(decoded.values),
        value=headline(profile, decoded.values),
        detail="; ".join(problems) or ("" if decoded.values else "no value read"),
    )


def _why(exc: TransportError, bus: ModbusBus, unit: int) -> str:
    if isinstance(exc, DeviceTimeout):
        return (
            f"no answer within {bus.config.timeout_ms} ms at unit {unit}: "
            "check power, wiring, unit id and line settings"
        )
    return exc.reason


def headline(profile: Profile, values: dict[str, Value]) -> str:
    """The first field with a unit that was read, else the first field read."""
    read = [f for f in profile.fields if f.name in values and f.measurement != "device"]
    if not read:
        return ""
    best = next((f for f in read if f.unit), read[0])
    value = values[best.name]
    shown = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f"{best.name} {shown}{f' {best.unit}' if best.unit else ''}"


class _WarningTap(logging.Handler):
    """Keeps the agent's warnings (they never carry a secret) to explain a failure."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


@contextlib.contextmanager
def _tapped(name: str) -> Iterator[_WarningTap]:
    logger = logging.getLogger(name)
    tap = _WarningTap()
    previous = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(tap)
    try:
        yield tap
    finally:
        logger.removeHandler(tap)
        logger.setLevel(previous)


@dataclass
class _Progress:
    started: float = field(default_factory=time.monotonic)
    first_publish: float | None = None
    first_ack: float | None = None
    acked: int = 0
    drained: bool = False
    backlog: int = 0
    """Batches already in the outbox when the agent started (left by an earlier run)."""
    nothing_to_send: bool = False


async def check_uplink(loaded: LoadedConfig, timeout_s: float) -> UplinkCheck:
    """Run the agent until what it read is acked, at most ``timeout_s``."""
    agent = EdgeAgent(loaded)
    stop = asyncio.Event()
    with _tapped("edge") as tap:
        task = asyncio.create_task(agent.run(stop), name="self-test agent")
        try:
            progress = await _watch(agent, task, timeout_s)
        finally:
            stop.set()
            await _finish(task)
        detail = _uplink_detail(task, progress, tap.messages, timeout_s)
    reconnects = agent.metrics.registry.get_sample_value("eclor_edge_mqtt_reconnects_total", {})
    return UplinkCheck(
        connected=bool(reconnects),
        acked_batches=progress.acked,
        drained=progress.drained,
        ack_round_trip_s=_round_trip(progress),
        polled={name: _polled(rec.state, rec.detail) for name, rec in agent.health.devices.items()},
        detail=detail,
        backlog=progress.backlog,
    )


async def _watch(agent: EdgeAgent, task: asyncio.Task[None], timeout_s: float) -> _Progress:
    """Until every batch the agent wrote since it started is acked (older ones may still be
    draining at ``uplink.drain_rate_per_s``: that is the backlog, reported, not waited for)."""
    progress = _Progress()
    deadline = progress.started + timeout_s
    ready = asyncio.ensure_future(agent.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        return progress
    stats = await agent.outbox.stats()
    progress.backlog, first_seq, next_check = stats.rows, stats.next_seq, 0.0
    while not task.done() and time.monotonic() < deadline:
        now = time.monotonic()
        _sample(agent, progress, now)
        if _all_polled(agent) and now >= next_check:
            next_check = now + 0.1
            if progress.acked and not await agent.outbox.pending(1, min_seq=first_seq):
                progress.drained = True
                break
            if all(r.last_ok_ms is None for r in agent.health.devices.values()):
                progress.nothing_to_send = True
                break
        await asyncio.sleep(_TICK_S)
    return progress


def _sample(agent: EdgeAgent, progress: _Progress, now: float) -> None:
    registry = agent.metrics.registry
    published = registry.get_sample_value(
        "eclor_edge_published_messages_total", {"kind": "telemetry"}
    )
    acked = registry.get_sample_value("eclor_edge_acked_batches_total", {})
    if published and progress.first_publish is None:
        progress.first_publish = now
    if acked and progress.first_ack is None:
        progress.first_ack = now
    progress.acked = int(acked or 0)


def _all_polled(agent: EdgeAgent) -> bool:
    return all(rec.state != "unknown" for rec in agent.health.devices.values())


def _round_trip(progress: _Progress) -> float | None:
    if progress.first_publish is None or progress.first_ack is None:
        return None
    return max(progress.first_ack - progress.first_publish, 0.0)


def _polled(state: str, detail: str) -> str:
    return f"{state}: {detail}" if detail and state != "ok" else state


async def _finish(task: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S)
    except TimeoutError:
        log.error("the self-test agent did not stop within %.0f s", STOP_TIMEOUT_S)
        task.cancel()
    except (EdgeError, OSError) as exc:
        log.debug("the self-test agent ended with %s", exc)


def _uplink_detail(
    task: asyncio.Task[None], progress: _Progress, warnings: list[str], timeout_s: float
) -> str:
    if task.done() and not task.cancelled() and task.exception() is not None:
        return f"the agent stopped: {task.exception()}"
    if progress.drained:
        return ""
    link = [w for w in warnings if "broker" in w]
    if link:
        return link[-1]
    if progress.nothing_to_send:
        return "not tested: no device could be read, so there was nothing to send"
    if progress.first_publish is None:
        return f"nothing published within {timeout_s:.0f} s (no broker connection?)"
    if progress.acked == 0:
        return (
            f"no ack from the cloud within {timeout_s:.0f} s: is the gateway registered, "
            "is the cloud's ingest running?"
        )
    return f"not every batch was acked within {timeout_s:.0f} s"
