"""Wire messages to store points (see docs/data-model.md)."""

from __future__ import annotations

from collections.abc import Sequence

from cloud.store.points import FieldValue, Point, point_from_reading
from eclor.wire import Event, EventBatch, Status, TelemetryBatch


def telemetry_points(batch: TelemetryBatch) -> list[Point]:
    return [point_from_reading(reading, batch.gateway) for reading in batch.readings]


def event_points(batch: EventBatch, events: Sequence[Event] | None = None) -> list[Point]:
    """Points of the batch's events (of ``events`` only, when given: those kept)."""
    points = []
    for event in batch.events if events is None else events:
        fields: dict[str, FieldValue] = {**event.fields, "active": event.active}
        if event.detail:
            fields["detail"] = event.detail
        tags = {
            "gateway": batch.gateway,
            "device": event.device,
            "kind": event.kind,
            "severity": event.severity,
        }
        points.append(Point("event", tags, fields, event.time))
    return points


def status_points(status: Status) -> list[Point]:
    """All points of a status message: its ``gateway_status`` point, then one ``device_status``
    point per device it reports on."""
    return [status_point(status), *device_status_points(status)]


def status_point(status: Status) -> Point:
    """The fleet-health series: one point per status message."""
    fields: dict[str, FieldValue] = {"online": status.state == "online"}
    if status.outbox is not None:
        fields["outbox_rows"] = status.outbox.rows
        fields["outbox_bytes"] = status.outbox.bytes
        fields["outbox_evicted"] = status.outbox.evicted
        if status.outbox.oldest_age_s is not None:
            fields["outbox_oldest_age_s"] = float(status.outbox.oldest_age_s)
    states = [d.state for d in status.devices.values()]
    if states:
        fields["devices_ok"] = states.count("ok")
        fields["devices_degraded"] = states.count("degraded")
        fields["devices_unreachable"] = states.count("unreachable")
    return Point("gateway_status", {"gateway": status.gateway}, fields, status.time)


def device_status_points(status: Status) -> list[Point]:
    """One ``device_status`` point per device of the status: its poll state and its error
    counter (cumulative since the agent started: poll errors per device are its ``increase``)."""
    points = []
    for device, health in status.devices.items():
        fields: dict[str, FieldValue] = {"state": health.state, "errors": health.errors}
        if health.last_ok is not None:
            fields["last_ok_age_s"] = max(0.0, (status.time - health.last_ok) / 1000)
        if health.detail:
            fields["detail"] = health.detail
        tags = {"gateway": status.gateway, "device": device}
        points.append(Point("device_status", tags, fields, status.time))
    return points
