"""Edge agent throughput: CPU time per delivered reading and steady RSS for N simulated SDM630s.

Each meter is polled every second. The agent (``eclor edge run``, product defaults) goes pollers →
batcher → outbox (SQLite, WAL, synchronous=FULL) → sender → Mosquitto → a cloud stand-in that
decodes every batch, counts distinct readings and acks. The reference, measured in the same run
against the same meters, broker and stand-in, is a bare loop in its own process: the same
pymodbus requests as the agent's read plan (``edge.modbus.planner.plan_reads`` on the SDM630
profile), the registers decoded with ``struct``, the readings published with paho (QoS 1) as wire
batches every flush interval, with no outbox, no health, no metrics.

The simulated meters serve from a child process, ``--per-endpoint`` meters (unit ids 1…N) per Modbus
TCP endpoint; the agent gets one bus per endpoint. A poll of an SDM630 is 7 requests and yields two
readings (``energy``, 18 fields; ``device``, the serial number). CPU time is utime+stime of the
measured process (all threads) over the window, from /proc; RSS is VmRSS sampled every 0.5 s in
the window (the largest sample is printed). Nothing is asserted: the figures are printed.

Run: ``python -m bench.edge_throughput [--meters 20 200] [--seconds 30]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusTcpClient
from rich.progress import Progress, TaskID
from rich.table import Table

from bench._support import (
    Child,
    CountingCloud,
    broker,
    console,
    cpu_seconds,
    exit_on_sigterm,
    hotspots,
    print_hotspots,
    progress,
    py_spy_record,
    rss_mb,
    running,
    sdm630_profile,
    until_terminated,
    write_atomically,
    write_gateway_config,
)
from bench.figures import Figure, emit
from eclor.wire import Reading, Suffix, TelemetryBatch, encode, topic
from edge.modbus.planner import ReadRequest, plan_reads
from edge.profiles import DataType, Function

AGENT = "bench-agent"
REFERENCE = "bench-ref"
FLUSH_S = 0.25  # the agent's default outbox.flush_interval_ms
BATCH_MAX = 500  # the agent's default outbox.batch_max_readings
HERE = "bench.edge_throughput"

# -- child: the simulated meters ---------------------------------------------------------------


def device_id(index: int) -> str:
    return f"m{index:03d}"


def endpoints(meters: int, per_endpoint: int) -> list[list[tuple[str, int]]]:
    """(device id, unit id) of the meters on each endpoint."""
    return [
        [(device_id(i), i - start + 1) for i in range(start, min(meters, start + per_endpoint))]
        for start in range(0, meters, per_endpoint)
    ]


async def serve_meters(meters: int, per_endpoint: int, ready: Path) -> None:
    from simulators.modbus import Sdm630, serve_tcp
    from simulators.state import MeterState

    handles = []
    for group in endpoints(meters, per_endpoint):
        devices = {}
        for _, unit in group:
            state = MeterState(
                serial_number=10_000 + unit,
                voltage_v=[230.1 + unit * 0.01, 229.7, 231.2],
                current_a=[4.2, 3.9, 4.05],
                power_w=[912.0, 851.5, 880.25],
                power_factor=[0.94, 0.95, 0.93],
                frequency_hz=50.01,
                import_energy_kwh=18_234.75 + unit,
                export_energy_kwh=12.5,
            )
            devices[unit] = Sdm630(state)
        handles.append(await serve_tcp(devices, "127.0.0.1", 0))
    write_atomically(ready, json.dumps([handle.port for handle in handles]))
    try:
        await until_terminated()
    finally:
        for handle in handles:
            await handle.stop()


# -- child: the reference loop -----------------------------------------------------------------

_WORDS = struct.Struct(">HH")
_FLOAT = struct.Struct(">f")


def _decode(kind: DataType, hi: int, lo: int) -> float | int:
    if kind is DataType.FLOAT32:
        value: float = _FLOAT.unpack(_WORDS.pack(hi, lo))[0]
        return value
    if kind is DataType.UINT32:
        return hi << 16 | lo
    raise ValueError(f"the reference decodes only what an SDM630 sends, not {kind}")


async def _poll_meter(
    client: AsyncModbusTcpClient, plan: list[ReadRequest], device: str, unit: int, default: str
) -> list[Reading]:
    stamp = time.time_ns() // 1_000_000
    by_measurement: dict[str, dict[str, bool | int | float | str]] = {}
    for request in plan:
        read = (
            client.read_holding_registers
            if request.function is Function.HOLDING_REGISTER
            else client.read_input_registers
        )
        response = await read(request.address, count=request.count, device_id=unit)
        if response.isError():
            continue
        registers = response.registers
        for field in request.fields:
            at = field.protocol_address - request.address
            fields = by_measurement.setdefault(field.measurement or default, {})
            fields[field.name] = _decode(field.type, registers[at], registers[at + 1])
    return [
        Reading(device=device, measurement=measurement, time=stamp, fields=fields)
        for measurement, fields in by_measurement.items()
    ]


async def _poll_endpoint(port: int, meters: list[tuple[str, int]], out: list[Reading]) -> None:
    profile = sdm630_profile()
    plan = plan_reads(profile)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
    await client.connect()
    next_at = time.monotonic()
    try:
        while True:
            for device, unit in meters:
                out.extend(await _poll_meter(client, plan, device, unit, profile.measurement))
            next_at += 1.0
            now = time.monotonic()
            if next_at < now:
                next_at = now + 1.0 - (now - next_at) % 1.0
            await asyncio.sleep(next_at - now)
    finally:
        client.close()


async def _publish_every(client: mqtt.Client, gateway: str, pending: list[Reading]) -> None:
    seq = 0
    while True:
        await asyncio.sleep(FLUSH_S)
        readings, pending[:] = pending[:], []
        for start in range(0, len(readings), BATCH_MAX):
            seq += 1
            batch = TelemetryBatch(
                gateway=gateway, seq=seq, readings=readings[start : start + BATCH_MAX]
            )
            client.publish(topic(gateway, Suffix.TELEMETRY), encode(batch), qos=1)


async def reference(ports: list[int], meters: int, per_endpoint: int, broker_port: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=REFERENCE, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(2000)
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    pending: list[Reading] = []
    groups = endpoints(meters, per_endpoint)
    tasks = [
        asyncio.create_task(_poll_endpoint(p, g, pending))
        for p, g in zip(ports, groups, strict=True)
    ]
    tasks.append(asyncio.create_task(_publish_every(client, REFERENCE, pending)))
    stop = asyncio.create_task(until_terminated())
    try:
        done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop}:
            task.result()  # a loop that ended on its own failed: end the process with its error
    finally:
        stop.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client.disconnect()
        client.loop_stop()


# -- the parent --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    seconds: float
    readings: int
    cpu_s: float
    rss_max_mb: float
    rss_median_mb: float

    @property
    def per_s(self) -> float:
        return self.readings / self.seconds

    @property
    def cpu_ms_per_1000(self) -> float:
        return 1e6 * self.cpu_s / max(1, self.readings)


def measure(
    child: Child, cloud: CountingCloud, gateway: str, warmup: float, seconds: int
) -> Measurement:
    """CPU and RSS of ``child`` over ``seconds`` whole wall-clock seconds after a warm-up, and the
    readings stamped (at the edge) in those seconds that reached the cloud: a poll every second
    puts the same number of readings in every whole second, whatever its phase."""
    child.wait_for(lambda: cloud.tally(gateway).readings > 0, 90, "delivering readings")
    with progress() as bar:
        task = bar.add_task(f"{child.name}: warm-up", total=int(warmup))
        _sleep_with(bar, task, warmup)
        time.sleep(math.ceil(time.time()) - time.time())
        pid, first_s = child.pid, round(time.time())
        cpu0 = cpu_seconds(pid)
        bar.update(task, description=f"{child.name}: measuring", completed=0, total=seconds)
        samples: list[float] = []
        while (now := time.time()) < first_s + seconds:
            time.sleep(min(0.5, first_s + seconds - now))
            samples.append(rss_mb(pid))
            bar.update(task, completed=int(time.time() - first_s))
        cpu1 = cpu_seconds(pid)
        bar.update(task, description=f"{child.name}: last deliveries")
        readings = _settled(lambda: cloud.stamped_between(gateway, first_s, first_s + seconds))
    return Measurement(seconds, readings, cpu1 - cpu0, max(samples), statistics.median(samples))


def _sleep_with(bar: Progress, task: TaskID, seconds: float) -> None:
    start = time.monotonic()
    while (waited := time.monotonic() - start) < seconds:
        time.sleep(min(0.5, seconds - waited))
        bar.update(task, completed=int(time.monotonic() - start))


def _settled(count: Callable[[], int], quiet_s: float = 1.5, limit_s: float = 15) -> int:
    """``count()`` once it has stopped growing for ``quiet_s`` (the last batches are in)."""
    deadline = time.monotonic() + limit_s
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.25)
        if (now := count()) != last:
            last, since = now, time.monotonic()
    return last


def agent_config(
    workdir: Path,
    broker_port: int,
    ports: list[int],
    meters: int,
    per_endpoint: int,
    poll_interval_s: float = 1,
) -> Path:
    buses = [
        {"name": f"lan{k:02d}", "kind": "tcp", "host": "127.0.0.1", "port": port}
        for k, port in enumerate(ports)
    ]
    devices = [
        {
            "id": device,
            "profile": "eastron-sdm630",
            "bus": f"lan{k:02d}",
            "unit": unit,
            "poll_interval_s": poll_interval_s,
        }
        for k, group in enumerate(endpoints(meters, per_endpoint))
        for device, unit in group
    ]
    return write_gateway_config(workdir, AGENT, broker_port, buses=buses, devices=devices)


@dataclass(frozen=True)
class Row:
    meters: int
    agent: list[Measurement]
    reference: list[Measurement]

    @staticmethod
    def _median(runs: list[Measurement], what: Callable[[Measurement], float]) -> float:
        return statistics.median(what(run) for run in runs)

    def agent_ms(self) -> float:
        return self._median(self.agent, lambda m: m.cpu_ms_per_1000)

    def reference_ms(self) -> float:
        return self._median(self.reference, lambda m: m.cpu_ms_per_1000)

    def ratios(self) -> list[float]:
        """Per round: the agent's figure over the reference's of the same round."""
        pairs = zip(self.agent, self.reference, strict=True)
        return [a.cpu_ms_per_1000 / r.cpu_ms_per_1000 for a, r in pairs]


@contextmanager
def simulated_meters(meters: int, per_endpoint: int, workdir: Path) -> Iterator[list[int]]:
    ready = workdir / f"sim-{meters}.json"
    ready.unlink(missing_ok=True)  # a file left by an earlier run in the same --workdir
    args = ["--child", "sim", "--meters", str(meters), "--per-endpoint", str(per_endpoint)]
    sim = Child.module(f"sim-{meters}", HERE, [*args, "--ready", str(ready)], workdir)
    with running(sim):
        sim.wait_for(ready.exists, 60, "serving the meters")
        yield json.loads(ready.read_text())


def profile(child: Child, args: argparse.Namespace, workdir: Path) -> None:
    """With ``--py-spy S``: sample the child for S seconds, after its measured window."""
    if args.py_spy:
        raw = py_spy_record(child.pid, args.py_spy, workdir / f"{child.name}.pyspy.txt")
        print_hotspots(f"{child.name} (py-spy, {args.py_spy} s)", hotspots(raw))


def run_one(
    meters: int, args: argparse.Namespace, workdir: Path, broker_port: int, cloud: CountingCloud
) -> Row:
    """``--rounds`` measurements of the reference and of the agent, alternating which goes
    first, against the same simulated meters."""
    row = Row(meters, [], [])
    with simulated_meters(meters, args.per_endpoint, workdir) as ports:
        ref_args = ["--child", "reference", "--meters", str(meters)]
        ref_args += ["--per-endpoint", str(args.per_endpoint), "--broker-port", str(broker_port)]
        ref_args += ["--ports", ",".join(map(str, ports))]
        reference = Child.module(f"reference-{meters}", HERE, ref_args, workdir)
        config = agent_config(workdir, broker_port, ports, meters, args.per_endpoint)
        agent = Child.agent(f"agent-{meters}", config, workdir)
        for round_ in range(args.rounds):
            last = round_ == args.rounds - 1
            turns = [(reference, REFERENCE, row.reference), (agent, AGENT, row.agent)]
            for child, gateway, results in turns if round_ % 2 == 0 else turns[::-1]:
                cloud.forget(gateway)
                with running(child):
                    results.append(measure(child, cloud, gateway, args.warmup, args.seconds))
                    if last:
                        profile(child, args, workdir)
    return row


def print_rows(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(
        title="edge agent vs a bare pymodbus + paho loop, SDM630s polled every 1 s: "
        f"median of {args.rounds} round(s) of {args.seconds} s"
    )
    for column in (
        "meters",
        "readings/s agent (ref)",
        "agent CPU ms/1000 r",
        "ref CPU ms/1000 r",
        "ratio (goal ≤ 2×)",
        "agent RSS MB",
        "ref RSS MB",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        ratios = row.ratios()
        spread = f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else ""
        agent_rate = statistics.median(m.per_s for m in row.agent)
        ref_rate = statistics.median(m.per_s for m in row.reference)
        table.add_row(
            str(row.meters),
            f"{agent_rate:,.0f} ({ref_rate:,.0f})",
            f"{row.agent_ms():,.0f}",
            f"{row.reference_ms():,.0f}",
            f"{row.agent_ms() / row.reference_ms():.2f}×{spread}",
            f"{max(m.rss_max_mb for m in row.agent):.1f}",
            f"{max(m.rss_max_mb for m in row.reference):.1f}",
        )
    console.print(table)
    console.print(
        "A reading is one wire Reading: an SDM630 poll (7 requests) gives two. Ratio: agent CPU "
        "per reading over the reference's (medians; per-round range in brackets). RSS: largest "
        f"VmRSS sample in any window (goal < 80 MB at 200 meters). {args.per_endpoint} meters per "
        "Modbus TCP endpoint, one bus per endpoint."
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--seconds", type=int, default=30, help="measured window")
    parser.add_argument("--warmup", type=int, default=10, help="after the first delivery")
    parser.add_argument("--rounds", type=int, default=1, help="alternate agent and reference")
    parser.add_argument("--per-endpoint", type=int, default=20, help="meters per TCP endpoint")
    parser.add_argument(
        "--py-spy", type=int, default=0, metavar="S", help="then profile the agent S s"
    )
    parser.add_argument("--workdir", type=Path, help="keep configs, outboxes and logs here")
    hidden = argparse.SUPPRESS
    parser.add_argument("--child", choices=["sim", "reference"], help=hidden)
    parser.add_argument("--ready", type=Path, help=hidden)
    parser.add_argument("--ports", help=hidden)
    parser.add_argument("--broker-port", type=int, help=hidden)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child == "sim":
        asyncio.run(serve_meters(args.meters[0], args.per_endpoint, args.ready))
        return
    if args.child == "reference":
        ports = [int(p) for p in args.ports.split(",")]
        asyncio.run(reference(ports, args.meters[0], args.per_endpoint, args.broker_port))
        return
    exit_on_sigterm()
    with ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eclor-bench-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        mosquitto = stack.enter_context(broker(workdir))
        cloud = stack.enter_context(CountingCloud(mosquitto.host, mosquitto.port))
        rows = [run_one(n, args, workdir, mosquitto.port, cloud) for n in args.meters]
        cloud.warn_if_refused()
    print_rows(rows, args)
    emit_figures(rows)


def emit_figures(rows: list[Row]) -> None:
    """Per meter count: the agent's CPU per reading and RSS against the bare loop's, for run_all."""
    figures = []
    for row in rows:
        ref = "bare pymodbus + paho loop"
        figures.append(
            Figure(f"{row.meters} meters: CPU per 1000 readings", row.agent_ms(), "ms",
                   row.reference_ms(), ref, "goal ≤ 2×")
        )  # fmt: skip
        rss = max(m.rss_max_mb for m in row.agent)
        ref_rss = max(m.rss_max_mb for m in row.reference)
        figures.append(Figure(f"{row.meters} meters: max RSS", rss, "MB", ref_rss, ref, "< 80 MB"))
    emit(figures)


if __name__ == "__main__":
    main()
