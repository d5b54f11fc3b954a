from __future__ import annotations

from cloud.ingest.convert import event_points, status_point, telemetry_points
from cloud.ingest.inbound import Inbound
from cloud.ingest.pending import PendingWrites
from cloud.ingest.service import ingest_subscriptions
from cloud.store.points import Point
from eclor.wire import (
    DeviceHealth,
    Event,
    EventBatch,
    OutboxHealth,
    Reading,
    Status,
    TelemetryBatch,
)

T0 = 1_764_370_000_000
IN = Inbound("eclor/v1/g/telemetry", b"{}")


def pts(n: int) -> list[Point]:
    return [Point("energy", {"gateway": "g"}, {"p": float(i)}, T0 + i) for i in range(n)]


def test_pending_is_bounded_and_keeps_batch_order_on_put_back() -> None:
    pending = PendingWrites(max_points=5)
    assert pending.has_room(9), "an empty buffer takes one oversized batch rather than stall"
    pending.add("g", 1, pts(3), IN)
    assert not pending.has_room(3)
    first = pending.take()
    pending.add("g", 2, pts(2), IN)
    pending.put_back(first)
    assert pending.seqs_by_gateway() == {"g": [1, 2]}
    assert [p.time_ms for p in pending.points] == [T0, T0 + 1, T0 + 2, T0, T0 + 1]


def test_split_and_after_keep_points_with_their_batch() -> None:
    pending = PendingWrites(max_points=100)
    pending.add("a", 1, pts(2), IN)
    pending.add("b", None, pts(1), IN)
    pending.add("a", 3, pts(3), IN)
    split = pending.split_by_batch()
    assert [(b.gateway, b.seq, len(p)) for b, p in split] == [
        ("a", 1, 2),
        ("b", None, 1),
        ("a", 3, 3),
    ]
    rest = pending.after(split[1][0])
    assert len(rest) == 4
    assert rest.seqs_by_gateway() == {"a": [3]}, "a status has nothing to ack"


def test_readings_become_points_tagged_with_gateway_and_device() -> None:
    batch = TelemetryBatch(
        gateway="cab-01",
        seq=4,
        readings=[
            Reading(
                device="m",
                measurement="energy",
                time=T0,
                fields={"p_w": 1.5},
                tags={"commune": "thil", "gateway": "spoofed"},
            )
        ],
    )
    (point,) = telemetry_points(batch)
    assert point.tags == {"commune": "thil", "gateway": "cab-01", "device": "m"}
    assert point.fields == {"p_w": 1.5}
    assert point.time_ms == T0


def test_events_and_status_become_points() -> None:
    events = EventBatch(
        gateway="g",
        seq=1,
        events=[
            Event(device="d", kind="lamp_failure", time=T0, severity="critical", detail="bit 1")
        ],
    )
    (e,) = event_points(events)
    assert e.measurement == "event"
    assert e.tags["kind"] == "lamp_failure"
    assert e.fields == {"active": True, "detail": "bit 1"}
    status = Status(
        gateway="g",
        state="online",
        time=T0,
        outbox=OutboxHealth(rows=3, bytes=100, oldest_age_s=2.5),
        devices={"a": DeviceHealth(state="ok"), "b": DeviceHealth(state="unreachable")},
    )
    s = status_point(status)
    assert s.fields["outbox_rows"] == 3
    assert s.fields["devices_unreachable"] == 1
    assert s.fields["online"] is True


def test_subscriptions_shared_or_not() -> None:
    assert "eclor/v1/+/telemetry" in ingest_subscriptions(None)
    assert "$share/ingest/eclor/v1/+/cmd/result" in ingest_subscriptions("ingest")
