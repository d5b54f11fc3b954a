"""What goes up, in which order, and when a batch may leave the outbox.

On each (re)connection the sender draws a line at the outbox's next sequence number: batches
above it are *live* and go out as soon as they are committed; batches below it are the *backlog*
left by the outage, drained at ``drain_rate_per_s`` messages per second so a reconnecting fleet
does not flood the broker, highest priority class first (command results, then events, then
telemetry), oldest first. At most ``max_inflight`` batches are published and unacknowledged at
once; a batch whose ack does not come within ``ack_timeout_s`` is published again (the cloud's
writes are idempotent). A batch leaves the outbox only when the cloud's ``ack`` names it.
"""

from __future__ import annotations

import asyncio
import logging

from eclor.clock import Clock
from eclor.errors import DecodeError
from eclor.wire import Ack, Suffix, decode, topic
from edge.config import Uplink
from edge.metrics import EdgeMetrics
from edge.outbox.store import Kind, PendingBatch
from edge.outbox.worker import AsyncOutbox
from edge.uplink.link import MqttLink

log = logging.getLogger(__name__)

IDLE_S = 5.0
SUFFIX = {
    Kind.TELEMETRY: Suffix.TELEMETRY,
    Kind.EVENT: Suffix.EVENT,
    Kind.CMD_RESULT: Suffix.CMD_RESULT,
}


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = 0.0
        self._at = now

    def available(self, now: float) -> int:
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        return int(self.tokens)

    def take(self, n: int) -> None:
        self.tokens -= n


class Sender:
    def __init__(
        self,
        outbox: AsyncOutbox,
        link: MqttLink,
        settings: Uplink,
        metrics: EdgeMetrics,
        clock: Clock,
    ) -> None:
        self._outbox = outbox
        self._link = link
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self.inflight: dict[int, float] = {}
        self.boundary = 0
        self._bucket = TokenBucket(
            settings.drain_rate_per_s, max(1.0, settings.drain_rate_per_s), 0.0
        )
        self._acked = asyncio.Event()
        self._backlog_left = True

    async def run(self) -> None:
        while True:
            await self._link.connected.wait()
            await self._on_connected()
            while self._link.connected.is_set():
                await self._send_round()
                await self._wait_for_work()
            self.inflight.clear()  # unacked batches go again after the next connection

    async def _on_connected(self) -> None:
        self.boundary = await self._outbox.next_seq()
        self._backlog_left = True
        self._bucket = TokenBucket(
            self._settings.drain_rate_per_s, self._bucket.burst, self._clock.monotonic()
        )
        log.info(
            "uplink connected; backlog below seq %d drains at %.1f msg/s",
            self.boundary,
            self._settings.drain_rate_per_s,
        )

    async def _wait_for_work(self) -> None:
        waits = [
            asyncio.ensure_future(self._outbox.appended.wait()),
            asyncio.ensure_future(self._acked.wait()),
            asyncio.ensure_future(self._link.disconnected.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=self._tick(), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        self._outbox.appended.clear()
        self._acked.clear()

    def _tick(self) -> float:
        """How long to sleep when nothing happens: until the next backlog token while a backlog
        is left, else until the earliest ack deadline (appends, acks and disconnection wake the
        sender anyway), so an idle gateway does not spin."""
        if self._backlog_left:
            return min(1.0, max(0.01, 1.0 / self._settings.drain_rate_per_s))
        if not self.inflight:
            return IDLE_S
        deadline = min(self.inflight.values()) + self._settings.ack_timeout_s
        return min(IDLE_S, max(0.01, deadline - self._clock.monotonic()))

    async def _send_round(self) -> None:
        now = self._clock.monotonic()
        for seq, sent_at in list(self.inflight.items()):
            if now - sent_at > self._settings.ack_timeout_s:
                del self.inflight[seq]
                self._metrics.resent.inc()
        room = self._settings.max_inflight - len(self.inflight)
        if room <= 0:
            return
        live = await self._outbox.pending(room, min_seq=self.boundary, skip=self.inflight)
        sent = self._publish(live, now)
        room -= sent
        tokens = self._bucket.available(now)
        if room > 0 and tokens > 0:
            wanted = min(room, tokens)
            backlog = await self._outbox.pending(wanted, max_seq=self.boundary, skip=self.inflight)
            self._bucket.take(self._publish(backlog, now))
            self._backlog_left = len(backlog) == wanted

    def _publish(self, batches: list[PendingBatch], now: float) -> int:
        sent = 0
        for batch in batches:
            if not self._link.publish(
                topic(self._outbox.gateway_id, SUFFIX[batch.kind]), batch.payload
            ):
                break
            self.inflight[batch.seq] = now
            self._metrics.published.labels(batch.kind.value).inc()
            sent += 1
        return sent

    async def handle_ack(self, payload: bytes) -> None:
        try:
            ack = decode(Ack, payload)
        except DecodeError as exc:
            self._metrics.rejected_messages.labels("bad_ack").inc()
            log.warning("refused an ack: %s", exc)
            return
        if ack.gateway != self._outbox.gateway_id:
            self._metrics.rejected_messages.labels("foreign_ack").inc()
            return
        deleted = await self._outbox.ack(ack.seqs)
        for seq in ack.seqs:
            self.inflight.pop(seq, None)
        self._metrics.acked.inc(deleted)
        self._acked.set()
