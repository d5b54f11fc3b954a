"""Sizing for 1 million luminaires, as arithmetic from per-unit costs measured in the same run.

Two parts. :func:`project` is pure arithmetic: it takes the measured per-unit costs
(:class:`Measured`, filled by ``bench.run_all`` from the other benchmarks' facts and from this
module's measurement) and the written :class:`Assumptions`, and returns every step as a line of
arithmetic, so the report shows how each number was reached. ``python -m bench.projection``
measures what InfluxDB 1.x needs on disk per point: it writes a sample of luminaire readings
(the ``dali`` measurement of ``docs/data-model.md``: one series per control gear, six fields, one
point per gear every ``Assumptions.reading_interval_s``) to a private ``influxd`` whose cache is
snapshotted and fully compacted after a second of quiet, then divides the size of the ``.tsm``
files by the points written. It also reports ``influxd``'s resident memory growth per series.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._support import console, rss_mb
from bench.figures import Figure, emit
from tests.services.influxdb import InfluxDBServer

DAY_S = 86_400
YEAR_S = 365 * DAY_S
LUMINAIRE_FIELDS = 6
"""``dali``: level_pct, lamp_failure, gear_failure, power_w, energy_wh, operating_hours_h."""
CABINET_FIELDS = 18
"""``energy`` of an SDM630, the largest meter profile."""


def _why(default: float, why: str) -> Any:
    return field(default=default, metadata={"why": why})


@dataclass(frozen=True)
class Assumptions:
    """What the projection does not measure; each is printed with its reason."""

    luminaires: int = _why(1_000_000, "the client's fleet")
    reading_interval_s: int = _why(
        900, "one `dali` point (6 fields) per luminaire every 15 min, day and night"
    )
    luminaires_per_gateway: int = _why(
        50,
        "one edge gateway per lighting cabinet; the territory has 6,000–10,000 luminaires behind "
        "100–200 cabinets (`reference/domain.md`): about 50 a cabinet",
    )
    cabinet_points_per_interval: int = _why(
        15, "per gateway per reading interval: its meter's `energy` point every minute"
    )
    catch_up_factor: float = _why(
        5.0,
        "capacity over the average rate, so a fleet-wide backlog of an hour (a cloud outage) "
        "drains in about 15 minutes while live readings keep flowing",
    )
    target_utilisation: float = _why(
        0.5, "share of a core an ingest worker, broker or influxd may use at the peak rate"
    )
    gateways_per_broker: int = _why(
        10_000, "persistent MQTT connections given to one Mosquitto 2 instance (not measured)"
    )
    retention_years: float = _why(
        1.0,
        "the product keeps InfluxDB data forever (`retention_days: null`): the disk grows by "
        "the yearly figure every year; this many years are sized",
    )


@dataclass(frozen=True)
class Measured:
    """Per-unit costs measured in the same run (:func:`measured_from_facts` says where from)."""

    ingest_cpu_us_per_point: float
    influxd_cpu_us_per_point: float
    mosquitto_cpu_us_per_point: float
    """Measured with 250-reading messages; smaller messages cost more per point."""
    tsm_bytes_per_point: float
    influxd_rss_bytes_per_series: float
    edge_cpu_ms_per_1000_readings: float


SOURCES = {
    "ingest_cpu_us_per_point": "ingest CPU µs per point, summed over workers "
    "(bench.ingest_workers, median of the worker counts; else bench.ingest)",
    "influxd_cpu_us_per_point": "influxd CPU µs per point in the same ingest run (18-field points)",
    "mosquitto_cpu_us_per_point": "Mosquitto CPU µs per point, same run (250-reading messages)",
    "tsm_bytes_per_point": "bytes per 6-field `dali` point in compacted TSM files "
    "(bench.projection)",
    "influxd_rss_bytes_per_series": "influxd RSS bytes per new series (bench.projection)",
    "edge_cpu_ms_per_1000_readings": "edge agent CPU ms per 1000 readings, largest fleet "
    "(bench.cost_growth)",
}


@dataclass
class Projection:
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    """(quantity, arithmetic, result)."""
    values: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, label: str, arithmetic: str, value: float, unit: str = "") -> float:
        self.values[key] = value
        whole = abs(value) >= 100 or float(value).is_integer()
        shown = f"{value:,.0f}" if whole else f"{value:,.2f}"
        self.lines.append((label, arithmetic, f"{shown} {unit}".strip()))
        return value


def project(m: Measured, a: Assumptions) -> Projection:
    """Every sizing step as arithmetic on ``m`` and ``a``."""
    p = Projection()
    gateways = p.add(
        "gateways",
        "gateways",
        f"{a.luminaires:,} / {a.luminaires_per_gateway}",
        math.ceil(a.luminaires / a.luminaires_per_gateway),
    )
    lum_rate = a.luminaires / a.reading_interval_s
    p.add(
        "luminaire_points_s",
        "luminaire points/s",
        f"{a.luminaires:,} / {a.reading_interval_s} s",
        lum_rate,
    )
    cab_rate = gateways * a.cabinet_points_per_interval / a.reading_interval_s
    p.add(
        "cabinet_points_s",
        "cabinet meter points/s",
        f"{gateways:,.0f} × {a.cabinet_points_per_interval} / {a.reading_interval_s} s",
        cab_rate,
    )
    avg = p.add(
        "points_s", "average points/s", f"{lum_rate:,.0f} + {cab_rate:,.0f}", lum_rate + cab_rate
    )
    peak = p.add(
        "peak_points_s",
        "peak points/s (catch-up)",
        f"{avg:,.0f} × {a.catch_up_factor:g}",
        avg * a.catch_up_factor,
    )
    ingest_cores = peak * m.ingest_cpu_us_per_point / 1e6
    p.add(
        "ingest_cores",
        "ingest CPU at peak",
        f"{peak:,.0f} × {m.ingest_cpu_us_per_point:.1f} µs",
        ingest_cores,
        "cores",
    )
    p.add(
        "ingest_workers",
        "ingest workers (≥ 2 for redundancy)",
        f"max(2, ⌈{ingest_cores:.2f} / {a.target_utilisation:g}⌉)",
        max(2, math.ceil(ingest_cores / a.target_utilisation)),
    )
    broker_cores = peak * m.mosquitto_cpu_us_per_point / 1e6
    p.add(
        "broker_cores",
        "Mosquitto CPU at peak",
        f"{peak:,.0f} × {m.mosquitto_cpu_us_per_point:.1f} µs",
        broker_cores,
        "cores",
    )
    by_cpu = math.ceil(broker_cores / a.target_utilisation)
    by_conn = math.ceil(gateways / a.gateways_per_broker)
    p.values["brokers_by_cpu"], p.values["brokers_by_connections"] = by_cpu, by_conn
    p.add(
        "brokers",
        "brokers",
        f"max(⌈{broker_cores:.2f} / {a.target_utilisation:g}⌉, "
        f"⌈{gateways:,.0f} / {a.gateways_per_broker:,}⌉)",
        max(by_cpu, by_conn),
    )
    influx_cores = peak * m.influxd_cpu_us_per_point / 1e6
    p.add(
        "influx_cores",
        "influxd CPU at peak (writes only)",
        f"{peak:,.0f} × {m.influxd_cpu_us_per_point:.1f} µs",
        influx_cores,
        "cores",
    )
    series = p.add(
        "series",
        "series cardinality",
        f"{a.luminaires:,} gear + {gateways:,.0f} × 3 (energy, device, cabinet)",
        a.luminaires + 3 * gateways,
    )
    p.add(
        "index_ram_gb",
        "influxd memory for the series index",
        f"{series:,.0f} × {m.influxd_rss_bytes_per_series:,.0f} B",
        series * m.influxd_rss_bytes_per_series / 1e9,
        "GB",
    )
    values_s = lum_rate * LUMINAIRE_FIELDS + cab_rate * CABINET_FIELDS
    p.add(
        "field_values_s",
        "field values/s",
        f"{lum_rate:,.0f} × {LUMINAIRE_FIELDS} + {cab_rate:,.0f} × {CABINET_FIELDS}",
        values_s,
    )
    per_value = m.tsm_bytes_per_point / LUMINAIRE_FIELDS
    year = p.add(
        "values_year", "field values per year", f"{values_s:,.0f} × {YEAR_S:,} s", values_s * YEAR_S
    )
    disk = year * per_value / 1e9
    p.add(
        "disk_gb_year",
        "InfluxDB disk per year (TSM)",
        f"{year:,.0f} × {per_value:.2f} B ({m.tsm_bytes_per_point:.1f} B per 6-field point)",
        disk,
        "GB",
    )
    p.add(
        "disk_gb_retained",
        f"disk for {a.retention_years:g} year(s) kept",
        f"{disk:,.0f} GB × {a.retention_years:g}",
        disk * a.retention_years,
        "GB",
    )
    per_gw = (a.luminaires_per_gateway + a.cabinet_points_per_interval) / a.reading_interval_s
    p.add(
        "edge_cpu_ms_s",
        "edge agent CPU per gateway (readings only)",
        f"{per_gw:.3f} readings/s × {m.edge_cpu_ms_per_1000_readings:,.0f} ms / 1000",
        per_gw * m.edge_cpu_ms_per_1000_readings / 1000,
        "ms/s",
    )
    return p


# -- measuring InfluxDB's bytes per point ---------------------------------------------------------


class CompactingInflux(InfluxDBServer):
    """A private influxd that writes its cache to TSM and fully compacts after 1 s of quiet."""

    def _config_text(self) -> str:
        return (
            super()
            ._config_text()
            .replace(
                "  query-log-enabled = false\n",
                "  query-log-enabled = false\n"
                '  cache-snapshot-write-cold-duration = "1s"\n'
                '  compact-full-write-cold-duration = "2s"\n',
            )
        )


def gear_lines(gears: int, points: int, interval_s: int, t0_s: int) -> list[bytes]:
    """Line protocol of ``points`` readings per gear, as the DALI poller would write them."""
    rng = random.Random(7)
    bodies, lines = [], []
    for gear in range(gears):
        rated = rng.choice((30.0, 40.0, 60.0, 90.0))
        energy, hours = rng.uniform(1e4, 9e4), rng.uniform(1e3, 3e4)
        tags = f"dali,device=dali-{gear // 64}-gear-{gear % 64},gateway=cab-{gear // 50:05d}"
        for k in range(points):
            hour = (k * interval_s // 3600) % 24
            level = 100.0 if hour in (18, 19, 20, 21, 5, 6) else 50.0 if hour in (22, 4) else 0.0
            power = round(rated * level / 100 + rng.uniform(-0.2, 0.2), 1) if level else 0.4
            energy += power * interval_s / 3600
            hours += interval_s / 3600 if level else 0
            fields = (
                f"level_pct={level},lamp_failure=false,gear_failure=false,power_w={power},"
                f"energy_wh={round(energy, 1)},operating_hours_h={round(hours, 2)}"
            )
            lines.append(f"{tags} {fields} {(t0_s + k * interval_s) * 1000}")
            if len(lines) == 5000:
                bodies.append("\n".join(lines).encode())
                lines = []
    if lines:
        bodies.append("\n".join(lines).encode())
    return bodies


def tsm_bytes(data_dir: Path) -> int:
    return sum(path.stat().st_size for path in data_dir.rglob("*.tsm"))


def wal_bytes(wal_dir: Path) -> int:
    return sum(path.stat().st_size for path in wal_dir.rglob("*.wal"))


async def index_bytes_per_series(client: httpx.AsyncClient, pid: int, series: int) -> float:
    """influxd's RSS growth per new series, each given a single point (an upper bound for the
    in-memory series index: the Go heap does not shrink at once)."""
    (await client.post("/query", data={"q": "CREATE DATABASE idx"})).raise_for_status()
    await asyncio.sleep(1)
    before = rss_mb(pid)
    for start in range(0, series, 5000):
        lines = (
            f"dali,device=d{k},gateway=g{k // 50} level_pct=50 1764288000000"
            for k in range(start, min(series, start + 5000))
        )
        answer = await client.post(
            "/write", params={"db": "idx", "precision": "ms"}, content="\n".join(lines).encode()
        )
        answer.raise_for_status()
    await asyncio.sleep(1)
    return max(0.0, (rss_mb(pid) - before) * 1e6 / series)


async def measure_tsm(gears: int, points: int, interval_s: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-tsm-") as tmp, CompactingInflux(tmp) as influx:
        assert influx.pid is not None
        bodies = gear_lines(gears, points, interval_s, t0_s=1_764_288_000)
        async with httpx.AsyncClient(base_url=influx.url, timeout=60) as client:
            (await client.post("/query", data={"q": "CREATE DATABASE tsm"})).raise_for_status()
            for body in bodies:
                answer = await client.post(
                    "/write", params={"db": "tsm", "precision": "ms"}, content=body
                )
                answer.raise_for_status()
            rss_per_series = await index_bytes_per_series(client, influx.pid, 20 * gears)
            query = {"db": "tsm", "q": "SELECT count(level_pct) FROM dali"}
            count = (await client.get("/query", params=query)).json()
        stored = count["results"][0]["series"][0]["values"][0][1]
        if stored != gears * points:
            raise RuntimeError(f"influxd holds {stored} points of {gears * points}")
        data = influx.workdir / "data" / "tsm"  # the sample database only
        deadline, last = time.monotonic() + 120, -1
        while time.monotonic() < deadline:  # until snapshotted and compacted (size stable)
            await asyncio.sleep(2)
            size = tsm_bytes(data)
            if size == last and size > 0 and wal_bytes(influx.workdir / "wal") < 4096:
                break
            last = size
        else:
            raise RuntimeError("influxd did not compact its cache into TSM files within 120 s")
        files = len(list(data.rglob("*.tsm")))
    return {
        "tsm_bytes_per_point": last / (gears * points),
        "influxd_rss_bytes_per_series": rss_per_series,
        "tsm_files": float(files),
        "line_bytes_per_point": sum(map(len, bodies)) / (gears * points),
        "tsm_points": float(gears * points),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gears", type=int, default=5_000, help="series in the sample")
    parser.add_argument("--days", type=float, default=1.0, help="of readings per series")
    args = parser.parse_args()
    interval = Assumptions().reading_interval_s
    points = max(1, round(args.days * DAY_S / interval))
    facts = asyncio.run(measure_tsm(args.gears, points, interval))
    per_point = facts["tsm_bytes_per_point"]
    console.print(
        f"{args.gears:,} dali series × {points} points (6 fields, every {interval} s): "
        f"{per_point:.2f} bytes per point on disk ({per_point / 6:.2f} per field value) in "
        f"{facts['tsm_files']:.0f} TSM file(s); influxd RSS "
        f"+{facts['influxd_rss_bytes_per_series']:,.0f} bytes per series"
    )
    emit(
        [
            Figure(
                "TSM bytes per dali point (6 fields)",
                per_point,
                "B",
                facts["line_bytes_per_point"],
                "line protocol of the same points",
            )
        ],
        facts,
        [f"{args.gears:,} series × {points} points, compacted by influxd 1.x"],
    )


if __name__ == "__main__":
    main()


def measured_from_facts(facts: dict[str, dict[str, float]]) -> Measured:
    """:class:`Measured` from the facts of this run's benchmarks (keyed by benchmark); the
    multi-worker run is preferred for the ingest's costs. Raises ``ValueError`` naming what is
    missing (a benchmark that failed)."""
    ingest = facts.get("ingest_workers") or facts.get("ingest") or {}
    sources = {
        "ingest_cpu_us_per_point": (ingest, "bench.ingest_workers or bench.ingest"),
        "influxd_cpu_us_per_point": (ingest, "bench.ingest_workers or bench.ingest"),
        "mosquitto_cpu_us_per_point": (ingest, "bench.ingest_workers or bench.ingest"),
        "tsm_bytes_per_point": (facts.get("projection", {}), "bench.projection"),
        "influxd_rss_bytes_per_series": (facts.get("projection", {}), "bench.projection"),
        "edge_cpu_ms_per_1000_readings": (facts.get("cost_growth", {}), "bench.cost_growth"),
    }
    missing = [f"{key} (from {where})" for key, (got, where) in sources.items() if key not in got]
    if missing:
        raise ValueError("no figure for " + ", ".join(missing))
    return Measured(**{key: got[key] for key, (got, _) in sources.items()})
