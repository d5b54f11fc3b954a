"""Load a history file of ``eclor sim backfill`` into a store, as the ingest would write it.

Each line is a wire :class:`~eclor.wire.Reading` whose ``gateway`` tag names its gateway; the point
is :func:`cloud.store.point_from_reading`'s, so the stored series are the ones live data makes.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import msgspec

from cloud.dashboards.errors import DashboardError
from cloud.store import Point, TimeSeriesStore, point_from_reading
from eclor.wire import Reading

BATCH = 5_000


async def load_history(path: Path, store: TimeSeriesStore) -> int:
    """Write every reading of ``path`` (JSON lines, ``.gz`` allowed); returns how many."""
    count = 0
    batch: list[Point] = []
    for point in _points(path):
        batch.append(point)
        if len(batch) >= BATCH:
            await store.write(batch)
            count += len(batch)
            batch = []
    if batch:
        await store.write(batch)
        count += len(batch)
    return count


def _points(path: Path) -> Iterator[Point]:
    decoder = msgspec.json.Decoder(Reading)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        for number, line in enumerate(stream, start=1):
            try:
                reading = decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise DashboardError(f"{path}:{number}: not a wire reading: {exc}") from exc
            gateway = reading.tags.get("gateway")
            if not gateway:
                raise DashboardError(f"{path}:{number}: reading without a gateway tag")
            yield point_from_reading(reading, gateway)
