"""The invariants of a chaos run, checked reading by reading.

Three records meet here:

- **produced**: every read the sequence devices answered (``served.jsonl``, written by
  ``simulators/chaos_devices.py`` before each reply leaves);
- **committed**: every reading in a batch whose outbox commit returned, with the eviction reason
  if the outbox later evicted that batch (``tests/chaos/outbox_ledger.py``);
- **stored**: every point of measurement ``chaos`` in InfluxDB after the run.

Each produced reading falls in exactly one class: ``stored``; ``evicted`` (committed, counted
evicted, not stored); ``pending`` (committed, still in an outbox at the end); ``in_window``
(never committed, read at most ``window_ms`` before a ``kill -9`` of its agent: the durability
window of docs/edge.md, readings handed to the batcher but not yet flushed); ``uncommitted``
(never committed and not near a kill: must be 0); ``lost`` (committed, not evicted, not pending,
not stored: must be 0). A batch the cloud stored but whose ack did not arrive before the
outbox evicted it counts as ``stored`` (and in ``stored_then_evicted``). Besides: ``changed``
(a committed or stored value that differs from what was served), ``phantom`` (stored but never
served) and ``duplicate_seq`` (one served read stored at two timestamps) must be 0.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from simulators.chaos_devices import produced_value
from tests.chaos.outbox_ledger import CommittedReading, OutboxRecord

Key = tuple[str, int]
"""(device id, seq)."""


@dataclass(frozen=True)
class Served:
    device: str
    agent: str
    seq: int
    value: int
    t_ms: int


@dataclass(frozen=True)
class StoredPoint:
    device: str
    seq: int
    value: int
    time_ms: int


@dataclass
class Verdict:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    max_in_window_ms: int = 0
    evicted_by_agent: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.problems) < 20:
            self.problems.append(f"{kind}: {detail}")


def load_served(path: Path, agent_of_unit: Mapping[int, str]) -> list[Served]:
    reads: list[Served] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["k"] == "read":
                unit = int(record["unit"])
                reads.append(
                    Served(f"seq-{unit}", agent_of_unit[unit], int(record["seq"]),
                           int(record["value"]), int(record["t_ms"]))
                )  # fmt: skip
    return reads


def check(
    served: Iterable[Served],
    outboxes: Mapping[str, OutboxRecord],
    stored: Iterable[StoredPoint],
    kills: Mapping[str, list[int]],
    window_ms: int,
) -> Verdict:
    """Classify every produced reading; see the module docstring."""
    verdict = Verdict()
    produced = {(r.device, r.seq): r for r in served}
    committed = _committed(outboxes, produced, verdict)
    stored_by_key = _stored(stored, produced, verdict)
    for key, read in produced.items():
        verdict.counts["produced"] += 1
        in_outbox = committed.get(key)
        if in_outbox is not None:
            verdict.counts["committed"] += 1
        if key in stored_by_key:
            verdict.counts["stored"] += 1
            if in_outbox is not None and in_outbox.evicted is not None:
                verdict.counts["stored_then_evicted"] += 1
        elif in_outbox is None:
            _uncommitted(read, kills.get(read.agent, []), window_ms, verdict)
        elif in_outbox.evicted is not None:
            verdict.counts["evicted"] += 1
        elif in_outbox.batch in outboxes[read.agent].pending:
            verdict.counts["pending"] += 1
        else:
            verdict.problem("lost", f"{key} committed in batch {in_outbox.batch}, not stored")
    for agent, record in outboxes.items():
        verdict.evicted_by_agent[agent] = sum(
            items for (_, kind), (_, items) in record.eviction_counters.items()
            if kind == "telemetry"
        )  # fmt: skip
    return verdict


def _committed(
    outboxes: Mapping[str, OutboxRecord], produced: Mapping[Key, Served], verdict: Verdict
) -> dict[Key, CommittedReading]:
    committed: dict[Key, CommittedReading] = {}
    for record in outboxes.values():
        for reading in record.readings:
            key = (reading.device, reading.seq)
            read = produced.get(key)
            if read is None:
                verdict.problem("phantom", f"{key} committed but never served")
            elif reading.value != read.value:
                verdict.problem("changed", f"{key} committed {reading.value}, served {read.value}")
            committed.setdefault(key, reading)
    return committed


def _stored(
    stored: Iterable[StoredPoint], produced: Mapping[Key, Served], verdict: Verdict
) -> dict[Key, StoredPoint]:
    by_key: dict[Key, StoredPoint] = {}
    for point in stored:
        key = (point.device, point.seq)
        read = produced.get(key)
        if read is None:
            verdict.problem("phantom", f"{key} stored but never served")
            continue
        if point.value != read.value or point.value != produced_value(
            int(point.device.removeprefix("seq-")), point.seq
        ):
            verdict.problem("changed", f"{key} stored {point.value}, served {read.value}")
        if key in by_key:
            verdict.problem("duplicate_seq", f"{key} stored at two times")
        by_key[key] = point
    return by_key


def _uncommitted(read: Served, kills: list[int], window_ms: int, verdict: Verdict) -> None:
    after = [k - read.t_ms for k in kills if k >= read.t_ms]
    distance = min(after, default=None)
    if distance is not None and distance <= window_ms:
        verdict.counts["in_window"] += 1
        verdict.max_in_window_ms = max(verdict.max_in_window_ms, distance)
    else:
        verdict.problem(
            "uncommitted",
            f"({read.device}, {read.seq}) served at {read.t_ms}, never committed, "
            f"next kill of {read.agent} {distance} ms later",
        )
