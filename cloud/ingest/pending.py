"""Points received and not yet stored, with the batches they came from: bounded."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloud.ingest.inbound import Inbound
from cloud.store.points import Point


@dataclass(frozen=True, slots=True)
class Batch:
    gateway: str
    seq: int | None  # None: nothing to acknowledge (a status)
    count: int
    inbound: Inbound  # kept to dead-letter the original message if the store refuses it


@dataclass
class PendingWrites:
    max_points: int
    points: list[Point] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.points)

    def has_room(self, extra: int) -> bool:
        return not self.points or len(self.points) + extra <= self.max_points

    def add(self, gateway: str, seq: int | None, points: list[Point], inbound: Inbound) -> None:
        self.points.extend(points)
        self.batches.append(Batch(gateway, seq, len(points), inbound))

    def take(self) -> PendingWrites:
        taken = PendingWrites(self.max_points, self.points, self.batches)
        self.points, self.batches = [], []
        return taken

    def put_back(self, older: PendingWrites) -> None:
        """Return a failed flush to the front, so it is written before what came after it."""
        self.points = older.points + self.points
        self.batches = older.batches + self.batches

    def seqs_by_gateway(self) -> dict[str, list[int]]:
        acks: dict[str, list[int]] = {}
        for batch in self.batches:
            if batch.seq is not None:
                acks.setdefault(batch.gateway, []).append(batch.seq)
        return acks

    def split_by_batch(self) -> list[tuple[Batch, list[Point]]]:
        out, start = [], 0
        for batch in self.batches:
            out.append((batch, self.points[start : start + batch.count]))
            start += batch.count
        return out

    def after(self, batch: Batch) -> PendingWrites:
        """This flush from ``batch`` on (inclusive): what is left to write."""
        index = self.batches.index(batch)
        skipped = sum(b.count for b in self.batches[:index])
        return PendingWrites(self.max_points, self.points[skipped:], self.batches[index:])
