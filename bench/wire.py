"""Wire codec speed: readings/s encoded and decoded by ``eclor.wire`` against plain ``json``.

The reference is the standard library encoding the same batch as plain dicts and decoding it back
to dicts without any validation, measured in the same run. ``eclor.wire`` validates every limit of
the contract while decoding, so a ratio above 1 means validation costs less than json's slowness.

Run: ``python -m bench.wire [--readings 500] [--rounds 200]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import msgspec

from bench.figures import Figure, emit
from eclor.wire import Reading, TelemetryBatch, decode, encode

T0 = 1_764_370_000_000


def sdm630_batch(size: int) -> TelemetryBatch:
    readings = [
        Reading(
            device=f"meter-{i % 20:02d}",
            measurement="energy",
            time=T0 + i * 1000,
            fields={
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
            tags={"site": "cab-thil-04", "commune": "thil"},
        )
        for i in range(size)
    ]
    return TelemetryBatch(gateway="cab-thil-04", seq=1, readings=readings)


def rate(work: Callable[[], object], rounds: int, readings: int) -> float:
    work()  # warm-up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            work()
        best = min(best, time.perf_counter() - start)
    return rounds * readings / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=500, help="readings per batch")
    parser.add_argument("--rounds", type=int, default=200, help="batches per timing")
    args = parser.parse_args()

    batch = sdm630_batch(args.readings)
    as_dict = msgspec.to_builtins(batch)
    payload = encode(batch)
    json_payload = json.dumps(as_dict).encode()
    assert decode(TelemetryBatch, payload) == batch

    results = {
        "encode": (
            rate(lambda: encode(batch), args.rounds, args.readings),
            rate(lambda: json.dumps(as_dict).encode(), args.rounds, args.readings),
        ),
        "decode": (
            rate(lambda: decode(TelemetryBatch, payload), args.rounds, args.readings),
            rate(lambda: json.loads(json_payload), args.rounds, args.readings),
        ),
    }
    print(f"batch: {args.readings} readings x 10 fields, {len(payload)} bytes")
    print(f"{'':8}{'eclor.wire':>16}{'plain json':>16}{'ratio':>8}")
    for name, (ours, reference) in results.items():
        print(f"{name:8}{ours:>12,.0f} r/s{reference:>12,.0f} r/s{ours / reference:>7.1f}x")
    emit(
        [
            Figure(f"{name}, eclor.wire", ours, "readings/s", reference, "plain json")
            for name, (ours, reference) in results.items()
        ],
        notes=[f"{args.readings} readings × 10 fields per batch, {len(payload):,} bytes of JSON"],
    )


if __name__ == "__main__":
    main()
