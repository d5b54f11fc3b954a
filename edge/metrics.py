"""The agent's Prometheus metrics, in a registry of its own (several agents can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class EdgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.poll_seconds = Histogram(
            "eclor_edge_poll_duration_seconds",
            "Time to read every field of a device once",
            ["device"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.poll_errors = Counter(
            "eclor_edge_poll_errors",
            "Failed reads by device and kind",
            ["device", "kind"],
            registry=r,
        )
        self.readings = Counter(
            "eclor_edge_readings", "Readings committed to the outbox", registry=r
        )
        self.breaker_open = Gauge(
            "eclor_edge_breaker_open",
            "1 while a device's circuit breaker is open",
            ["device"],
            registry=r,
        )
        self.outbox_rows = Gauge(
            "eclor_edge_outbox_rows", "Batches awaiting the cloud's ack", registry=r
        )
        self.outbox_bytes = Gauge(
            "eclor_edge_outbox_bytes", "Bytes awaiting the cloud's ack", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "eclor_edge_outbox_oldest_unacked_age_seconds",
            "Age of the oldest unacked batch",
            registry=r,
        )
        self.outbox_evicted = Gauge(
            "eclor_edge_outbox_evicted_batches",
            "Batches evicted since the outbox was created, by reason and kind",
            ["reason", "kind"],
            registry=r,
        )
        self.published = Counter(
            "eclor_edge_published_messages", "Messages handed to the broker", ["kind"], registry=r
        )
        self.acked = Counter(
            "eclor_edge_acked_batches", "Batches acknowledged by the cloud", registry=r
        )
        self.resent = Counter(
            "eclor_edge_resent_batches", "Batches published again after no ack came", registry=r
        )
        self.connected = Gauge(
            "eclor_edge_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.reconnects = Counter(
            "eclor_edge_mqtt_reconnects", "Connections made to the broker", registry=r
        )
        self.rejected_messages = Counter(
            "eclor_edge_rejected_messages",
            "Downlink messages refused, by reason",
            ["reason"],
            registry=r,
        )
        self.commands = Counter(
            "eclor_edge_commands", "Commands by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.lighting_target = Gauge(
            "eclor_edge_lighting_target_percent",
            "Level the lighting executor commands, by group",
            ["group"],
            registry=r,
        )
        self.lighting_applies = Counter(
            "eclor_edge_lighting_applies",
            "Levels sent to an actuator successfully",
            ["group", "actuator"],
            registry=r,
        )
        self.lighting_actuator_errors = Counter(
            "eclor_edge_lighting_actuator_errors",
            "Levels an actuator failed to take (error or timeout)",
            ["group", "actuator"],
            registry=r,
        )
        self.lighting_program_revision = Gauge(
            "eclor_edge_lighting_program_revision",
            "Revision of the ProgramSet running (0: none yet)",
            registry=r,
        )
        self.lighting_local_vph = Gauge(
            "eclor_edge_lighting_local_rule_vehicles_per_hour",
            "Traffic an edge-local rule measured over its window, by group",
            ["group"],
            registry=r,
        )
