"""The edge outbox: every reading on local disk until the cloud has stored it."""

from edge.outbox.store import Kind, Outbox, OutboxLimits, OutboxStats, PendingBatch

__all__ = ["Kind", "Outbox", "OutboxLimits", "OutboxStats", "PendingBatch"]
