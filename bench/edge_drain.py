"""Edge backlog drain: how fast an agent empties an outbox of N buffered readings.

An outbox file is filled directly through ``edge.outbox.Outbox.append_readings``, 500 readings per
call (one transaction each, as the batcher does), with realistic SDM630 readings: the profile's
``energy`` measurement, 18 float fields, one tag. Then an agent with no devices starts on it
(``eclor edge run``, ``uplink.drain_rate_per_s`` high enough not to be the limit, ``max_inflight``
from ``--inflight``) against Mosquitto and a cloud stand-in that decodes every batch and acks it;
the drain ends when the outbox is empty (every batch acked and deleted).

The reference, measured in the same run on the same file, broker and stand-in, is a bare paho
loop in its own process: it reads the same batches (same bytes) with a read-only cursor, publishes
them at QoS 1 with the same window of unacknowledged batches, and counts the cloud's acks; no
deletes, no fsync, no sender logic.

Run: ``python -m bench.edge_drain [--readings 1000000] [--inflight 64]``
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.table import Table

from bench._support import (
    Child,
    CountingCloud,
    broker,
    console,
    cpu_seconds,
    exit_on_sigterm,
    finish_py_spy,
    hotspots,
    print_hotspots,
    progress,
    rss_mb,
    running,
    sdm630_profile,
    start_py_spy,
    write_atomically,
    write_gateway_config,
)
from bench.figures import Figure, emit
from eclor.clock import to_epoch_ms
from eclor.errors import DecodeError
from eclor.wire import Ack, Reading, Suffix, decode, topic
from edge.outbox import Outbox, OutboxLimits

GATEWAY = "bench-drain"
HERE = "bench.edge_drain"
APPEND_SIZE = 500
METERS = 200
MAX_BYTES = "16GiB"
DEFAULT_READINGS = 1_000_000

# -- filling -----------------------------------------------------------------------------------


def reading_chunks(total: int, size: int = APPEND_SIZE) -> Iterator[list[Reading]]:
    """``total`` SDM630 energy readings from 200 meters, one a second each, ending a minute ago."""
    profile = sdm630_profile()
    names = [f.name for f in profile.fields if f.measurement in (None, profile.measurement)]
    seconds = -(-total // METERS)
    t0 = to_epoch_ms(datetime.now(UTC)) - (seconds + 60) * 1000
    for start in range(0, total, size):
        chunk = []
        for i in range(start, min(total, start + size)):
            second, meter = divmod(i, METERS)
            base = 230.0 + meter * 0.01 + second % 17 * 0.003
            fields: dict[str, bool | int | float | str] = {
                name: round(base + k * 1.37 + second * 1e-4, 4) for k, name in enumerate(names)
            }
            chunk.append(
                Reading(
                    device=f"m{meter:03d}",
                    measurement=profile.measurement,
                    time=t0 + second * 1000,
                    fields=fields,
                    tags={"cabinet": f"cab-{meter // 20:02d}"},
                )
            )
        yield chunk


@dataclass(frozen=True)
class Fill:
    readings: int
    appends: int
    batches: int
    seconds: float
    file_mb: float

    @property
    def appends_per_s(self) -> float:
        return self.appends / self.seconds


def fill(path: Path, total: int) -> Fill:
    """Append ``total`` readings; only the ``append_readings`` calls are timed."""
    limits = OutboxLimits(max_bytes=16 * 1024**3)
    outbox = Outbox(path, GATEWAY, limits)
    spent, appends, batches = 0.0, 0, 0
    try:
        with progress() as bar:
            task = bar.add_task("filling the outbox (readings)", total=total)
            for chunk in reading_chunks(total):
                start = time.perf_counter()
                batches += len(outbox.append_readings(chunk))
                spent += time.perf_counter() - start
                appends += 1
                bar.advance(task, len(chunk))
    finally:
        outbox.close()
    return Fill(total, appends, batches, spent, path.stat().st_size / 1e6)


# -- child: the reference drain ----------------------------------------------------------------


class RawDrain:
    """Publish every stored batch once, at most ``window`` unacknowledged at a time."""

    def __init__(self, outbox: Path, broker_port: int, window: int) -> None:
        self._outbox = outbox
        self._window = window
        self._inflight: set[int] = set()
        self._turn = threading.Condition()
        self._subscribed = threading.Event()
        self.refused = 0
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{GATEWAY}-ref", protocol=mqtt.MQTTv5
        )
        self._client.max_inflight_messages_set(1000)
        self._client.on_message = self._on_ack
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect("127.0.0.1", broker_port)
        self._client.subscribe(topic(GATEWAY, Suffix.ACK), qos=1)
        self._client.loop_start()

    def _on_ack(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            ack = decode(Ack, msg.payload)
        except DecodeError:
            self.refused += 1
            return
        with self._turn:
            self._inflight.difference_update(ack.seqs)
            self._turn.notify()

    def run(self) -> None:
        if not self._subscribed.wait(30):
            raise TimeoutError("the broker did not confirm the ack subscription")
        where = topic(GATEWAY, Suffix.TELEMETRY)
        uri = f"file:{self._outbox}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            for seq, payload in db.execute("SELECT seq, payload FROM batch ORDER BY seq"):
                with self._turn:
                    self._turn.wait_for(lambda: len(self._inflight) < self._window)
                    self._inflight.add(seq)
                self._client.publish(where, payload, qos=1)
        with self._turn:
            self._turn.wait_for(lambda: not self._inflight)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def raw_drain(outbox: Path, broker_port: int, window: int, done: Path) -> None:
    exit_on_sigterm()
    drain = RawDrain(outbox, broker_port, window)
    try:
        drain.run()
        write_atomically(done, f"{time.monotonic()}\n")
        while True:  # stay measurable until the parent stops us
            signal.pause()
    finally:
        drain.close()


# -- the parent --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    readings: int
    """Distinct readings the cloud received."""
    batches: int
    """Batches the outbox held (the fill made them)."""
    received: int
    """Batches the cloud received, resends included."""
    startup_s: float
    """Process start to the first batch at the cloud."""
    seconds: float
    """First batch at the cloud to the end (outbox empty, or every batch acked)."""
    cpu_s: float
    """CPU time of the process over ``seconds``."""
    rss_max_mb: float

    @property
    def per_s(self) -> float:
        return self.readings / self.seconds

    @property
    def batches_per_s(self) -> float:
        return self.batches / self.seconds

    @property
    def cpu_ms_per_1000(self) -> float:
        return 1e6 * self.cpu_s / max(1, self.readings)


def outbox_rows(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return int(db.execute("SELECT COUNT(*) FROM batch").fetchone()[0])


def follow(child: Child, cloud: CountingCloud, filled: Fill, is_done: Callable[[], bool]) -> Drain:
    """Watch ``child`` drain the outbox until ``is_done()``; its CPU from the first delivery."""
    started = time.monotonic()
    with progress() as bar:
        task = bar.add_task(f"{child.name}: readings at the cloud", total=filled.readings)
        child.wait_for(lambda: cloud.tally(GATEWAY).first_at is not None, 600, "delivering")
        cpu0, rss = cpu_seconds(child.pid), rss_mb(child.pid)
        first_at = cloud.tally(GATEWAY).first_at or time.monotonic()
        while not is_done():
            if not child.running:
                raise RuntimeError(f"{child.name} exited during the drain:\n{child.tail()}")
            rss = max(rss, rss_mb(child.pid))
            bar.update(task, completed=cloud.tally(GATEWAY).readings)
            time.sleep(0.2)
        done_at = time.monotonic()
        cpu1 = cpu_seconds(child.pid)
    tally = cloud.tally(GATEWAY)
    return Drain(
        tally.readings,
        filled.batches,
        tally.batches,
        first_at - started,
        done_at - first_at,
        cpu1 - cpu0,
        rss,
    )


def drain_reference(
    args: argparse.Namespace,
    workdir: Path,
    outbox: Path,
    port: int,
    cloud: CountingCloud,
    filled: Fill,
) -> Drain:
    done = workdir / "reference.done"
    child_args = ["--child", "--outbox", str(outbox), "--broker-port", str(port)]
    child_args += ["--inflight", str(args.inflight), "--done", str(done)]
    cloud.forget(GATEWAY)
    with running(Child.module("reference", HERE, child_args, workdir)) as child:
        return follow(child, cloud, filled, done.exists)


def drain_agent(
    args: argparse.Namespace,
    workdir: Path,
    outbox: Path,
    port: int,
    cloud: CountingCloud,
    filled: Fill,
) -> Drain:
    uplink = {"max_inflight": args.inflight, "drain_rate_per_s": args.drain_rate}
    config = write_gateway_config(
        workdir,
        GATEWAY,
        port,
        buses=[],
        devices=[],
        outbox={"path": str(outbox), "max_bytes": MAX_BYTES},
        uplink=uplink,
    )
    cloud.forget(GATEWAY)
    with running(Child.agent("agent", config, workdir)) as child:
        if not args.py_spy:
            return follow(child, cloud, filled, lambda: outbox_rows(outbox) == 0)
        raw = workdir / "agent.pyspy.txt"
        sampler = start_py_spy(child.pid, args.py_spy, raw)
        try:
            figures = follow(child, cloud, filled, lambda: outbox_rows(outbox) == 0)
        finally:
            finish_py_spy(sampler, raw, args.py_spy + 60)
        print_hotspots(f"agent draining (py-spy, first {args.py_spy} s)", hotspots(raw))
        return figures


def print_report(args: argparse.Namespace, filled: Fill, agent: Drain, ref: Drain) -> None:
    console.print(
        f"fill: {filled.readings:,} readings in {filled.appends:,} appends of {APPEND_SIZE} → "
        f"{filled.batches:,} batches, {filled.file_mb:,.0f} MB on disk; "
        f"{filled.appends_per_s:,.1f} appends/s = "
        f"{filled.readings / filled.seconds:,.0f} readings/s"
    )
    table = Table(
        title=f"backlog drain of {filled.readings:,} readings, max_inflight {args.inflight}, "
        f"drain_rate_per_s {args.drain_rate:g}"
    )
    for column in ("", "agent", "raw paho (ref)", "ratio"):
        table.add_column(column, justify="right")
    rows = (
        ("readings/s", agent.per_s, ref.per_s, "{:,.0f}"),
        ("batches/s", agent.batches_per_s, ref.batches_per_s, "{:,.1f}"),
        ("drain time s", agent.seconds, ref.seconds, "{:,.1f}"),
        ("CPU ms / 1000 readings", agent.cpu_ms_per_1000, ref.cpu_ms_per_1000, "{:,.1f}"),
        ("max RSS MB", agent.rss_max_mb, ref.rss_max_mb, "{:,.1f}"),
        ("start to first batch s", agent.startup_s, ref.startup_s, "{:,.2f}"),
    )
    for name, ours, theirs, form in rows:
        table.add_row(name, form.format(ours), form.format(theirs), f"{ours / theirs:.2f}×")
    console.print(table)
    console.print(
        f"batches received by the cloud (resends included): agent {agent.received:,}, "
        f"reference {ref.received:,}; distinct readings: agent {agent.readings:,}, "
        f"reference {ref.readings:,}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=DEFAULT_READINGS)
    parser.add_argument("--inflight", type=int, default=64, help="uplink.max_inflight")
    parser.add_argument("--drain-rate", type=float, default=10_000, help="uplink.drain_rate_per_s")
    parser.add_argument("--workdir", type=Path, help="keep the outbox, configs and logs here")
    parser.add_argument("--py-spy", type=int, default=0, metavar="S", help="profile the agent S s")
    hidden = argparse.SUPPRESS
    parser.add_argument("--child", action="store_true", help=hidden)
    parser.add_argument("--outbox", type=Path, help=hidden)
    parser.add_argument("--broker-port", type=int, help=hidden)
    parser.add_argument("--done", type=Path, help=hidden)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exit_on_sigterm()
    if args.child:
        raw_drain(args.outbox, args.broker_port, args.inflight, args.done)
        return
    with ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eclor-drain-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        outbox = workdir / "backlog.sqlite"
        for leftover in workdir.glob("backlog.sqlite*"):
            leftover.unlink()
        (workdir / "reference.done").unlink(missing_ok=True)
        filled = fill(outbox, args.readings)
        mosquitto = stack.enter_context(broker(workdir))
        cloud = stack.enter_context(CountingCloud(mosquitto.host, mosquitto.port))
        ref = drain_reference(args, workdir, outbox, mosquitto.port, cloud, filled)
        agent = drain_agent(args, workdir, outbox, mosquitto.port, cloud, filled)
        cloud.warn_if_refused()
    print_report(args, filled, agent, ref)
    ref_label = "bare paho loop over the same outbox"
    emit(
        [
            Figure("drain", agent.per_s, "readings/s", ref.per_s, ref_label),
            Figure(
                "CPU per 1000 readings", agent.cpu_ms_per_1000, "ms", ref.cpu_ms_per_1000, ref_label
            ),
            Figure("max RSS", agent.rss_max_mb, "MB", ref.rss_max_mb, ref_label),
        ],
        notes=[f"{filled.readings:,} readings, max_inflight {args.inflight}"],
    )


if __name__ == "__main__":
    main()
