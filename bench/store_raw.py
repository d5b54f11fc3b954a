"""Store write rate: points/s through ``InfluxStore`` and ``SqliteStore`` against raw line protocol.

The reference is the raw InfluxDB write rate measured in the same run: pre-encoded line-protocol
bodies POSTed to ``/write`` one request at a time (no checks, no encoding, no gzip) by a bare
``httpx.AsyncClient``, to a private ``influxd`` started for the run (the test fixture's launcher).
A point is one SDM630 poll: 10 fields. Each run writes to its own database with fresh times.

Run: ``python -m bench.store_raw [--points 50000] [--batch 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from bench.figures import Figure, emit
from cloud.store import (
    InfluxSettings,
    InfluxStore,
    Point,
    SqliteSettings,
    SqliteStore,
    TimeSeriesStore,
)
from cloud.store.lineprotocol import encode_lines
from cloud.store.points import check_points
from tests.services.influxdb import InfluxDBServer

T0 = 1_764_288_000_000


def sdm630_points(count: int, offset_ms: int = 0) -> list[Point]:
    """``count`` polls of 20 meters, one second apart per meter."""
    return [
        Point(
            "energy",
            {"gateway": f"cab-{i % 20:02d}", "device": "meter", "commune": "thil"},
            {
                "voltage_l1_v": 230.1 + i % 7 * 0.1,
                "voltage_l2_v": 229.8,
                "voltage_l3_v": 231.0,
                "current_l1_a": 4.21,
                "current_l2_a": 4.02,
                "current_l3_a": 3.97,
                "power_total_w": 2712.5 + i,
                "power_factor_total": 0.94,
                "frequency_hz": 50.01,
                "energy_import_kwh": 18234.75 + i * 0.001,
            },
            T0 + offset_ms + (i // 20) * 1000,
        )
        for i in range(count)
    ]


def batches(points: Sequence[Point], size: int) -> list[Sequence[Point]]:
    return [points[i : i + size] for i in range(0, len(points), size)]


async def rate(count: int, writes: Sequence[Callable[[], Awaitable[object]]]) -> float:
    start = time.perf_counter()
    for write in writes:
        await write()
    return count / (time.perf_counter() - start)


async def store_rate(store: TimeSeriesStore, points: Sequence[Point], size: int) -> float:
    return await rate(
        len(points), [functools.partial(store.write, b) for b in batches(points, size)]
    )


async def raw_rate(url: str, points: Sequence[Point], size: int) -> float:
    bodies = [encode_lines(batch) for batch in batches(points, size)]
    async with httpx.AsyncClient(base_url=url) as client:
        await client.post("/query", data={"q": 'CREATE DATABASE "raw"'})

        async def post(body: bytes) -> None:
            response = await client.post(
                "/write", params={"db": "raw", "precision": "ms"}, content=body
            )
            response.raise_for_status()

        return await rate(len(points), [functools.partial(post, body) for body in bodies])


async def main(count: int, size: int) -> None:
    points = sdm630_points(count)
    started = time.perf_counter()
    check_points(points)
    encode_lines(points)
    encode_rate = count / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder, InfluxDBServer(Path(folder)) as server:
        reference = await raw_rate(server.url, points, size)
        figures = {}
        for name, gzip in (("InfluxStore, gzip", True), ("InfluxStore, no gzip", False)):
            database = "gzip" if gzip else "plain"
            influx = await InfluxStore.open(
                InfluxSettings(url=server.url, database=database, gzip=gzip)
            )
            figures[name] = await store_rate(influx, points, size)
            await influx.close()
        sqlite = await SqliteStore.open(
            SqliteSettings(path=Path(folder) / "ts.sqlite", retention_days=None)
        )
        figures["SqliteStore"] = await store_rate(sqlite, points, size)
        await sqlite.close()
    print(f"{count:,} points × 10 fields, batches of {size:,}; reference: raw writes to influxd")
    print(f"{'':24} {'points/s':>12} {'vs raw':>8}")
    print(f"{'raw line protocol':24} {reference:12,.0f} {1:8.2f}×")
    for name, value in figures.items():
        print(f"{name:24} {value:12,.0f} {value / reference:8.2f}×")
    print(f"{'check + encode only':24} {encode_rate:12,.0f} {encode_rate / reference:8.2f}×")
    raw = "raw line protocol"
    rows = [Figure(raw, reference, "points/s", reference, raw)]
    rows += [Figure(name, value, "points/s", reference, raw) for name, value in figures.items()]
    rows.append(Figure("point checks + line encoding alone (no I/O)", encode_rate, "points/s",
                       reference, raw))  # fmt: skip
    emit(rows, {"influx_raw_points_per_s": reference},
         [f"{count:,} points × 10 fields, batches of {size:,}"])  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(main(args.points, args.batch))
