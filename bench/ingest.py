"""Cloud ingest throughput: points/s from MQTT through the ingest into InfluxDB and into SQLite.

The reference is the raw write rate of the same ``influxd`` measured in the same run: the same
points as pre-encoded line protocol, ``--batch`` points per POST, one POST at a time, no gzip
(``bench/store_raw.py``'s method). It runs before and after each of the ``--rounds`` ingest →
InfluxDB runs; a round is compared with the mean of the two references around it, and the median
round is reported.

Set-up: a private ``influxd`` and ``mosquitto`` in a temporary folder, a SQLite registry with the
gateways enrolled, the ingest (``running_ingest`` with the product's default settings) in a child
process of its own, and publisher processes that play the gateways: one paho client (MQTT 5,
QoS 1) per gateway, pre-encoded ``TelemetryBatch`` messages of SDM630 readings (the profile's
18 energy fields, float32 values as the meter sends them), at most ``--window`` unacknowledged
batches per gateway, a batch published again when its ack has not come in ``--ack-timeout`` s
(the edge's uplink rules). A batch of ``--batch`` readings that does not fit the wire's 256 KiB
limit is halved until it does, as the edge's outbox does. The time runs from the first publish
to the last ack; points/s = distinct points acked / that time. At the end the store is asked how
many points it holds, so the benchmark cannot report work that did not happen. When the ratio is
under 0.5 (or with ``--profile``) one more run is sampled by py-spy and its hot spots printed.

Run: ``python -m bench.ingest [--points 200000] [--batch 500] [--gateways 20] [--profile]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich import box
from rich.table import Table

from bench._support import (
    REPO,
    Child,
    console,
    cpu_seconds,
    progress,
    running,
    sdm630_profile,
    until_terminated,
    write_atomically,
)
from bench.figures import Figure, emit
from bench.store_raw import batches, rate
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import IngestSettings
from cloud.store import InfluxSettings, InfluxStore, SqliteSettings, SqliteStore
from cloud.store.base import TimeSeriesStore
from cloud.store.lineprotocol import encode_lines
from cloud.store.points import point_from_reading
from eclor.errors import DecodeError, EncodeError
from eclor.wire import Ack, Reading, TelemetryBatch, decode, encode
from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer
from tests.support.cloud_parts import enroll, running_ingest, sqlite_registry

T0 = 1_764_288_000_000  # 2025-11-28T00:00Z, a day boundary
POLL_MS = 10_000
METERS_PER_GATEWAY = 5
DAY_MS = 86_400_000
FIELDS = [f.name for f in sdm630_profile().fields if f.measurement in (None, "energy")]
SPY_RATE = 100
PY_SPY = Path(sys.executable).with_name("py-spy")

# -- the workload: the same readings in every process ---------------------------------------------


def gateway_id(index: int) -> str:
    return f"bench-gw-{index:03d}"


def _f32(value: float) -> float:
    """The double a float32 register decodes to (e.g. 230.10000610351562)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def sdm630_fields(step: int, meter: int) -> dict[str, bool | int | float | str]:
    wobble = ((step * 7 + meter * 13) % 41 - 20) / 100
    values: dict[str, bool | int | float | str] = {}
    for k, name in enumerate(FIELDS):
        if name.startswith("power_factor"):
            value = 0.94 + wobble / 10
        elif name.endswith("_v"):
            value = 230.0 + wobble + k * 0.3
        elif name.endswith("_a"):
            value = 4.0 + wobble + k * 0.05
        elif name.endswith("_w"):
            value = 920.0 + 10 * wobble + k
        elif name.endswith("_hz"):
            value = 50.0 + wobble / 10
        else:  # kWh counters
            value = 18_234.75 + meter * 100 + k + step * 0.0025
        values[name] = _f32(value)
    return values


def gateway_readings(index: int, count: int) -> list[Reading]:
    """``count`` polls of the gateway's meters, one poll per meter every 10 s, oldest first."""
    gateway = gateway_id(index)
    return [
        Reading(
            device=f"{gateway}-meter-{i % METERS_PER_GATEWAY}",
            measurement="energy",
            time=T0 + i // METERS_PER_GATEWAY * POLL_MS,
            fields=sdm630_fields(i // METERS_PER_GATEWAY, i % METERS_PER_GATEWAY),
            tags={"circuit": "main"},
        )
        for i in range(count)
    ]


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    readings: int
    payload: bytes


def encode_messages(gateway: str, readings: Sequence[Reading], size: int) -> list[Message]:
    """Batches of ``size`` readings, each halved until it fits the wire's size limit (the edge
    outbox's rule), numbered from 1."""
    out: list[Message] = []

    def add(chunk: Sequence[Reading]) -> None:
        seq = len(out) + 1
        try:
            payload = encode(TelemetryBatch(gateway=gateway, seq=seq, readings=list(chunk)))
        except EncodeError:
            if len(chunk) < 2:
                raise
            add(chunk[: len(chunk) // 2])
            add(chunk[len(chunk) // 2 :])
            return
        out.append(Message(seq, len(chunk), payload))

    for start in range(0, len(readings), size):
        add(readings[start : start + size])
    return out


# -- child: the ingest ----------------------------------------------------------------------------


async def serve_ingest(spec: argparse.Namespace) -> None:
    """``running_ingest`` with the product's default settings (``--max-pending``, ``--no-gzip``
    aside) until SIGTERM, then its counters."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store: TimeSeriesStore
    if spec.sqlite:
        store = await SqliteStore.open(SqliteSettings(path=spec.sqlite, retention_days=None))
    else:
        settings = InfluxSettings(url=spec.influx, database=spec.database, gzip=not spec.no_gzip)
        store = await InfluxStore.open(settings)
    sessions = sqlite_registry(Path(spec.registry))
    ingest_settings = IngestSettings(
        max_pending_points=spec.max_pending, shared_group=getattr(spec, "shared_group", None)
    )
    try:
        async with running_ingest(
            store, sessions, spec.broker_port, name=spec.client_id, settings=ingest_settings
        ) as ingest:
            write_atomically(Path(spec.ready), "ready")
            await until_terminated()
    finally:
        await store.close()
    write_atomically(Path(spec.stats), json.dumps(metric_samples(ingest.metrics)))


def metric_samples(metrics: IngestMetrics) -> dict[str, float]:
    """Every counter, gauge and histogram sum/count as ``name{label=value,...}`` → value."""
    out: dict[str, float] = {}
    for metric in metrics.registry.collect():
        for sample in metric.samples:
            if sample.name.endswith(("_bucket", "_created")):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


# -- child: publishers playing gateways -------------------------------------------------------


class GatewayPublisher:
    """One gateway's MQTT identity: a window of unacknowledged batches, resent on ack timeout."""

    def __init__(self, gateway: str, messages: list[Message], spec: argparse.Namespace) -> None:
        self.gateway = gateway
        self.messages = messages
        self.window: int = spec.window
        self.ack_timeout: float = spec.ack_timeout
        self.inflight: dict[int, float] = {}  # seq → last published (monotonic)
        self.next = 0
        self.points_acked = 0
        self.resends = 0
        self.duplicate_acks = 0
        self.last_ack = 0.0
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-{gateway}", protocol=mqtt.MQTTv5
        )
        client.max_inflight_messages_set(1000)  # as the edge's link
        client.on_message = self._on_ack
        client.on_subscribe = lambda *_: self._subscribed.set()
        client.connect("127.0.0.1", spec.broker_port)
        client.subscribe(f"eclor/v1/{gateway}/ack", qos=1)
        client.loop_start()
        self._client = client

    def wait_subscribed(self) -> None:
        if not self._subscribed.wait(30):
            raise RuntimeError(f"{self.gateway}: no SUBACK within 30 s")

    @property
    def done(self) -> bool:
        with self._lock:
            return self.next == len(self.messages) and not self.inflight

    def fill(self) -> None:
        with self._lock:
            while len(self.inflight) < self.window and self.next < len(self.messages):
                message = self.messages[self.next]
                self.next += 1
                self._publish(message)

    def resend_overdue(self, now: float) -> None:
        with self._lock:
            for seq, sent_at in list(self.inflight.items()):
                if now - sent_at > self.ack_timeout:
                    self.resends += 1
                    self._publish(self.messages[seq - 1])

    def _publish(self, message: Message) -> None:
        self.inflight[message.seq] = time.monotonic()
        self._client.publish(f"eclor/v1/{self.gateway}/telemetry", message.payload, qos=1)

    def _on_ack(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            seqs = decode(Ack, msg.payload).seqs
        except DecodeError:
            return
        now = time.monotonic()
        with self._lock:
            for seq in seqs:
                if self.inflight.pop(seq, None) is None:
                    self.duplicate_acks += 1
                else:
                    self.points_acked += self.messages[seq - 1].readings
                    self.last_ack = now
        self.fill()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def publish_all(spec: argparse.Namespace) -> None:
    """Encode, connect, say ready, wait for the go file, publish until every batch is acked."""
    publishers: list[GatewayPublisher] = []
    for index in spec.indices:
        gateway = gateway_id(index)
        readings = gateway_readings(index, spec.points // spec.gateways)
        messages = encode_messages(gateway, readings, spec.batch)
        publishers.append(GatewayPublisher(gateway, messages, spec))
    try:
        for publisher in publishers:
            publisher.wait_subscribed()
        write_atomically(Path(spec.ready), "ready")
        while not Path(spec.go).exists():
            time.sleep(0.001)
        cpu_start, first_publish = time.process_time(), time.monotonic()
        for publisher in publishers:
            publisher.fill()
        deadline = first_publish + spec.run_timeout
        while not all(p.done for p in publishers) and time.monotonic() < deadline:
            time.sleep(0.1)
            for publisher in publishers:
                publisher.resend_overdue(time.monotonic())
            write_atomically(Path(spec.progress), str(sum(p.points_acked for p in publishers)))
        result = {
            "first_publish": first_publish,
            "last_ack": max(p.last_ack for p in publishers),
            "points_acked": sum(p.points_acked for p in publishers),
            "messages": sum(len(p.messages) for p in publishers),
            "unacked": sum(len(p.messages) - p.next + len(p.inflight) for p in publishers),
            "resends": sum(p.resends for p in publishers),
            "duplicate_acks": sum(p.duplicate_acks for p in publishers),
            "cpu_s": time.process_time() - cpu_start,
        }
        write_atomically(Path(spec.result), json.dumps(result))
    finally:
        for publisher in publishers:
            publisher.close()


# -- parent: the reference ----------------------------------------------------------------------


def reference_bodies(gateways: int, per_gateway: int, size: int) -> list[bytes]:
    """The points the ingest will write, in arrival order (a batch of each gateway in turn), as
    line-protocol bodies of ``size`` points."""
    per_gw = [
        [point_from_reading(r, gateway_id(g)) for r in gateway_readings(g, per_gateway)]
        for g in range(gateways)
    ]
    chunks = [batches(points, size) for points in per_gw]
    return [encode_lines(chunk[k]) for k in range(len(chunks[0])) for chunk in chunks]


async def raw_reference(url: str, database: str, bodies: Sequence[bytes], points: int) -> float:
    """Points/s of POSTing ``bodies`` to ``/write`` one at a time (no gzip, no checks)."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.post("/query", data={"q": f'CREATE DATABASE "{database}"'})
        response.raise_for_status()
        with progress() as bar:
            task = bar.add_task(f"raw line protocol → {database}", total=len(bodies))

            async def post(body: bytes) -> None:
                params = {"db": database, "precision": "ms"}
                answer = await client.post("/write", params=params, content=body)
                answer.raise_for_status()
                bar.advance(task)

            return await rate(points, [functools.partial(post, body) for body in bodies])


# -- parent: one ingest run ------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    points: int = 0
    elapsed_s: float = 0.0
    messages: int = 0
    resends: int = 0
    unacked: int = 0
    duplicate_acks: int = 0
    stored: int = -1
    cpu_s: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    hotspots: str = ""
    reference: float = 0.0
    """The raw rate this run is compared with (the mean of the references around it)."""

    @property
    def rate(self) -> float:
        return self.points / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.reference if self.reference else 0.0

    def stat(self, prefix: str) -> float:
        return sum(v for k, v in self.stats.items() if k.startswith(prefix))


@dataclass
class Bench:
    args: argparse.Namespace
    folder: Path
    broker: MosquittoServer
    influx: InfluxDBServer

    def child(self, name: str, label: str, **spec: object) -> Child:
        """A child process of this module, given the benchmark's options and ``spec``."""
        path = self.folder / label / f"{name}.json"
        path.write_text(json.dumps({**vars(self.args), **spec}))
        return Child.module(name, "bench.ingest", ["--child", str(path)], self.folder / label)

    def run(self, label: str, store: dict[str, object], spy: bool = False) -> Run:
        workdir = self.folder / label
        workdir.mkdir()
        ingest = self.child(
            "ingest",
            label,
            role="ingest",
            broker_port=self.broker.port,
            registry=str(self.folder / "registry"),
            client_id=f"ingest-{label}",
            ready=str(workdir / "ingest.ready"),
            stats=str(workdir / "stats.json"),
            **{"influx": None, "sqlite": None, **store},
        )
        with running(ingest):
            ingest.wait_for((workdir / "ingest.ready").exists, 60, "connected to the broker")
            with contextlib.ExitStack() as stack:
                publishers = [stack.enter_context(running(p)) for p in self.publishers(label)]
                for k, child in enumerate(publishers):
                    child.wait_for((workdir / f"pub{k}.ready").exists, 300, "ready to publish")
                run = self.measure(label, ingest, publishers, spy)
        run.stats = json.loads((workdir / "stats.json").read_text())
        return run

    def publishers(self, label: str) -> list[Child]:
        count, workdir = self.args.publishers, self.folder / label
        return [
            self.child(
                f"pub{k}",
                label,
                role="publish",
                broker_port=self.broker.port,
                indices=list(range(k, self.args.gateways, count)),
                ready=str(workdir / f"pub{k}.ready"),
                go=str(workdir / "go"),
                result=str(workdir / f"pub{k}.result"),
                progress=str(workdir / f"pub{k}.progress"),
            )
            for k in range(count)
        ]

    def reference(self, database: str, bodies: Sequence[bytes]) -> float:
        url, points = self.influx.url, self.args.points
        value = asyncio.run(raw_reference(url, database, bodies, points))
        if influx_count(url, database, None, points // self.args.gateways) != points:
            raise RuntimeError(f"the reference database {database} misses points")
        return value

    def influx_run(self, label: str, spy: bool = False) -> Run:
        database = label.replace("-", "_")
        run = self.run(label, {"influx": self.influx.url, "database": database}, spy)
        per_gateway = self.args.points // self.args.gateways
        run.stored = influx_count(self.influx.url, database, "eclor", per_gateway)
        return run

    def measure(self, label: str, ingest: Child, publishers: list[Child], spy: bool) -> Run:
        pids = {"ingest": ingest.pid, "influxd": self.influx.pid, "mosquitto": self.broker.pid}
        before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}
        workdir = self.folder / label
        spy_out = workdir / "ingest.pyspy"
        with py_spy(ingest.pid, spy_out) if spy else contextlib.nullcontext(), progress() as bar:
            task = bar.add_task(f"ingest → {label}", total=self.args.points)
            (workdir / "go").touch()
            while any(p.running for p in publishers):
                if not ingest.running:
                    raise RuntimeError(f"the ingest died:\n{ingest.tail()}")
                bar.update(task, completed=acked_so_far(workdir))
                time.sleep(0.2)
        after = {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}
        results = []
        for k, child in enumerate(publishers):
            path = self.folder / label / f"pub{k}.result"
            if not path.exists():
                raise RuntimeError(f"{child.name} gave no result:\n{child.tail()}")
            results.append(json.loads(path.read_text()))
        run = Run(label, cpu_s={name: after[name] - before[name] for name in before})
        run.points = sum(r["points_acked"] for r in results)
        run.elapsed_s = max(r["last_ack"] for r in results) - min(
            r["first_publish"] for r in results
        )
        for key in ("messages", "resends", "unacked", "duplicate_acks"):
            setattr(run, key, sum(r[key] for r in results))
        run.cpu_s["publishers"] = sum(r["cpu_s"] for r in results)
        if spy:
            run.hotspots = summarise_spy(spy_out, run.elapsed_s)
        return run


def acked_so_far(workdir: Path) -> int:
    """Points acked so far, as the publishers last wrote it."""
    return sum(int(path.read_text() or 0) for path in workdir.glob("pub*.progress"))


# -- parent: verification ---------------------------------------------------------------------


async def stored_points(store: TimeSeriesStore, per_gateway: int) -> int:
    """How many points the store holds, by a ``count`` of the first and of the last field per
    (gateway, device); -1 when the two disagree (a partial point)."""
    end = T0 + (per_gateway // METERS_PER_GATEWAY + 1) * POLL_MS
    counts = []
    try:
        for name in (FIELDS[0], FIELDS[-1]):
            series = await store.aggregate(
                "energy", name, start_ms=T0, end_ms=end, every_ms=DAY_MS, fn="count"
            )
            counts.append(sum(int(w.value) for s in series for w in s.windows))
    finally:
        await store.close()
    return counts[0] if counts[0] == counts[1] else -1


def influx_count(url: str, database: str, policy: str | None, per_gateway: int) -> int:
    settings = InfluxSettings(
        url=url, database=database, retention_policy=policy, create_database=False
    )
    return asyncio.run(stored_points(InfluxStore(settings), per_gateway))


def sqlite_count(path: Path, per_gateway: int) -> int:
    async def count() -> int:
        store = await SqliteStore.open(SqliteSettings(path=path, retention_days=None))
        return await stored_points(store, per_gateway)

    return asyncio.run(count())


# -- parent: profiling --------------------------------------------------------------------------


@contextlib.contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    """Sample ``pid`` (collapsed stacks, per thread) until the block ends."""
    command = [str(PY_SPY), "record", "-p", str(pid)]
    command += ["-r", str(SPY_RATE), "--nonblocking", "--threads", "-f", "raw", "-o", str(out)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # let it attach before the first publish
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def _frame(frame: str) -> str:
    """``func (/abs/path/cloud/x.py:12)`` → ``func (cloud/x.py)``."""
    func, _, where = frame.strip().rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", f"{REPO}/", "/lib/python3.11/"):
        path = path.split(marker, 1)[-1]
    return f"{func} ({path})"


def summarise_spy(raw: Path, elapsed_s: float, top: int = 14) -> str:
    """Per thread: share of one core; then self and inclusive (our code) shares of all samples."""
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines() if raw.exists() else []:
        stack, _, count_text = line.rpartition(" ")
        thread, *frames = stack.split(";")
        count = int(count_text)
        total += count
        names = [_frame(f) for f in frames]
        threads[thread.partition(": ")[2] or thread] += count  # "thread (0x…): name"
        if names:
            own[names[-1]] += count
        for name in set(names):
            if "(cloud/" in name or "(eclor/" in name or "(tests/" in name:
                inclusive[name] += count
    lines = [f"{total} on-CPU samples at {SPY_RATE}/s over {elapsed_s:.1f} s"]
    lines.append("threads (share of one core; MainThread runs the event loop):")
    lines += [f"  {c / SPY_RATE / elapsed_s:6.1%}  {n}" for n, c in threads.most_common()]
    lines.append("self time (share of on-CPU samples):")
    lines += [f"  {c / max(1, total):6.1%}  {n}" for n, c in own.most_common(top)]
    lines.append("inclusive, project code (share of on-CPU samples):")
    lines += [f"  {c / max(1, total):6.1%}  {n}" for n, c in inclusive.most_common(2 * top)]
    return "\n".join(lines)


# -- parent: report ----------------------------------------------------------------------------


def print_report(args: argparse.Namespace, refs: list[float], runs: list[Run]) -> None:
    rounds = [run for run in runs if run.label.startswith("influxdb-") and run.label[-1].isdigit()]
    middle = sorted(rounds, key=lambda run: run.ratio)[len(rounds) // 2]
    console.print(
        f"{args.points:,} points ({len(FIELDS)} fields, SDM630) from {args.gateways} gateways; "
        f"batches of {args.batch} readings went as {middle.messages:,} messages of "
        f"{args.points / middle.messages:.0f} (256 KiB limit); window {args.window}, ack timeout "
        f"{args.ack_timeout:g} s; ingest max_pending_points {args.max_pending:,}"
        + (", no gzip" if args.no_gzip else ""),
        highlight=False,
    )
    table = Table(box=box.SIMPLE)
    for heading in ("", "points/s", "vs raw", "note"):
        table.add_column(heading, justify="left" if heading in ("", "note") else "right")
    raw_note = "median of " + ", ".join(f"{r:,.0f}" for r in refs)
    table.add_row("raw line protocol (reference)", f"{statistics.median(refs):,.0f}", "1", raw_note)
    each = ", ".join(f"{run.ratio:.2f}" for run in rounds)
    table.add_row(
        "MQTT → ingest → InfluxDB",
        f"{middle.rate:,.0f}",
        f"{middle.ratio:.2f}",
        f"median round of {len(rounds)} ({each}); goal ≥ 0.50",
    )
    for run in runs:
        if run.label == "sqlite":
            table.add_row("MQTT → ingest → SQLite", f"{run.rate:,.0f}", f"{run.ratio:.2f}", "")
        elif run.label.endswith("profiled"):
            row = ("  … under py-spy", f"{run.rate:,.0f}", f"{run.ratio:.2f}", "not a figure")
            table.add_row(*row)
    console.print(table)
    for run in runs:
        print_run(run)


def print_run(run: Run) -> None:
    writes = run.stat("eclor_ingest_store_write_seconds_count")
    busy = run.stat("eclor_ingest_store_write_seconds_sum")
    refused = {
        key.partition("=")[2].rstrip("}"): int(value)
        for key, value in run.stats.items()
        if key.startswith("eclor_ingest_refused_total")
    }
    cpu = ", ".join(f"{name} {s:.1f}" for name, s in run.cpu_s.items())
    ingest_us = 1e6 * run.cpu_s.get("ingest", 0.0) / max(1, run.points)
    console.print(f"[bold]{run.label}[/bold]", highlight=False)
    console.print(
        f"  {run.points:,} points acked in {run.elapsed_s:.2f} s, store holds {run.stored:,}; "
        f"resends {run.resends}, refused {refused or 0}, unacked {run.unacked}, "
        f"duplicate acks {run.duplicate_acks}",
        highlight=False,
    )
    console.print(
        f"  {writes:.0f} store writes ({run.points / max(1, writes):,.0f} points each on "
        f"average), store write in progress {busy / run.elapsed_s:.0%} of the time",
        highlight=False,
    )
    console.print(f"  CPU s: {cpu}; ingest {ingest_us:.0f} µs per point", highlight=False)
    if run.hotspots:
        console.print(run.hotspots, highlight=False)


def emit_figures(refs: list[float], runs: list[Run]) -> None:
    """The median InfluxDB round and the SQLite run against the raw write rate, for run_all."""
    rounds = [run for run in runs if run.label.startswith("influxdb-") and run.label[-1].isdigit()]
    middle = sorted(rounds, key=lambda run: run.ratio)[len(rounds) // 2]
    raw, label = statistics.median(refs), "raw line protocol"
    figures = [
        Figure(label, raw, "points/s", raw, label, f"{len(refs)} runs around the rounds"),
        Figure("MQTT → ingest → InfluxDB", middle.rate, "points/s", middle.reference, label,
               f"median of {len(rounds)} round(s); goal ≥ 0.5"),
    ]  # fmt: skip
    figures += [
        Figure("MQTT → ingest → SQLite", run.rate, "points/s", run.reference, label)
        for run in runs
        if run.label == "sqlite"
    ]
    facts = {
        "ingest_points_per_s": middle.rate,
        "influx_raw_points_per_s": raw,
        "ingest_cpu_us_per_point": 1e6 * middle.cpu_s.get("ingest", 0.0) / max(1, middle.points),
        "influxd_cpu_us_per_point": 1e6 * middle.cpu_s.get("influxd", 0.0) / max(1, middle.points),
        "mosquitto_cpu_us_per_point": 1e6
        * middle.cpu_s.get("mosquitto", 0.0)
        / max(1, middle.points),
        "points_per_message": middle.points / max(1, middle.messages),
    }
    emit(figures, facts)


# -- entry points ----------------------------------------------------------------------------


def bench(args: argparse.Namespace) -> int:
    if min(args.points, args.batch, args.gateways, args.window, args.rounds) < 1:
        raise SystemExit("--points, --batch, --gateways, --window and --rounds must be positive")
    per_gateway = args.points // args.gateways
    args.points = per_gateway * args.gateways
    args.publishers = max(1, min(args.publishers, args.gateways))
    bodies = reference_bodies(args.gateways, per_gateway, args.batch)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        (folder / "registry").mkdir()
        enroll(sqlite_registry(folder / "registry"), *map(gateway_id, range(args.gateways)))
        with InfluxDBServer(folder) as influx, MosquittoServer(folder) as broker:
            bench = Bench(args, folder, broker, influx)
            refs = [bench.reference("raw0", bodies)]
            runs = []
            for r in range(1, args.rounds + 1):  # each ingest run between two references
                runs.append(bench.influx_run(f"influxdb-{r}"))
                refs.append(bench.reference(f"raw{r}", bodies))
                runs[-1].reference = (refs[-2] + refs[-1]) / 2
            sqlite = bench.run("sqlite", {"sqlite": str(folder / "ts.sqlite")})
            sqlite.stored = sqlite_count(folder / "ts.sqlite", per_gateway)
            sqlite.reference = statistics.median(refs)
            runs.append(sqlite)
            if args.profile or statistics.median(r.ratio for r in runs[:-1]) < 0.5:
                if PY_SPY.exists():
                    runs.append(bench.influx_run("influxdb-profiled", spy=True))
                    runs[-1].reference = refs[-1]
                else:
                    console.print(f"no profile: {PY_SPY} missing (pip install py-spy)")
    print_report(args, refs, runs)
    emit_figures(refs, runs)
    complete = all(run.stored == run.points == args.points for run in runs)
    if not complete:
        console.print("[red]INCOMPLETE: a store does not hold every point, or acks are missing")
    return 0 if complete else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000, help="readings in all")
    parser.add_argument("--batch", type=int, default=500, help="readings per batch")
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--window", type=int, default=32, help="unacked batches per gateway")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--ack-timeout", type=float, default=30.0, help="resend after (s)")
    parser.add_argument("--run-timeout", type=float, default=900.0, help="give up after (s)")
    parser.add_argument("--rounds", type=int, default=3, help="ingest → InfluxDB runs")
    parser.add_argument("--profile", action="store_true", help="add a run under py-spy")
    what_if = parser.add_argument_group("what-if (defaults: the product's)")
    what_if.add_argument("--max-pending", type=int, default=IngestSettings().max_pending_points)
    what_if.add_argument("--no-gzip", action="store_true", help="InfluxStore without gzip")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # a child's spec file
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.child is None:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop children, remove the folder
        sys.exit(bench(args))
    spec = argparse.Namespace(**json.loads(args.child.read_text()))
    if spec.role == "ingest":
        asyncio.run(serve_ingest(spec))
    else:
        publish_all(spec)


if __name__ == "__main__":
    main()
