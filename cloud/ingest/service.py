"""The ingest: decode, check, accumulate, store, and only then acknowledge.

Telemetry and events from many messages are accumulated and written to the store together (every
``flush_interval_s`` or ``max_batch_points``); the batches whose points were written are acked to
their gateways right after the store accepted the write, never before. Anything that cannot be
accepted goes to the registry's dead letters with its reason and is counted; nothing stops the
service. Events of alarm kinds also drive the registry's alarm life cycle
(:mod:`cloud.alarms.events`) before they are queued: a batch is acked only once its alarms are
applied and its points stored, and since applying is idempotent a resent batch changes nothing.
After each stored flush the gateways and devices heard from are marked seen (for the silence
alarms). When the store is down nothing is acked, the pending points stay bounded
(``max_pending_points``: beyond it new telemetry is refused, and the edges, which keep everything
until acked, send it again), and the write is retried with exponential back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud.alarms.events import apply_alarm_events, sort_events
from cloud.alarms.seen import mark_seen
from cloud.errors import StoreRejected, StoreUnavailable
from cloud.ingest.convert import event_points, status_points, telemetry_points
from cloud.ingest.inbound import Inbound
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.mqtt import CloudMqtt
from cloud.ingest.pending import PendingWrites
from cloud.ingest.registry_port import RegistryPort
from cloud.store.base import TimeSeriesStore
from cloud.store.points import Point
from eclor.clock import Clock, WallClock, from_epoch_ms
from eclor.errors import DecodeError, MessageTooLarge, TopicError, UnsupportedVersion
from eclor.wire import (
    Ack,
    CommandResult,
    Event,
    EventBatch,
    Message,
    Status,
    Suffix,
    TelemetryBatch,
    decode_for_topic,
    encode,
    parse_topic,
    subscription,
    topic,
)
from eclor.wire.limits import MAX_SEQS_PER_ACK

log = logging.getLogger(__name__)
UPLINK = (Suffix.TELEMETRY, Suffix.EVENT, Suffix.STATUS, Suffix.CMD_RESULT)


@dataclass(frozen=True)
class IngestSettings:
    flush_interval_s: float = 0.2
    max_batch_points: int = 5000
    max_pending_points: int = 100_000
    retry_max_s: float = 30.0
    shared_group: str | None = None


def ingest_subscriptions(shared_group: str | None) -> list[str]:
    prefix = f"$share/{shared_group}/" if shared_group else ""
    return [prefix + subscription(suffix) for suffix in UPLINK]


class IngestService:
    def __init__(
        self,
        store: TimeSeriesStore,
        registry: RegistryPort,
        mqtt: CloudMqtt,
        metrics: IngestMetrics,
        settings: IngestSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._mqtt = mqtt
        self._metrics = metrics
        self.settings = settings or IngestSettings()
        self._clock = clock or WallClock()
        self._pending = PendingWrites(self.settings.max_pending_points)
        self._full = asyncio.Event()
        self._room = asyncio.Condition()
        self._retry_s = 0.0

    async def run(self) -> None:
        flusher = asyncio.create_task(self._flush_loop(), name="ingest-flush")
        try:
            while True:
                message = await self._mqtt.inbox.get()
                await self.handle(message)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self._final_flush()

    # -- receiving -----------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> None:
        received_at = self._clock.now()
        try:
            where = parse_topic(inbound.topic)
            message = decode_for_topic(where, inbound.payload)
        except TopicError as exc:
            await self._reject(inbound, received_at, "bad_topic", str(exc))
            return
        except UnsupportedVersion as exc:
            await self._reject(inbound, received_at, "unsupported_version", str(exc))
            return
        except MessageTooLarge as exc:
            await self._reject(inbound, received_at, "oversize", str(exc))
            return
        except DecodeError as exc:
            await self._reject(inbound, received_at, "invalid", str(exc))
            return
        if not await self._registry.is_registered(where.gateway_id):
            await self._reject(inbound, received_at, "unregistered_gateway", where.gateway_id)
            return
        await self._accept(inbound, message, received_at)

    async def _accept(self, inbound: Inbound, message: Message, received_at: datetime) -> None:
        suffix = parse_topic(inbound.topic).suffix.value
        if isinstance(message, TelemetryBatch | EventBatch):
            if isinstance(message, TelemetryBatch):
                points = telemetry_points(message)
            else:
                kept = await self._events(inbound, message, received_at)
                if kept is None:
                    return
                points = event_points(message, kept)
            if not await self._room_for(len(points)):
                self._metrics.refused.labels("store_backlog").inc()
                self._metrics.messages.labels(suffix, "refused").inc()
                return
            self._pending.add(message.gateway, message.seq, points, inbound)
            self._metrics.pending_points.set(len(self._pending))
            if len(self._pending) >= self.settings.max_batch_points:
                self._full.set()
        elif isinstance(message, Status):
            await self._registry.status(message, received_at)
            self._pending.add(message.gateway, None, status_points(message), inbound)
        elif isinstance(message, CommandResult):
            await self._command_result(inbound, message, received_at)
        self._metrics.messages.labels(suffix, "accepted").inc()

    async def _events(
        self, inbound: Inbound, batch: EventBatch, received_at: datetime
    ) -> list[Event] | None:
        """The batch's events to store, once its alarm changes are in the registry; None when
        the registry failed (the batch is not acked: the edge sends it again)."""
        sorted_events = sort_events(batch, received_at)
        for _event, why in sorted_events.bad:
            await self._dead_letter(inbound, received_at, "bad_event", why)
        if sorted_events.alarms:
            try:
                await self._registry.run(lambda s: apply_alarm_events(s, sorted_events.alarms))
            except SQLAlchemyError as exc:
                self._metrics.refused.labels("registry").inc()
                log.warning("alarms of %s/%d not applied: %s", batch.gateway, batch.seq, exc)
                return None
        return sorted_events.kept

    async def _room_for(self, count: int) -> bool:
        """Wait for the flush to make room; False (refuse) only while the store is failing.

        Waiting stops this consumer, so the bounded inbox fills and the broker holds the rest:
        back-pressure, where refusing would make each edge wait out its ack timeout.
        """
        if self._pending.has_room(count):
            return True
        self._full.set()
        async with self._room:
            await self._room.wait_for(lambda: self._pending.has_room(count) or self._retry_s > 0)
        return self._pending.has_room(count)

    async def _command_result(
        self, inbound: Inbound, result: CommandResult, received_at: datetime
    ) -> None:
        if not await self._registry.command_result(result):
            await self._dead_letter(inbound, received_at, "unknown_command", result.id)
        self._ack({result.gateway: [result.seq]})  # stored, in the audit or the dead letters

    async def _reject(
        self, inbound: Inbound, received_at: datetime, reason: str, detail: str
    ) -> None:
        suffix = inbound.topic.rsplit("/", 1)[-1] if inbound.topic.startswith("eclor/") else "other"
        self._metrics.messages.labels(suffix, "rejected").inc()
        await self._dead_letter(inbound, received_at, reason, detail)

    async def _dead_letter(
        self, inbound: Inbound, received_at: datetime, reason: str, detail: str
    ) -> None:
        self._metrics.dead_letters.labels(reason).inc()
        log.warning("dead letter (%s) on %s: %s", reason, inbound.topic[:200], detail[:300])
        await self._registry.dead_letter(
            received_at, inbound.topic, reason, inbound.payload, detail
        )

    # -- storing ---------------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.settings.flush_interval_s)
            self._full.clear()
            if len(self._pending):
                await self.flush()
            if self._retry_s:
                await asyncio.sleep(self._retry_s)

    async def flush(self) -> None:
        work = self._pending.take()
        await self._notify_room()
        try:
            await self._write(work.points)
        except StoreUnavailable as exc:
            self._pending.put_back(work)
            self._retry_s = min(self.settings.retry_max_s, max(0.5, self._retry_s * 2))
            self._metrics.store_errors.labels("unavailable").inc()
            log.warning(
                "store unavailable (%s); nothing acked, retry in %.1f s", exc, self._retry_s
            )
            await self._notify_room()  # waiting consumers now refuse: the edges keep their data
            return
        except StoreRejected as exc:
            self._metrics.store_errors.labels("rejected").inc()
            log.warning("store refused a flush (%s); writing batch by batch", exc)
            await self._write_batch_by_batch(work)
            return
        finally:
            self._metrics.pending_points.set(len(self._pending))
        self._retry_s = 0.0
        self._ack(work.seqs_by_gateway())
        await self._mark_seen(work)

    async def _mark_seen(self, work: PendingWrites) -> None:
        """Gateways heard now; each device at the time of its newest reading (silence alarms)."""
        now = self._clock.now()
        newest: dict[tuple[str, str], int] = {}
        for point in work.points:
            gateway, device = point.tags.get("gateway"), point.tags.get("device")
            if gateway and device and point.measurement != "event":
                key = (gateway, device)
                newest[key] = max(newest.get(key, point.time_ms), point.time_ms)
        gateways = {batch.gateway for batch in work.batches}
        seen = {key: from_epoch_ms(time_ms) for key, time_ms in newest.items()}

        def mark(session: Session) -> None:
            mark_seen(session, gateways, seen, now)

        try:
            await self._registry.run(mark)
        except SQLAlchemyError as exc:
            log.warning("last-seen times not recorded: %s", exc)

    async def _notify_room(self) -> None:
        async with self._room:
            self._room.notify_all()

    async def _write(self, points: list[Point]) -> None:
        with self._metrics.store_seconds.time():
            await self._store.write(points)
        self._metrics.points.inc(len(points))

    async def _write_batch_by_batch(self, work: PendingWrites) -> None:
        for batch, points in work.split_by_batch():
            try:
                await self._write(points)
            except StoreRejected as exc:
                await self._dead_letter(
                    batch.inbound, self._clock.now(), "store_rejected", exc.reason
                )
            except StoreUnavailable:
                self._pending.put_back(work.after(batch))
                return
            if batch.seq is not None:
                self._ack({batch.gateway: [batch.seq]})

    async def _final_flush(self) -> None:
        if len(self._pending):
            with contextlib.suppress(StoreUnavailable):
                await self.flush()

    def _ack(self, seqs_by_gateway: dict[str, list[int]]) -> None:
        for gateway, seqs in seqs_by_gateway.items():
            for start in range(0, len(seqs), MAX_SEQS_PER_ACK):
                part = seqs[start : start + MAX_SEQS_PER_ACK]
                self._mqtt.publish(
                    topic(gateway, Suffix.ACK), encode(Ack(gateway=gateway, seqs=part))
                )
                self._metrics.acks.inc(len(part))
