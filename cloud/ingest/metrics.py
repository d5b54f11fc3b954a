"""The ingest's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "eclor_ingest_messages",
            "Messages received, by suffix and outcome",
            ["suffix", "outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            "eclor_ingest_dead_letters", "Messages set aside, by reason", ["reason"], registry=r
        )
        self.points = Counter(
            "eclor_ingest_points_written", "Points the store accepted", registry=r
        )
        self.acks = Counter("eclor_ingest_acked_batches", "Batch seqs acknowledged", registry=r)
        self.store_seconds = Histogram(
            "eclor_ingest_store_write_seconds",
            "Time to write one flush to the store",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.store_errors = Counter(
            "eclor_ingest_store_errors", "Failed store writes, by kind", ["kind"], registry=r
        )
        self.pending_points = Gauge(
            "eclor_ingest_pending_points", "Points received and not yet stored", registry=r
        )
        self.refused = Counter(
            "eclor_ingest_refused",
            "Messages refused for load (the edge sends them again)",
            ["why"],
            registry=r,
        )
        self.connected = Gauge("eclor_ingest_mqtt_connected", "1 while connected", registry=r)
