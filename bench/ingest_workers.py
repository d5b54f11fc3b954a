"""Cloud ingest throughput with 1, 2 and 4 ingest workers on one MQTT shared subscription.

``bench.ingest``'s set-up (private ``influxd`` and Mosquitto 2, SQLite registry, publisher
processes playing the gateways with the edge's uplink rules), except that N ingest processes run
at once, each with ``IngestSettings.shared_group`` set, so each subscribes to
``$share/<group>/eclor/+/telemetry`` (``ingest_subscriptions``) and Mosquitto hands every message
to one of them. Each worker count is measured between two raw-write references on the same
``influxd`` with the same bodies (``bench.ingest.raw_reference``), and compared with their mean;
the store is then counted, so a lost point fails the run. CPU per point is summed over the
workers. On a shared 2-core machine the workers, influxd, Mosquitto and the publishers compete
for the same cores: the per-point CPU is the figure that carries to a larger machine, the
throughput says where this one saturates.

Run: ``python -m bench.ingest_workers [--workers 1 2 4] [--points 200000]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from bench._support import Child, console, cpu_seconds, progress, running
from bench.figures import Figure, emit
from bench.ingest import (
    Bench,
    Run,
    acked_so_far,
    gateway_id,
    influx_count,
    parse_args,
    reference_bodies,
)
from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer
from tests.support.cloud_parts import enroll, sqlite_registry

GROUP = "bench-ingest"


@dataclass
class WorkerRun:
    workers: int
    run: Run
    reference: float

    def shares(self) -> str:
        """Points each worker wrote, as ``a / b / …``."""
        counts = [self.run.stats.get(f"worker{k}", -1.0) for k in range(self.workers)]
        return " / ".join(f"{count:,.0f}" for count in counts)

    @property
    def ingest_cpu_us_per_point(self) -> float:
        return 1e6 * self.run.cpu_s.get("ingest", 0.0) / max(1, self.run.points)


class WorkersBench(Bench):
    """:class:`bench.ingest.Bench` with N ingest children on one shared subscription."""

    def workers_run(self, workers: int) -> Run:
        label = f"workers-{workers}"
        workdir = self.folder / label
        workdir.mkdir()
        database = label.replace("-", "_")
        ingests = [
            self.child(
                f"ingest{k}",
                label,
                role="ingest",
                broker_port=self.broker.port,
                registry=str(self.folder / "registry"),
                client_id=f"ingest-{label}-{k}",
                ready=str(workdir / f"ingest{k}.ready"),
                stats=str(workdir / f"stats{k}.json"),
                influx=self.influx.url,
                database=database,
                sqlite=None,
                shared_group=GROUP,
            )
            for k in range(workers)
        ]
        with contextlib.ExitStack() as stack:
            for k, ingest in enumerate(ingests):
                stack.enter_context(running(ingest))
                ingest.wait_for((workdir / f"ingest{k}.ready").exists, 60, "subscribed")
            publishers = [stack.enter_context(running(p)) for p in self.publishers(label)]
            for k, child in enumerate(publishers):
                child.wait_for((workdir / f"pub{k}.ready").exists, 300, "ready to publish")
            run = self.measure_workers(label, ingests, publishers)
        per_gateway = self.args.points // self.args.gateways
        run.stored = influx_count(self.influx.url, database, "eclor", per_gateway)
        for k in range(workers):  # each worker's own count: the broker did share the messages
            stats = json.loads((workdir / f"stats{k}.json").read_text())
            run.stats[f"worker{k}"] = stats.get("eclor_ingest_points_written_total{}", -1.0)
        return run

    def measure_workers(self, label: str, ingests: list[Child], publishers: list[Child]) -> Run:
        pids = {f"ingest{k}": child.pid for k, child in enumerate(ingests)}
        pids |= {"influxd": self.influx.pid or 0, "mosquitto": self.broker.pid or 0}
        before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid}
        workdir = self.folder / label
        with progress() as bar:
            task = bar.add_task(f"ingest × {len(ingests)}", total=self.args.points)
            (workdir / "go").touch()
            while any(p.running for p in publishers):
                if not all(child.running for child in ingests):
                    raise RuntimeError(f"an ingest worker died in {label}")
                bar.update(task, completed=acked_so_far(workdir))
                time.sleep(0.2)
        after = {name: cpu_seconds(pid) for name, pid in pids.items() if pid}
        cpu = {name: after[name] - before[name] for name in before}
        results = [self.publisher_result(label, k, p) for k, p in enumerate(publishers)]
        run = Run(label)
        run.cpu_s = {
            "ingest": sum(v for k, v in cpu.items() if k.startswith("ingest")),
            **{k: v for k, v in cpu.items() if not k.startswith("ingest")},
        }
        run.points = int(sum(r["points_acked"] for r in results))
        first = min(r["first_publish"] for r in results)
        run.elapsed_s = max(r["last_ack"] for r in results) - first
        for key in ("messages", "resends", "unacked", "duplicate_acks"):
            setattr(run, key, int(sum(r[key] for r in results)))
        return run

    def publisher_result(self, label: str, k: int, child: Child) -> dict[str, float]:
        path = self.folder / label / f"pub{k}.result"
        if not path.exists():
            raise RuntimeError(f"{child.name} gave no result:\n{child.tail()}")
        result: dict[str, float] = json.loads(path.read_text())
        return result


def measure_all(args: argparse.Namespace, worker_counts: list[int]) -> list[WorkerRun]:
    per_gateway = args.points // args.gateways
    args.points = per_gateway * args.gateways
    args.publishers = max(1, min(args.publishers, args.gateways))
    bodies = reference_bodies(args.gateways, per_gateway, args.batch)
    out: list[WorkerRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        folder = Path(tmp)
        (folder / "registry").mkdir()
        enroll(sqlite_registry(folder / "registry"), *map(gateway_id, range(args.gateways)))
        with InfluxDBServer(folder) as influx, MosquittoServer(folder) as broker:
            bench = WorkersBench(args, folder, broker, influx)
            refs = [bench.reference("raw0", bodies)]
            for k, workers in enumerate(worker_counts, 1):
                run = bench.workers_run(workers)
                refs.append(bench.reference(f"raw{k}", bodies))
                out.append(WorkerRun(workers, run, (refs[-2] + refs[-1]) / 2))
    return out


def report(runs: list[WorkerRun], args: argparse.Namespace) -> bool:
    table = Table(title=f"ingest workers on $share/{GROUP}/…: {args.points:,} points each run")
    for column in ("workers", "points/s", "raw points/s", "vs raw", "ingest CPU µs/point",
                   "stored", "resends"):  # fmt: skip
        table.add_column(column, justify="right")
    complete = True
    for wr in runs:
        run = wr.run
        complete &= run.stored == run.points == args.points
        table.add_row(
            str(wr.workers), f"{run.rate:,.0f}", f"{wr.reference:,.0f}",
            f"{run.rate / wr.reference:.2f}", f"{wr.ingest_cpu_us_per_point:.1f}",
            f"{run.stored:,}", str(run.resends),
        )  # fmt: skip
    console.print(table)
    raw = "raw line protocol, same run"
    figures = [
        Figure(f"{wr.workers} worker(s): MQTT → ingest → InfluxDB", wr.run.rate, "points/s",
               wr.reference, raw,
               f"ingest CPU {wr.ingest_cpu_us_per_point:.1f} µs/point; stored {wr.run.stored:,}; "
               f"written per worker {wr.shares()}")
        for wr in runs
    ]  # fmt: skip
    one = runs[0]
    facts = {
        "ingest_cpu_us_per_point": statistics.median(wr.ingest_cpu_us_per_point for wr in runs),
        "influxd_cpu_us_per_point": 1e6
        * one.run.cpu_s.get("influxd", 0.0)
        / max(1, one.run.points),
        "mosquitto_cpu_us_per_point": statistics.median(
            1e6 * wr.run.cpu_s.get("mosquitto", 0.0) / max(1, wr.run.points) for wr in runs
        ),
        "ingest_points_per_s_one_worker": one.run.rate,
        "influx_raw_points_per_s": statistics.median(wr.reference for wr in runs),
        "points_per_message": one.run.points / max(1, one.run.messages),
    }
    notes = [
        f"{args.gateways} gateways, batches of {args.batch} readings (SDM630, 18 fields), "
        f"window {args.window}; 2-core machine shared by workers, influxd, Mosquitto, publishers"
    ]
    if not complete:
        notes.append("INCOMPLETE: a run's store does not hold every point")
    emit(figures, facts, notes)
    return complete


def main() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ours, rest = parser.parse_known_args()
    args = parse_args(rest)
    if min(ours.workers) < 1:
        raise SystemExit("--workers must be positive")
    runs = measure_all(args, ours.workers)
    sys.exit(0 if report(runs, args) else 1)


if __name__ == "__main__":
    main()
