"""Every benchmark in one run, and ``docs/benchmarks.md`` generated from it.

Each benchmark runs as ``python -m bench.<name> <args>`` in a process group of its own, with a
timeout, and hands its figures back through the JSON file named by ``ECLOR_BENCH_FIGURES``
(``bench.figures``). One that exits non-zero, times out or writes no figures gets a FAILED row
with the tail of its output; the others still run. Then the 1 million luminaire projection is
computed from the per-unit costs measured in this run and the document is written.

Run: ``python -m bench.run_all [--quick] [--only wire ingest ...] [--output docs/benchmarks.md]``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import logging
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import ENV, Figures
from bench.projection import Assumptions, Measured, Projection, measured_from_facts, project
from bench.report import Machine, Outcome, render

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ("msgspec", "paho-mqtt", "pymodbus", "python-dali", "fastapi", "uvicorn",
             "sqlalchemy", "httpx", "astral", "apscheduler", "pydantic")  # fmt: skip


@dataclass(frozen=True)
class Benchmark:
    key: str
    title: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    timeout_s: float

    def args(self, quick: bool) -> tuple[str, ...]:
        return self.quick if quick else self.full

    def command(self, quick: bool) -> str:
        return shlex.join(["python", "-m", f"bench.{self.key}", *self.args(quick)])


BENCHMARKS = (
    Benchmark("wire", "Wire codec", (), ("--rounds", "40"), 120),
    Benchmark("store_raw", "Time-series stores", (), ("--points", "20000"), 240),
    Benchmark("ingest", "Cloud ingest",
              ("--points", "100000", "--rounds", "2"),
              ("--points", "20000", "--gateways", "10", "--rounds", "1"), 600),
    Benchmark("ingest_workers", "Cloud ingest: 1, 2 and 4 workers on a shared subscription",
              ("--points", "100000"),
              ("--points", "20000", "--gateways", "10", "--workers", "1", "2"), 600),
    Benchmark("edge_throughput", "Edge agent: steady polling",
              ("--meters", "20", "200", "--seconds", "20", "--rounds", "2", "--warmup", "5"),
              ("--meters", "20", "--seconds", "5", "--warmup", "2"), 600),
    Benchmark("cost_growth", "Edge agent: cost growth with the devices polled",
              ("--seconds", "30",),
              ("--meters", "20", "200", "--seconds", "5", "--warmup", "2"), 600),
    Benchmark("edge_drain", "Edge agent: backlog drain",
              ("--readings", "200000"), ("--readings", "20000"), 400),
    Benchmark("public_api", "Public API",
              ("--rounds", "3", "--seconds", "4"), ("--rounds", "1", "--seconds", "2"), 300),
    Benchmark("command_latency", "Override latency, API → DALI gear",
              ("--overrides", "60"), ("--overrides", "10"), 400),
    Benchmark("projection", "InfluxDB bytes per point (for the projection)",
              ("--gears", "5000"), ("--gears", "500"), 300),
)  # fmt: skip


def run_one(bench: Benchmark, quick: bool, workdir: Path) -> Outcome:
    """Run one benchmark in its own process group; a FAILED outcome on any error."""
    out_json, log_path = workdir / f"{bench.key}.json", workdir / f"{bench.key}.log"
    env = {**os.environ, ENV: str(out_json), "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    argv = [sys.executable, "-m", f"bench.{bench.key}", *bench.args(quick)]
    command, started = bench.command(quick), time.monotonic()
    print(f"→ {command} (timeout {bench.timeout_s:g} s)", flush=True)
    with log_path.open("wb") as sink:
        child = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code: int | None = child.wait(timeout=bench.timeout_s)
        except subprocess.TimeoutExpired:
            code = None
            stop_group(child)
    seconds = time.monotonic() - started
    tail = tail_of(log_path)
    if code is None:
        return Outcome(bench.key, bench.title, command, seconds, None,
                       f"timed out after {bench.timeout_s:g} s\n{tail}")  # fmt: skip
    if code != 0:
        return Outcome(bench.key, bench.title, command, seconds, None,
                       f"exit code {code}\n{tail}")  # fmt: skip
    if not out_json.exists():
        return Outcome(bench.key, bench.title, command, seconds, None,
                       f"exit code 0 but no figures written\n{tail}")  # fmt: skip
    try:
        figures = Figures.from_json(out_json.read_text())
    except ValueError as error:
        return Outcome(bench.key, bench.title, command, seconds, None, f"{error}\n{tail}")
    print(f"  done in {seconds:,.0f} s: {len(figures.figures)} figures", flush=True)
    return Outcome(bench.key, bench.title, command, seconds, figures)


def stop_group(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM the benchmark's process group, SIGKILL after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def tail_of(path: Path, lines: int = 12) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


# -- the machine --------------------------------------------------------------------------------


def machine() -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        ram_gb=_mem_total_kb() * 1024 / 1e9,
        kernel=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        load=", ".join(f"{x:.2f}" for x in os.getloadavg()),
        libraries={name: _version(name) for name in LIBRARIES},
        services={
            "influxd": _first_line(["influxd", "version"]).removeprefix("InfluxDB "),
            "mosquitto": _first_line(["mosquitto", "-h"]).removeprefix("mosquitto "),
        },
    )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _mem_total_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if (done.stdout or done.stderr)
        else "?"
    )


# -- the whole run ------------------------------------------------------------------------------


def projection_of(
    outcomes: list[Outcome],
) -> tuple[Projection | None, Measured | None, Assumptions, str]:
    facts = {o.key: o.figures.facts for o in outcomes if o.figures is not None}
    assumptions = Assumptions()
    try:
        measured = measured_from_facts(facts)
    except ValueError as error:
        return None, None, assumptions, str(error)
    return project(measured, assumptions), measured, assumptions, ""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for development")
    parser.add_argument("--only", nargs="+", choices=[b.key for b in BENCHMARKS])
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--keep", type=Path, help="keep each benchmark's log and figures here")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    chosen = [b for b in BENCHMARKS if args.only is None or b.key in args.only]
    started, t0 = datetime.now(UTC), time.monotonic()
    facts_machine = machine()
    with contextlib.ExitStack() as stack:
        if args.keep:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-all-")))
        outcomes = [run_one(bench, args.quick, workdir) for bench in chosen]
    total = time.monotonic() - t0
    command = "python -m bench.run_all" + (" --quick" if args.quick else "")
    if args.only:
        command += " --only " + " ".join(args.only)
    text = render(outcomes, facts_machine, started.strftime("%Y-%m-%d %H:%M UTC"), total,
                  command, projection_of(outcomes))  # fmt: skip
    args.output.write_text(text)
    failed = [o.key for o in outcomes if o.failed]
    print(f"wrote {args.output} in {total / 60:,.1f} min; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
