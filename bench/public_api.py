"""Public API under load: ``GET /api/v1/waste-centres`` of the real app against a bare FastAPI
endpoint returning a constant, measured in the same run on loopback.

Each server is a child process (:class:`bench._support.Child`) running uvicorn with one worker,
access log off, ``httptools`` where installed: the real app is ``cloud.api.create_app`` over a
migrated SQLite registry and the embedded SQLite store, filled as the residents' jobs leave them
(``tests.integration.test_public_api.seed_residents``: the demo's Villerupt waste centre with its
wait and forecast, a two-lane loop station) plus ``--centres`` more centres with a day of
minute waits each; the public rate limit is lifted (the benchmark is one client). The bare app
answers the same path with a constant JSON body of the same size, without middleware.

The load comes from this process: ``--concurrency`` keep-alive HTTP/1.1 connections on asyncio
streams, each sending its next request when the previous answer is read, for ``--seconds`` after a
one-second warm-up (a hand-rolled client: httpx costs more CPU per request than the bare server,
and on two cores the client must not be what is measured). The servers are measured in turn,
bare / real / bare / real…, for ``--rounds`` rounds; each real round is compared with the mean of
the bare rounds around it, and the median ratio is reported with each side's requests/s and p99
latency. Every answer is checked (status 200, a body): errors are counted and fail the run.

On a shared two-core machine the request rate swings with whatever else runs (ratios from 0.4 to
1.1 between rounds of one run were seen), so each side's server CPU time during the measured
seconds is read from ``/proc`` too, and the ratio of requests per server CPU-second is printed next
to the ratio of requests/s: it says what each server would do on a core of its own.

``--public-first`` includes the public routers before the operator ones in the real app (a what-if
for ``cloud/api/app.py``: FastAPI tries the routers in order, and matching the ~100 operator
routes first is the largest cost left in a cached public answer).

Run: ``python -m bench.public_api [--seconds 6] [--concurrency 32] [--rounds 3] [--centres 20]
[--public-first]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich import box
from rich.table import Table

from bench._support import Child, console, cpu_seconds, running
from bench.figures import Figure, emit
from tests.services.ports import free_port

PATH = "/api/v1/waste-centres"


@dataclass(frozen=True)
class Load:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    server_cpu_s: float = 0.0
    """CPU time the server process spent during the measured seconds (``/proc``)."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu_s(self) -> float:
        """Requests served per CPU-second of the server: what the server could do on a core of
        its own, far less sensitive than ``rate`` to other work on a shared machine."""
        return self.requests / self.server_cpu_s if self.server_cpu_s > 0 else 0.0


async def load(url: str, seconds: float, concurrency: int, pid: int) -> Load:
    """``concurrency`` keep-alive connections, each sending its next GET when the answer is in."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0

    async def connection(warm_until: float, until: float) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        request = f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()
        try:
            while (start := time.perf_counter()) < until:
                writer.write(request)
                status, length = await read_answer(reader)
                if status != 200 or length == 0:
                    errors += 1
                if start >= warm_until:
                    latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    begin = time.perf_counter()
    warm_until, until = begin + 1.0, begin + 1.0 + seconds
    tasks = [asyncio.create_task(connection(warm_until, until)) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, warm_until - time.perf_counter()))
    cpu_before = cpu_seconds(pid)
    await asyncio.gather(*tasks)
    cpu = cpu_seconds(pid) - cpu_before
    elapsed = time.perf_counter() - warm_until
    latencies.sort()
    return Load(
        len(latencies),
        errors,
        elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        cpu,
    )


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Status and body length of one HTTP/1.1 answer (Content-Length bodies only)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status, length


Round = tuple[Load, Load, Load]
"""bare before, real, bare after."""


# -- the servers (child processes) -------------------------------------------------------------


def serve_bare(port: int, size: int) -> None:
    import uvicorn
    from fastapi import FastAPI
    from starlette.responses import Response

    app = FastAPI()
    body = json.dumps({"items": [], "pad": "x" * max(0, size - 24)}).encode()

    @app.get(PATH)
    async def constant() -> Response:
        return Response(body, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_real(port: int, folder: Path, centres: int, public_first: bool) -> None:
    if public_first:
        import cloud.api.app
        from cloud.api.routes import traffic, waste_centres

        first = (waste_centres, traffic)
        rest = tuple(m for m in cloud.api.app.ROUTE_MODULES if m not in first)
        cloud.api.app.ROUTE_MODULES = (*first, *rest)
    asyncio.run(_serve_real(port, folder, centres))


async def _serve_real(port: int, folder: Path, centres: int) -> None:
    import uvicorn
    from prometheus_client import CollectorRegistry

    from cloud.api import ApiDeps, ApiSettings, create_app
    from cloud.registry import make_engine, make_session_factory, sqlite_url, upgrade
    from cloud.store import SqliteSettings, SqliteStore
    from eclor.clock import WallClock
    from tests.integration.test_public_api import seed_residents

    engine = make_engine(sqlite_url(folder / "registry.sqlite"))
    upgrade(engine)
    clock = WallClock()
    store = await SqliteStore.open(
        SqliteSettings(path=folder / "timeseries.sqlite", retention_days=None), clock
    )
    sessions = make_session_factory(engine)
    now = clock.now().replace(microsecond=0)
    await seed_residents(sessions, store, now, [f"centre-{i:02d}" for i in range(centres)])
    settings = ApiSettings(public_get_per_s=1e9, public_get_burst=1_000_000_000)
    app = create_app(ApiDeps(sessions, store, clock, CollectorRegistry(), settings))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve()
    await store.close()


# -- the run -----------------------------------------------------------------------------------


def wait_up(child: Child, url: str) -> None:
    def answers() -> bool:
        try:
            return httpx.get(url + PATH, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    child.wait_for(answers, 120, "answering")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--centres", type=int, default=20)
    parser.add_argument(
        "--public-first",
        action="store_true",
        help="include the public routers first in the real app (what-if for cloud/api/app.py)",
    )
    parser.add_argument("--serve", choices=["bare", "real"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve == "bare":
        serve_bare(args.port, args.size)
        return 0
    if args.serve == "real":
        serve_real(args.port, args.folder, args.centres, args.public_first)
        return 0
    return run(args)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-public-") as tmp:
        folder = Path(tmp)
        real_port, bare_port = free_port(), free_port()
        real_url, bare_url = f"http://127.0.0.1:{real_port}", f"http://127.0.0.1:{bare_port}"
        real = Child.module(
            "real", "bench.public_api",
            ["--serve", "real", "--port", str(real_port), "--folder", tmp,
             "--centres", str(args.centres), *(["--public-first"] if args.public_first else [])],
            folder,
        )  # fmt: skip
        with running(real):
            wait_up(real, real_url)
            size = len(httpx.get(real_url + PATH, params={"limit": 200}).content)
            bare = Child.module(
                "bare", "bench.public_api",
                ["--serve", "bare", "--port", str(bare_port), "--size", str(size)], folder,
            )  # fmt: skip
            with running(bare):
                wait_up(bare, bare_url)
                return report(args, size, rounds(args, (real_url, real.pid), (bare_url, bare.pid)))


Server = tuple[str, int]
"""A server's URL and process id."""


def rounds(args: argparse.Namespace, real_server: Server, bare_server: Server) -> list[Round]:
    def measure(server: Server) -> Load:
        return asyncio.run(load(server[0], args.seconds, args.concurrency, server[1]))

    bares = [measure(bare_server)]
    results = []
    for i in range(args.rounds):
        real = measure(real_server)
        bares.append(measure(bare_server))
        results.append((bares[i], real, bares[i + 1]))
        console.print(f"round {i + 1}: real {real.rate:,.0f}/s, bare {bares[i + 1].rate:,.0f}/s")
    return results


def report(args: argparse.Namespace, size: int, results: list[Round]) -> int:
    order = ", public routers first" if args.public_first else ""
    title = f"GET {PATH} ({size} B), {args.concurrency} in flight{order}"
    table = Table(box=box.SIMPLE, title=title)
    columns = (
        "round", "bare req/s", "bare p99 ms", "bare req/CPU-s",
        "real req/s", "real p99 ms", "real req/CPU-s", "ratio req/s", "ratio req/CPU-s",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    ratios, cpu_ratios = [], []
    errors = 0
    for i, (before, real, after) in enumerate(results, 1):
        bare_rate = (before.rate + after.rate) / 2
        bare_p99 = (before.p99_ms + after.p99_ms) / 2
        bare_cpu = (before.per_cpu_s + after.per_cpu_s) / 2
        ratios.append(real.rate / bare_rate)
        cpu_ratios.append(real.per_cpu_s / bare_cpu)
        errors += before.errors + real.errors + after.errors
        table.add_row(
            str(i), f"{bare_rate:,.0f}", f"{bare_p99:.1f}", f"{bare_cpu:,.0f}",
            f"{real.rate:,.0f}", f"{real.p99_ms:.1f}", f"{real.per_cpu_s:,.0f}",
            f"{ratios[-1]:.2f}", f"{cpu_ratios[-1]:.2f}",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"median ratio real / bare: {statistics.median(ratios):.2f} in requests/s, "
        f"{statistics.median(cpu_ratios):.2f} in requests per server CPU-second "
        f"(goal ≥ 0.70); errors: {errors}"
    )
    emit_figures(results, errors)
    return 1 if errors else 0


def emit_figures(results: list[Round], errors: int) -> None:
    """The median round's rates against the bare endpoint measured around it, for run_all."""
    pairs = [(real, (before, after)) for before, real, after in results]

    def median_pair(key: Callable[[Load], float]) -> tuple[float, float]:
        ratios = sorted(pairs, key=lambda p: key(p[0]) / statistics.mean(map(key, p[1])))
        real, bares = ratios[len(ratios) // 2]
        return key(real), statistics.mean(map(key, bares))

    bare = "bare FastAPI endpoint, same body size"
    rate, bare_rate = median_pair(lambda load: load.rate)
    per_cpu, bare_cpu = median_pair(lambda load: load.per_cpu_s)
    p99, bare_p99 = median_pair(lambda load: load.p99_ms)
    emit(
        [
            Figure("requests/s", rate, "req/s", bare_rate, bare, "median round"),
            Figure(
                "requests per server CPU-second",
                per_cpu,
                "req/CPU-s",
                bare_cpu,
                bare,
                "median round; goal ≥ 0.7",
            ),
            Figure("p99 latency", p99, "ms", bare_p99, bare, "median round; lower is better"),
        ],
        notes=[f"{len(results)} rounds, {errors} errors"],
    )


if __name__ == "__main__":
    sys.exit(main())
