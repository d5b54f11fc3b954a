"""Cost growth of the edge agent: CPU per delivered reading, CPU per second and RSS at 20, 200
and 2,000 simulated Modbus devices.

Design. The devices are ``bench.edge_throughput``'s simulated SDM630s: one simulator process
serves ``--per-endpoint`` unit ids (default 20) on each Modbus TCP endpoint, so 2,000 meters are
100 TCP servers in one process, and the agent has one bus per endpoint, as a cabinet has one per
RS-485 line (a bus is polled one request at a time: more meters per bus would measure the bus).
A poll is 7 Modbus requests and gives two readings. To keep the run short and the single
simulator process below saturation, the poll interval grows with the fleet:
``max(1, meters / 200)`` s, so 2,000 meters are polled every 10 s (1,400 requests/s, the same
request rate as 200 meters polled every second). CPU per reading is therefore comparable across
sizes; CPU per second says what the agent costs at that fleet and interval. Each size runs the
real agent (``eclor edge run``, product defaults) against Mosquitto and the counting cloud
stand-in of ``bench._support`` for ``--seconds`` (rounded up to whole poll intervals) after a
warm-up; only readings stamped in the window and received by the cloud count. The same-run
reference of each figure is the 20-device figure: the ratio is the growth.

Run: ``python -m bench.cost_growth [--meters 20 200 2000] [--seconds 30]``
"""

from __future__ import annotations

import argparse
import math
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from bench._support import Child, CountingCloud, broker, console, exit_on_sigterm, running
from bench.edge_throughput import AGENT, Measurement, agent_config, measure, simulated_meters
from bench.figures import Figure, emit

READINGS_PER_POLL = 2
REQUESTS_PER_POLL = 7


def poll_interval_s(meters: int) -> int:
    """The poll interval used for ``meters`` devices: 1 s up to 200, then growing with them."""
    return max(1, math.ceil(meters / 200))


def window_s(seconds: int, interval: int) -> int:
    """``seconds`` rounded up to whole poll intervals, at least three of them."""
    return max(3 * interval, interval * math.ceil(seconds / interval))


@dataclass(frozen=True)
class Size:
    meters: int
    interval_s: int
    agent: Measurement

    @property
    def expected_per_s(self) -> float:
        return READINGS_PER_POLL * self.meters / self.interval_s

    @property
    def cpu_ms_per_s(self) -> float:
        return 1000 * self.agent.cpu_s / self.agent.seconds


def run_size(
    meters: int, args: argparse.Namespace, workdir: Path, port: int, cloud: CountingCloud
) -> Size:
    """The agent polling ``meters`` simulated devices, measured over whole poll intervals. A
    saturated simulator would show as fewer readings delivered than expected."""
    interval = poll_interval_s(meters)
    with simulated_meters(meters, args.per_endpoint, workdir) as ports:
        config = agent_config(workdir, port, ports, meters, args.per_endpoint, interval)
        agent = Child.agent(f"agent-{meters}", config, workdir)
        cloud.forget(AGENT)
        with running(agent):
            seconds = window_s(args.seconds, interval)
            result = measure(agent, cloud, AGENT, max(args.warmup, interval), seconds)
    return Size(meters, interval, result)


def print_sizes(sizes: list[Size]) -> None:
    table = Table(title="edge agent cost growth (SDM630s over Modbus TCP, product defaults)")
    for column in (
        "devices",
        "poll interval s",
        "readings/s delivered (expected)",
        "CPU ms / 1000 readings",
        "CPU ms / s",
        "max RSS MB",
    ):
        table.add_column(column, justify="right")
    for size in sizes:
        table.add_row(
            f"{size.meters:,}",
            str(size.interval_s),
            f"{size.agent.per_s:,.0f} ({size.expected_per_s:,.0f})",
            f"{size.agent.cpu_ms_per_1000:,.0f}",
            f"{size.cpu_ms_per_s:,.1f}",
            f"{size.agent.rss_max_mb:.1f}",
        )
    console.print(table)


def emit_sizes(sizes: list[Size], per_endpoint: int) -> None:
    base = sizes[0]
    ref = f"{base.meters} devices"
    figures: list[Figure] = []
    for size in sizes:
        label = f"{size.meters:,} devices, poll every {size.interval_s} s"
        delivered = f"{size.agent.per_s:,.0f} of {size.expected_per_s:,.0f} readings/s delivered"
        figures += [
            Figure(f"{label}: CPU per 1000 readings", size.agent.cpu_ms_per_1000, "ms",
                   base.agent.cpu_ms_per_1000, ref, delivered),
            Figure(f"{label}: CPU per second", size.cpu_ms_per_s, "ms/s", base.cpu_ms_per_s, ref),
            Figure(f"{label}: max RSS", size.agent.rss_max_mb, "MB", base.agent.rss_max_mb, ref),
        ]  # fmt: skip
    largest = sizes[-1]
    facts = {
        "edge_cpu_ms_per_1000_readings": largest.agent.cpu_ms_per_1000,
        "edge_rss_mb_largest": largest.agent.rss_max_mb,
        "edge_devices_largest": float(largest.meters),
    }
    notes = [
        f"{per_endpoint} unit ids per Modbus TCP endpoint, one agent bus per endpoint; poll "
        "interval max(1, devices / 200) s so the simulator stays below saturation"
    ]
    emit(figures, facts, notes)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--meters", type=int, nargs="+", default=[20, 200, 2000])
    parser.add_argument("--seconds", type=int, default=30, help="measured window")
    parser.add_argument("--warmup", type=int, default=10, help="after the first delivery")
    parser.add_argument("--per-endpoint", type=int, default=20, help="unit ids per endpoint")
    parser.add_argument("--workdir", type=Path, help="keep configs, outboxes and logs here")
    args = parser.parse_args()
    if not 1 <= args.per_endpoint <= 247:
        parser.error("--per-endpoint must be a Modbus unit id count, 1 to 247")
    return args


def main() -> None:
    args = parse_args()
    exit_on_sigterm()
    with ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eclor-grow-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        mosquitto = stack.enter_context(broker(workdir))
        cloud = stack.enter_context(CountingCloud(mosquitto.host, mosquitto.port))
        sizes = [run_size(n, args, workdir, mosquitto.port, cloud) for n in args.meters]
        cloud.warn_if_refused()
    print_sizes(sizes)
    emit_sizes(sizes, args.per_endpoint)


if __name__ == "__main__":
    main()
