"""The gateway's ``status`` message and the health document served on ``/healthz``."""

from __future__ import annotations

from eclor.clock import Clock, to_epoch_ms
from eclor.versions import eclor_version
from eclor.wire import OutboxHealth, Status
from edge.health import HealthBook
from edge.metrics import EdgeMetrics
from edge.outbox.store import OutboxStats


def outbox_health(stats: OutboxStats, now_ms: int) -> OutboxHealth:
    oldest = (
        None
        if stats.oldest_created_ms is None
        else max(0.0, (now_ms - stats.oldest_created_ms) / 1000)
    )
    return OutboxHealth(
        rows=stats.rows, bytes=stats.bytes, oldest_age_s=oldest, evicted=stats.evicted_batches
    )


def build_status(
    gateway_id: str, state: str, clock: Clock, stats: OutboxStats | None, health: HealthBook | None
) -> Status:
    now_ms = to_epoch_ms(clock.now())
    return Status(
        gateway=gateway_id,
        state=state,  # type: ignore[arg-type]
        time=now_ms,
        version=eclor_version(),
        outbox=None if stats is None else outbox_health(stats, now_ms),
        devices={} if health is None else health.snapshot(),
    )


def update_outbox_metrics(metrics: EdgeMetrics, stats: OutboxStats, now_ms: int) -> None:
    metrics.outbox_rows.set(stats.rows)
    metrics.outbox_bytes.set(stats.bytes)
    oldest = 0.0 if stats.oldest_created_ms is None else (now_ms - stats.oldest_created_ms) / 1000
    metrics.outbox_oldest_age.set(max(0.0, oldest))
    for (reason, kind), (batches, _) in stats.evicted.items():
        metrics.outbox_evicted.labels(reason, kind).set(batches)
