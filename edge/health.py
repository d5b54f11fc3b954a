"""Per-device health: what the status message, the metrics and ``eclor edge status`` show.

A device that keeps failing is logged once at WARNING, then at DEBUG until it recovers (logged at
INFO); it shows in health and metrics the whole time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from eclor.wire import DeviceHealth
from edge.metrics import EdgeMetrics

log = logging.getLogger("edge.devices")


@dataclass
class DeviceRecord:
    device: str
    state: str = "unknown"
    last_ok_ms: int | None = None
    errors: int = 0
    detail: str = ""
    failing: bool = False

    def to_wire(self) -> DeviceHealth:
        return DeviceHealth(
            state=self.state,  # type: ignore[arg-type]
            last_ok=self.last_ok_ms,
            errors=self.errors,
            detail=self.detail[:1024],
        )


class HealthBook:
    def __init__(self, metrics: EdgeMetrics) -> None:
        self._metrics = metrics
        self.devices: dict[str, DeviceRecord] = {}

    def record(self, device: str) -> DeviceRecord:
        return self.devices.setdefault(device, DeviceRecord(device))

    def ok(self, device: str, now_ms: int, duration_s: float, problems: list[str]) -> None:
        rec = self.record(device)
        if rec.failing:
            log.info("device recovered", extra={"device": device})
        rec.failing = False
        rec.last_ok_ms = now_ms
        rec.state = "degraded" if problems else "ok"
        rec.detail = "; ".join(problems)
        self._metrics.poll_seconds.labels(device).observe(duration_s)
        self._metrics.breaker_open.labels(device).set(0)

    def problem(self, device: str, kind: str) -> None:
        """A partial failure (an exception reply, an unusable value): the poll still counted."""
        self.record(device).errors += 1
        self._metrics.poll_errors.labels(device, kind).inc()

    def failed(self, device: str, kind: str, detail: str, breaker_open: bool) -> None:
        rec = self.record(device)
        rec.errors += 1
        rec.detail = detail
        rec.state = "unreachable" if breaker_open else "degraded"
        self._metrics.poll_errors.labels(device, kind).inc()
        self._metrics.breaker_open.labels(device).set(1 if breaker_open else 0)
        level = logging.DEBUG if rec.failing else logging.WARNING
        rec.failing = True
        log.log(level, "device failing: %s", detail, extra={"device": device, "kind": kind})

    def snapshot(self) -> dict[str, DeviceHealth]:
        return {name: rec.to_wire() for name, rec in self.devices.items()}
