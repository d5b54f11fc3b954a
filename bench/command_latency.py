"""Override latency: from the operator API call to the simulated DALI gear's level.

The process tree: Mosquitto (child), the cloud runtime (``eclor cloud serve``: ingest, API and
scheduler; child, SQLite registry and store), an edge agent (``eclor edge run`` with a DALI line on
``luba232:socket://``; child) and this process, which serves the simulated DALI line (four gear
in group 0, real bus timing, wall clock) as a Lunatone LUBA interface on TCP and calls the API.

Each override is ``POST /api/v1/lighting/overrides`` for ``group:main`` with ``fade_s: 0``; its
latency runs from just before the call to the moment gear 0's actual arc level equals the one of
the commanded percent (watched every millisecond in the simulator's own event loop). Levels cycle
through 20/40/60/80 %, so every override changes the level. Then a few overrides with ``?wait=5``
show the read-back level coming back in the command result (through the ingest).

The reference, same run and same broker: a raw MQTT round trip of a tiny QoS 1 message (client A
publishes, client B echoes, A receives).

Run: ``python -m bench.command_latency [--overrides 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from rich.table import Table

from bench._support import Child, broker, console, write_gateway_config
from bench.figures import Figure, emit
from cloud.broker import free_port
from cloud.registry import (
    LightingBackend,
    add_lighting_group,
    create_token,
    enroll_gateway,
    make_engine,
    make_session_factory,
    sqlite_url,
    upgrade,
)
from edge.lighting.dali_levels import percent_to_arc
from simulators.dali import BusTiming, serve_luba_tcp
from simulators.dali import DaliLine as SimLine

GATEWAY = "bench-cab"
GROUP = "main"
LEVELS = (20.0, 40.0, 60.0, 80.0)
READ_BACK_SAMPLES = 10
REFERENCE_SAMPLES = 100
BOOT = "import sys; from eclor.cli import main; sys.exit(main())"


@dataclass
class Stand:
    api: httpx.AsyncClient
    sim: SimLine


def prepare_registry(folder: Path) -> str:
    """Migrated registry with the gateway, its DALI group and an energy-manager token."""
    engine = make_engine(sqlite_url(folder / "registry.sqlite"))
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        enroll_gateway(session, GATEWAY, now=now)
        add_lighting_group(
            session, GATEWAY, GROUP, name="Main", backend=LightingBackend.DALI, members=[0]
        )
        secret = create_token(session, "bench", ["energy-manager"], now=now).secret
    engine.dispose()
    return secret


def cloud_child(folder: Path, broker_port: int, api_port: int) -> Child:
    config = {
        "mqtt": {"host": "127.0.0.1", "port": broker_port},
        "store": {"sqlite": {"path": str(folder / "timeseries.sqlite")}},
        "registry": {"url": f"sqlite:///{folder / 'registry.sqlite'}"},
        "api": {"host": "127.0.0.1", "port": api_port},
    }
    path = folder / "cloud.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    argv = ["-c", BOOT, "cloud", "serve", "--config", str(path), "--log-level", "WARNING"]
    return Child("cloud", argv, folder)


def edge_child(folder: Path, broker_port: int, dali_port: int) -> Child:
    path = write_gateway_config(folder, GATEWAY, broker_port, buses=[], devices=[])
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["lighting"] = {
        "state_path": str(folder / "lighting.json"),
        "tick_s": 1.0,
        "site": {"latitude": 49.4683, "longitude": 5.9289, "timezone": "Europe/Paris"},
        "dali_lines": [
            {
                "name": "dali",
                "port": f"luba232:socket://127.0.0.1:{dali_port}",
                "timeout_s": 0.5,
                "status_poll_s": 3600,
                "energy_poll_s": 3600,
            }
        ],
        "groups": [{"name": GROUP, "dali": {"line": "dali", "group": 0}}],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return Child.agent("edge", path, folder)


async def post_override(stand: Stand, level: float, wait: float = 0) -> httpx.Response:
    until = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "gateway": GATEWAY,
        "target": f"group:{GROUP}",
        "level_pct": level,
        "until": until.isoformat(),
        "fade_s": 0,
    }
    return await stand.api.post(f"/api/v1/lighting/overrides?wait={wait}", json=body)


async def gear_at(sim: SimLine, arc: int, within_s: float) -> float:
    """``perf_counter()`` when gear 0 shows ``arc`` (polled every millisecond)."""
    deadline = time.perf_counter() + within_s
    while sim.gear[0].actual_level != arc:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"gear 0 never reached arc {arc} (at {sim.gear[0].actual_level})")
        await asyncio.sleep(0.001)
    return time.perf_counter()


async def one_override(stand: Stand, level: float) -> tuple[float, float]:
    """(API call → gear level, API call → HTTP answer), in seconds."""
    watch = asyncio.create_task(gear_at(stand.sim, percent_to_arc(level), 10.0))
    await asyncio.sleep(0)
    start = time.perf_counter()
    response = await post_override(stand, level)
    answered = time.perf_counter()
    if response.status_code != 201:
        watch.cancel()
        raise RuntimeError(f"override refused: {response.status_code} {response.text}")
    reached = await watch
    return reached - start, answered - start


async def warm_up(stand: Stand, cloud: Child, edge: Child, within_s: float = 90) -> None:
    """Until an override comes back with its read-back level: all parts are up."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for child in (cloud, edge):
            if not child.running:
                raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
        try:
            response = await post_override(stand, 100.0, wait=3)
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 201 and response.json()["result"]["ok"]:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"not up within {within_s} s\ncloud:\n{cloud.tail()}\nedge:\n{edge.tail()}")


def mqtt_round_trips(port: int, samples: int) -> list[float]:
    """A publishes on ``ping``, B echoes on ``pong``, A times the round trip (QoS 1)."""
    tag = secrets.token_hex(4)
    ping, pong = f"bench/{tag}/ping", f"bench/{tag}/pong"
    got = threading.Event()
    ready = threading.Barrier(3)

    def subscribed(*args: object) -> None:
        ready.wait(5)

    def client(name: str) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{tag}")
        c.on_subscribe = subscribed
        c.connect("127.0.0.1", port)
        c.loop_start()
        return c

    def reply(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        c.publish(pong, message.payload, qos=1)

    echo = client("echo")
    echo.on_message = reply
    echo.subscribe(ping, qos=1)
    timer = client("timer")
    timer.on_message = lambda c, u, m: got.set()
    timer.subscribe(pong, qos=1)
    ready.wait(5)
    times = []
    try:
        for _ in range(samples + 5):
            got.clear()
            start = time.perf_counter()
            timer.publish(ping, b"x", qos=1)
            if not got.wait(5):
                raise RuntimeError("MQTT echo lost")
            times.append(time.perf_counter() - start)
    finally:
        for c in (echo, timer):
            c.loop_stop()
            c.disconnect()
    return times[5:]


def figures(values: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


async def run(overrides: int, folder: Path) -> None:
    sim = SimLine(4, timing=BusTiming(), rated_power_w=40.0, standby_w=0.4)
    for gear in sim.gear:
        gear.settings.groups.add(0)
    token = prepare_registry(folder)
    api_port = free_port()
    with broker(folder) as mosquitto:
        async with await serve_luba_tcp(sim) as dali:
            assert dali.tcp_address is not None
            cloud = cloud_child(folder, mosquitto.port, api_port).start()
            edge = edge_child(folder, mosquitto.port, dali.tcp_address[1]).start()
            headers = {"Authorization": f"Bearer {token}"}
            base = f"http://127.0.0.1:{api_port}"
            try:
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=15) as api:
                    stand = Stand(api, sim)
                    await warm_up(stand, cloud, edge)
                    await measure(stand, overrides, mosquitto.port)
            finally:
                edge.stop()
                cloud.stop()


async def measure(stand: Stand, overrides: int, broker_port: int) -> None:
    to_gear: list[float] = []
    to_answer: list[float] = []
    for i in range(overrides):
        gear, answer = await one_override(stand, LEVELS[i % len(LEVELS)])
        to_gear.append(gear)
        to_answer.append(answer)
    read_back: list[float] = []
    levels: list[tuple[float, float]] = []
    for i in range(READ_BACK_SAMPLES):
        level = LEVELS[i % len(LEVELS)]
        start = time.perf_counter()
        response = await post_override(stand, level, wait=5)
        read_back.append(time.perf_counter() - start)
        observed = response.json()["result"]["observed"] or {}
        levels.append((level, float(observed.get("level_pct", float("nan")))))
    reference = await asyncio.to_thread(mqtt_round_trips, broker_port, REFERENCE_SAMPLES)
    report(to_gear, to_answer, read_back, reference, levels)


def report(
    to_gear: list[float],
    to_answer: list[float],
    read_back: list[float],
    reference: list[float],
    levels: list[tuple[float, float]],
) -> None:
    table = Table(title="override latency (ms)")
    for column in ("path", "n", "p50", "p95", "max"):
        table.add_column(column)
    rows = (
        ("API call → DALI gear level (fade 0)", to_gear),
        ("API call → HTTP 201 (command published)", to_answer),
        ("API call → result with read-back (?wait=5)", read_back),
        ("reference: raw MQTT round trip, same broker", reference),
    )
    for name, values in rows:
        p50, p95, worst = figures(values)
        table.add_row(name, str(len(values)), f"{p50:.1f}", f"{p95:.1f}", f"{worst:.1f}")
    console.print(table)
    shown = ", ".join(f"{want:g}→{got:g}" for want, got in levels[:4])
    console.print(f"commanded → read-back level %: {shown}")
    p95 = figures(to_gear)[1]
    console.print(f"goal p95 < 1000 ms: {'met' if p95 < 1000 else 'NOT met'} ({p95:.1f} ms)")
    ref_p95, ref = figures(reference)[1], "raw MQTT round trip, same broker"
    emit(
        [
            Figure(f"p95 {name}", figures(values)[1], "ms", ref_p95, ref)
            for name, values in rows[:3]
        ],
        notes=["lower is better; goal p95 API → gear < 1000 ms"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overrides", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eclor-bench-cmd-") as folder:
        asyncio.run(run(args.overrides, Path(folder)))


if __name__ == "__main__":
    main()
