"""What the edge benchmarks share: child processes and their /proc accounting, a broker, a
cloud stand-in that counts what it stores and acks it, gateway configs, and py-spy summaries.

Every measured program (an agent, a reference loop) runs in its own child process, so its CPU time
(``utime + stime`` of all its threads, from ``/proc/PID/stat``) and its resident memory (``VmRSS``
from ``/proc/PID/status``) are its own. Children are started through
:class:`tests.services.ports.ServiceProcess`: each gets ``setpriv --pdeathsig`` (the kernel stops it
if the benchmark dies), its own process group and a log file, and is stopped with SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from eclor.errors import DecodeError, TopicError
from eclor.wire import Ack, Suffix, TelemetryBatch, decode, encode, parse_topic, topic
from edge.profiles import Profile, default_profiles_dir, load_profile
from tests.services.mosquitto import MosquittoServer
from tests.services.ports import ServiceProcess

REPO = Path(__file__).resolve().parents[1]
PROFILES = default_profiles_dir()
CLK_TCK = os.sysconf("SC_CLK_TCK")
console = Console(width=None if sys.stdout.isatty() else 120)


def sdm630_profile() -> Profile:
    return load_profile(PROFILES / "eastron-sdm630.yaml")


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


# -- /proc accounting --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``, all its threads, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(after_name[11]), int(after_name[12])
    return (utime + stime) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise ValueError(f"no VmRSS for pid {pid}")


# -- child processes ---------------------------------------------------------------------------


class Child:
    """A Python child process of the benchmark, logging to ``workdir/<name>.log``."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self._process = ServiceProcess(
            name, [sys.executable, *argv], self.log_path, env=env, cwd=REPO
        )

    @classmethod
    def module(cls, name: str, module: str, args: Sequence[str], workdir: Path) -> Child:
        return cls(name, ["-m", module, *args], workdir)

    @classmethod
    def agent(cls, name: str, config: Path, workdir: Path) -> Child:
        """``eclor edge run --config CONFIG``, as on a gateway (JSON logs at INFO)."""
        boot = "import sys; from eclor.cli import main; sys.exit(main())"
        return cls(name, ["-c", boot, "edge", "run", "--config", str(config)], workdir)

    def start(self) -> Child:
        self._process.start()
        return self

    @property
    def pid(self) -> int:
        pid = self._process.pid
        if pid is None:
            raise RuntimeError(f"{self.name} is not running; log tail:\n{self._process.tail()}")
        return pid

    @property
    def running(self) -> bool:
        return self._process.running

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``condition``; raise with the log tail when the child dies or time runs out."""
        deadline = time.monotonic() + timeout
        while not condition():
            if not self._process.running:
                raise RuntimeError(f"{self.name} exited before {what}:\n{self._process.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name}: not {what} within {timeout:g} s; log tail:\n{self.tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        self._process.stop(timeout=20.0)

    def tail(self, lines: int = 20) -> str:
        return self._process.tail(lines)


@contextlib.contextmanager
def running(child: Child) -> Iterator[Child]:
    child.start()
    try:
        yield child
    finally:
        child.stop()


async def until_terminated() -> None:
    """Return when the process gets SIGTERM or SIGINT (children stop cleanly this way)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks stop the children and the broker."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so that a reader polling for ``path`` never sees it half-written."""
    part = path.with_suffix(path.suffix + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


@contextlib.contextmanager
def broker(workdir: Path) -> Iterator[MosquittoServer]:
    """A private Mosquitto whose queues do not drop a burst of QoS 1 messages."""
    server = MosquittoServer(workdir, extra_config="max_queued_messages 100000\n")
    with server:
        yield server


# -- the cloud stand-in ------------------------------------------------------------------------


@dataclass
class Tally:
    readings: int = 0
    """Distinct readings: (device, measurement, time) never seen before from this gateway."""
    batches: int = 0
    duplicates: int = 0
    first_at: float | None = None
    keys: set[int] = field(default_factory=set, repr=False)
    per_second: Counter[int] = field(default_factory=Counter, repr=False)
    """Distinct readings by the whole second (epoch) they were stamped in, at the edge."""


@dataclass(frozen=True)
class TallySnapshot:
    readings: int
    batches: int
    duplicates: int
    first_at: float | None


class CountingCloud:
    """Subscribes to every gateway's telemetry, decodes it with the wire contract, counts distinct
    readings per gateway and acks each batch (QoS 1) as if it had been stored."""

    def __init__(self, host: str, port: int) -> None:
        self._tallies: dict[str, Tally] = {}
        self._lock = threading.Lock()
        self.refused = 0
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-cloud-{os.getpid()}"
        )
        self._client.max_inflight_messages_set(1000)
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.subscribe(f"eclor/v1/+/{Suffix.TELEMETRY.value}", qos=1)
        self._client.loop_start()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> CountingCloud:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            gateway = parse_topic(msg.topic).gateway_id
            batch = decode(TelemetryBatch, msg.payload)
        except (TopicError, DecodeError):
            self.refused += 1
            return
        now = time.monotonic()
        with self._lock:
            tally = self._tallies.setdefault(gateway, Tally())
            tally.batches += 1
            tally.first_at = tally.first_at or now
            fresh = 0
            for reading in batch.readings:
                key = hash((reading.device, reading.measurement, reading.time))
                if key not in tally.keys:
                    tally.keys.add(key)
                    tally.per_second[reading.time // 1000] += 1
                    fresh += 1
            tally.readings += fresh
            tally.duplicates += len(batch.readings) - fresh
        ack = Ack(gateway=gateway, seqs=[batch.seq])
        client.publish(topic(gateway, Suffix.ACK), encode(ack), qos=1)

    def tally(self, gateway: str) -> TallySnapshot:
        with self._lock:
            t = self._tallies.get(gateway) or Tally()
            return TallySnapshot(t.readings, t.batches, t.duplicates, t.first_at)

    def stamped_between(self, gateway: str, first_s: int, end_s: int) -> int:
        """Distinct readings stamped in the whole seconds ``first_s <= s < end_s`` (epoch)."""
        with self._lock:
            seconds = (self._tallies.get(gateway) or Tally()).per_second
            return sum(seconds[s] for s in range(first_s, end_s))

    def warn_if_refused(self) -> None:
        if self.refused:
            console.print(f"[red]the cloud stand-in refused {self.refused} message(s)[/red]")

    def forget(self, gateway: str) -> None:
        with self._lock:
            self._tallies.pop(gateway, None)


# -- gateway configs ---------------------------------------------------------------------------


def write_gateway_config(
    folder: Path,
    gateway_id: str,
    broker_port: int,
    *,
    buses: list[dict[str, Any]],
    devices: list[dict[str, Any]],
    outbox: dict[str, Any] | None = None,
    uplink: dict[str, Any] | None = None,
) -> Path:
    """A gateway config with the product's defaults except where a benchmark needs otherwise:
    outbox in ``folder``, health endpoint on a free port."""
    document: dict[str, Any] = {
        "gateway": {"id": gateway_id, "site": gateway_id, "commune": "bench"},
        "broker": {"host": "127.0.0.1", "port": broker_port},
        "outbox": {"path": str(folder / f"{gateway_id}.sqlite"), **(outbox or {})},
        "uplink": uplink or {},
        "health": {"port": 0},
        "profiles_dir": str(PROFILES),
        "buses": buses,
        "devices": devices,
    }
    path = folder / f"{gateway_id}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


# -- py-spy ------------------------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def start_py_spy(pid: int, seconds: float, out: Path, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds`` into ``out`` (collapsed stacks, thread first)."""
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [str(py_spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", str(rate)]
    # --gil: only the thread holding the GIL, i.e. running Python (perf puts ~80 % of an agent's
    # CPU in libpython); blocking mode, so stacks are exact.
    command += ["--gil", "--threads", "-f", "raw", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_py_spy(sampler: subprocess.Popen[bytes], out: Path, timeout: float = 120) -> Path:
    try:
        _, err = sampler.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()
        raise
    if sampler.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({sampler.returncode}): {err.decode()[-2000:]}")
    return out


def py_spy_record(pid: int, seconds: float, out: Path, rate: int = 100) -> Path:
    """Sample ``pid`` for ``seconds`` and wait for the result."""
    return finish_py_spy(start_py_spy(pid, seconds, out, rate), out, seconds + 60)


@dataclass(frozen=True)
class Hotspots:
    samples: int
    by_thread: list[tuple[str, int]]
    self_time: list[tuple[str, int]]
    ours: list[tuple[str, int]]
    """Inclusive samples of the project's own functions (edge/, eclor/, bench/)."""


_OURS = ("(edge/", "(eclor/", "(bench/")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", f"{REPO}/", "/lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match['func']} ({file})"


def hotspots(raw: Path, top: int = 15) -> Hotspots:
    """Self samples per function, inclusive samples of our own functions, samples per thread,
    from py-spy's collapsed stacks (``--threads``: the first frame names the thread)."""
    self_time: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        thread, *rest = stack.split(";")
        frames = [_frame_name(f) for f in rest]
        total += count
        threads[_thread_label(thread)] += count
        if frames:
            self_time[frames[-1]] += count
        for name in set(frames):
            if any(marker in name for marker in _OURS):
                ours[name] += count
    return Hotspots(
        total, threads.most_common(), self_time.most_common(top), ours.most_common(2 * top)
    )


def _thread_label(first: str) -> str:
    """``thread (1234): MainThread`` → ``MainThread``."""
    return first.partition(": ")[2] or first


def print_hotspots(title: str, spots: Hotspots) -> None:
    console.print(f"[bold]{title}[/bold]: {spots.samples} samples with the GIL held")
    sections = (
        ("threads", spots.by_thread),
        ("self", spots.self_time),
        ("inclusive, our code", spots.ours),
    )
    for heading, rows in sections:
        console.print(f"  {heading}:")
        for name, count in rows:
            console.print(f"    {100 * count / max(1, spots.samples):5.1f} %  {name}")
