"""The chaos checker itself: each invariant it claims to check can fail."""

from __future__ import annotations

from datetime import UTC, datetime

from simulators.chaos_devices import produced_value
from tests.chaos import lights
from tests.chaos.ledger import Served, StoredPoint, check
from tests.chaos.outbox_ledger import CommittedReading, OutboxRecord

T0 = 1_795_900_000_000
SITE: dict[str, float | str] = {
    "latitude": 49.4717,
    "longitude": 5.9078,
    "timezone": "Europe/Paris",
}


def served(seq: int, t_ms: int | None = None) -> Served:
    return Served("seq-1", "gw", seq, produced_value(1, seq), t_ms or T0 + seq * 500)


def committed(
    seq: int, batch: int, evicted: str | None = None, value: int | None = None
) -> CommittedReading:
    value = produced_value(1, seq) if value is None else value
    return CommittedReading("gw", "seq-1", seq, value, T0 + seq * 500, batch, evicted)


def stored(seq: int, value: int | None = None) -> StoredPoint:
    return StoredPoint(
        "seq-1", seq, produced_value(1, seq) if value is None else value, T0 + seq * 500
    )


def outbox(
    *readings: CommittedReading, pending: frozenset[int] = frozenset()
) -> dict[str, OutboxRecord]:
    return {"gw": OutboxRecord(list(readings), {}, pending)}


def test_every_class_is_counted() -> None:
    reads = [served(s) for s in range(1, 6)]
    boxes = outbox(
        committed(1, 1), committed(2, 2, "bytes"), committed(3, 3), pending=frozenset({3})
    )
    kill = T0 + 4 * 500 + 100  # seq 4 read 100 ms before the kill, never committed
    verdict = check(reads[:4], boxes, [stored(1)], {"gw": [kill]}, window_ms=2250)
    assert verdict.ok, verdict.problems
    assert verdict.counts["stored"] == verdict.counts["evicted"] == verdict.counts["pending"] == 1
    assert verdict.counts["in_window"] == 1
    assert verdict.max_in_window_ms == 100


def test_a_committed_reading_neither_stored_nor_evicted_is_lost() -> None:
    verdict = check([served(1)], outbox(committed(1, 1)), [], {}, window_ms=2250)
    assert verdict.counts["lost"] == 1
    assert not verdict.ok


def test_a_reading_never_committed_far_from_any_kill_is_reported() -> None:
    verdict = check([served(1)], outbox(), [], {"gw": [T0 + 500 + 60_000]}, window_ms=2250)
    assert verdict.counts["uncommitted"] == 1
    assert not verdict.ok


def test_a_changed_value_in_the_outbox_or_the_store_is_reported() -> None:
    verdict = check([served(1)], outbox(committed(1, 1, value=7)), [stored(1, value=8)], {}, 2250)
    assert verdict.counts["changed"] == 2
    assert not verdict.ok


def test_a_stored_point_never_served_is_a_phantom() -> None:
    verdict = check([served(1)], outbox(committed(1, 1)), [stored(1), stored(2)], {}, 2250)
    assert verdict.counts["phantom"] == 1


def test_a_wrong_light_state_longer_than_allowed_is_reported() -> None:
    night = int(datetime(2026, 11, 29, 3, 0, tzinfo=UTC).timestamp() * 1000)
    assert lights.expected_lit(
        datetime.fromtimestamp(night / 1000, UTC), 49.4717, 5.9078, "Europe/Paris"
    )
    on, off = ((True, True), 100), ((False, False), 0)
    samples = [
        lights.CabinetSample(night + i * 1000, *(off if 5 <= i < 25 else on)) for i in range(40)
    ]
    verdict = lights.check(samples, SITE, allowed_ms=14_000, outages=[], restart_ms=15_000)
    assert verdict.wrong_stretches == [(night + 5000, 20_000, 14_000)]
    assert verdict.problems
    forgiven = lights.check(samples, SITE, 14_000, [(night + 4000, night + 8000)], 15_000)
    assert not forgiven.problems
